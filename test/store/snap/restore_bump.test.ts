/**
 * Offline restore (store/snap/restore.ts) of the full state image and etcd 3.5's `--bump-revision N
 * --mark-compacted`: the restored Raft snapshot holds the backup's revision + N, compacted there (old reads
 * fail with ErrCompacted, the latest version of every live key is kept, deleted keys' history is gone), the
 * backup's leases (granted TTL) and auth, the NEW membership and no alarms; an older backup (MVCC image alone)
 * still restores and reports the same `snapshot status` shape; the two flags are refused one without the other.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuthState } from '../../../store/auth/store.js';
import { ErrCompacted } from '../../../store/mvcc/errors.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { computeMemberId } from '../../../store/server/ids.js';
import { decodeStateSnapshot, encodeStateImage, type StateSnapshotMeta } from '../../../store/server/state_snapshot.js';
import { backupStatus, encodeImage, sha256, type BackupMeta } from '../../../store/snap/backup.js';
import { BUMP_FLAGS_ERROR, RestoreError, loadSnapshotData, restoreSnapshot } from '../../../store/snap/restore.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** rev 7: a=1 (2), b=2 lease 0x10 (3), a=3 (4), del b (5), c=4 lease 0x11 (6), d=5 (7). */
function sampleStore(): MvccStore {
  const st = new MvccStore();
  st.put(enc('a'), enc('1'), 0n);
  st.put(enc('b'), enc('2'), 0x10n);
  st.put(enc('a'), enc('3'), 0n);
  st.deleteRange(enc('b'), undefined);
  st.put(enc('c'), enc('4'), 0x11n);
  st.put(enc('d'), enc('5'), 0n);
  return st;
}

const AUTH: AuthState = { enabled: true, revision: 4, users: [{ name: 'root', password: 'hashed', noPassword: false, roles: ['root'] }], roles: [{ name: 'root', perms: [] }] };

const STATE_META: StateSnapshotMeta = {
  version: 1,
  leases: [{ id: String(0x11n), ttl: 600 }, { id: String(0x12n), ttl: 30 }],
  auth: AUTH,
  members: [{ id: '111', name: 'old1', peerUrls: ['http://10.0.0.1:2380'], clientUrls: ['http://10.0.0.1:2379'], isLearner: false }],
  removed: ['222'],
  alarms: [{ memberId: '111', alarm: 1 }],
};

const META: BackupMeta = { version: 1, clusterId: '1', memberId: '111', raftIndex: 10, raftTerm: 2, revision: 7, compactRevision: 0, members: [], alarms: [] };

function file(state: Uint8Array): Uint8Array {
  const image = encodeImage(META, state);
  return Buffer.concat([image, sha256(image)]);
}

const CLUSTER = 'n1=http://127.0.0.1:37480,n2=http://127.0.0.1:37481,n3=http://127.0.0.1:37482';

async function restore(dir: string, bytes: Uint8Array, extra: { bumpRevision?: number; markCompacted?: boolean } = {}) {
  const path = join(dir, `backup-${Math.random().toString(36).slice(2)}.db`);
  writeFileSync(path, bytes);
  const dataDir = join(dir, `d-${Math.random().toString(36).slice(2)}`);
  const r = await restoreSnapshot({
    file: path, name: 'n2', initialCluster: CLUSTER, initialClusterToken: 'tok', initialAdvertisePeerUrls: 'http://127.0.0.1:37481',
    dataDir, skipHashCheck: false, ...extra,
  });
  const snap = await loadSnapshotData(dataDir, r.index);
  assert.ok(snap, 'restored data dir has its Raft snapshot');
  return { r, dataDir, state: decodeStateSnapshot(snap.data) };
}

test('full state backup restored with --bump-revision 1000 --mark-compacted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-bump-'));
  const st = sampleStore();
  const { r, state } = await restore(dir, file(encodeStateImage(STATE_META, encodeMvccSnapshot(st))), { bumpRevision: 1000, markCompacted: true });
  assert.equal(r.revision, 1007);
  assert.equal(r.compactRevision, 1007);
  assert.equal(r.leases, 2);
  assert.equal(r.users, 1);
  assert.equal(r.authEnabled, true);
  const m = state.mvcc;
  assert.equal(m.rev(), 1007);
  assert.equal(m.compactRevision(), 1007);
  // reads below the compacted revision fail as etcd's; at it, the latest data
  assert.throws(() => m.range(enc('a'), undefined, { revision: 4 }), ErrCompacted);
  assert.throws(() => m.range(enc('a'), undefined, { revision: 1006 }), ErrCompacted);
  assert.throws(() => m.eventsSince(7), ErrCompacted);
  const all = m.range(enc('\0'), enc('\xff'), { revision: 1007 }).kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}@${kv.modRevision}/${kv.lease}`);
  assert.deepEqual(all, ['a=3@4/0', 'c=4@6/17', 'd=5@7/0']);
  // history is compacted away: one record per live key, the tombstone of b gone
  assert.equal(m.exportState().records.length, 3);
  // the next write gets a revision above anything a client saw before the disaster
  assert.equal(m.put(enc('e'), enc('6'), 0n).rev, 1008);
  const meta = state.meta!;
  assert.deepEqual(meta.leases, STATE_META.leases);
  assert.deepEqual(meta.auth, AUTH);
  assert.deepEqual(meta.members.map((x) => [x.name, x.id, x.peerUrls[0], x.clientUrls.length, x.isLearner]), [
    ['n1', computeMemberId(['http://127.0.0.1:37480'], 'tok').toString(), 'http://127.0.0.1:37480', 0, false],
    ['n2', computeMemberId(['http://127.0.0.1:37481'], 'tok').toString(), 'http://127.0.0.1:37481', 0, false],
    ['n3', computeMemberId(['http://127.0.0.1:37482'], 'tok').toString(), 'http://127.0.0.1:37482', 0, false],
  ]);
  assert.deepEqual(meta.removed, []);
  assert.deepEqual(meta.alarms, []);
});

test('without the bump flags the revision and history are kept, leases and auth too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-bump-'));
  const { r, state } = await restore(dir, file(encodeStateImage(STATE_META, encodeMvccSnapshot(sampleStore()))));
  assert.equal(r.revision, 7);
  assert.equal(r.compactRevision, 0);
  assert.equal(dec(state.mvcc.range(enc('a'), undefined, { revision: 2 }).kvs[0]!.value), '1');
  assert.equal(state.meta!.leases.length, 2);
  assert.equal(state.meta!.auth.enabled, true);
});

test('an older backup (MVCC image alone) still restores, with or without the bump; status has the same shape', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-bump-'));
  const old = file(encodeMvccSnapshot(sampleStore()));
  const full = file(encodeStateImage(STATE_META, encodeMvccSnapshot(sampleStore())));
  const s1 = backupStatus(old).status;
  const s2 = backupStatus(full).status;
  assert.deepEqual(Object.keys(s1), Object.keys(s2));
  assert.deepEqual([s1.revision, s1.totalKey], [7, 6]);
  assert.deepEqual([s2.revision, s2.totalKey], [7, 6]);
  assert.ok(s2.totalSize >= s1.totalSize);
  const plain = await restore(dir, old);
  assert.equal(plain.state.meta, undefined);
  assert.equal(plain.r.revision, 7);
  assert.equal(plain.r.leases, 0);
  assert.equal(plain.r.users, undefined);
  const bumped = await restore(dir, old, { bumpRevision: 5, markCompacted: true });
  assert.equal(bumped.state.meta, undefined);
  assert.equal(bumped.state.mvcc.rev(), 12);
  assert.equal(bumped.state.mvcc.compactRevision(), 12);
});

test('a backup already compacted at its revision is bumped without a second compaction', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-bump-'));
  const st = sampleStore();
  st.compact(7);
  const { r } = await restore(dir, file(encodeMvccSnapshot(st)), { bumpRevision: 1, markCompacted: true });
  assert.deepEqual([r.revision, r.compactRevision], [8, 8]);
});

test('--mark-compacted and --bump-revision go together (etcd\'s message); nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-bump-'));
  const bytes = file(encodeMvccSnapshot(sampleStore()));
  const path = join(dir, 'b.db');
  writeFileSync(path, bytes);
  for (const extra of [{ markCompacted: true }, { bumpRevision: 10 }, { bumpRevision: 0, markCompacted: true }]) {
    const dataDir = join(dir, 'never');
    await assert.rejects(restoreSnapshot({
      file: path, name: 'n1', initialCluster: CLUSTER, initialClusterToken: 'tok', initialAdvertisePeerUrls: 'http://127.0.0.1:37480',
      dataDir, skipHashCheck: false, ...extra,
    }), (e: Error) => e instanceof RestoreError && e.message === BUMP_FLAGS_ERROR);
    assert.equal(existsSync(dataDir), false);
  }
  assert.equal(BUMP_FLAGS_ERROR, '--mark-compacted required if --revision-bump > 0');
  await assert.rejects(restoreSnapshot({
    file: path, name: 'n1', initialCluster: CLUSTER, initialClusterToken: 'tok', initialAdvertisePeerUrls: 'http://127.0.0.1:37480',
    dataDir: join(dir, 'never'), skipHashCheck: false, bumpRevision: -1, markCompacted: true,
  }), /--bump-revision -1: not a whole number >= 0/);
});
