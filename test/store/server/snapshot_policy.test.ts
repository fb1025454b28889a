/**
 * Snapshots of the applied state (store/server/state_snapshot.ts) and the snapshot/compaction policy
 * (store/server/snapshot_policy.ts) on a real WAL and snapshot directory: snapshot every `count` entries,
 * compaction keeping the catch-up tail, WAL segments released, and a restart that loads the newest snapshot
 * and replays only the WAL after it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthStore } from '../../../store/auth/store.js';
import { Lessor } from '../../../store/lease/lessor.js';
import { MvccStore, type MvccEvent } from '../../../store/mvcc/kvstore.js';
import { encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { EntryType, MemoryStorage, type Entry } from '../../../store/raft/index.js';
import { loadSnapshotData } from '../../../store/snap/restore.js';
import { AlarmStore } from '../../../store/server/alarm_store.js';
import { Logger } from '../../../store/server/log.js';
import type { MemberInfo } from '../../../store/server/members.js';
import { SnapshotPolicy } from '../../../store/server/snapshot_policy.js';
import { decodeStateSnapshot, encodeStateSnapshot, restoreStateSnapshot, StateSnapshotError, type StateHost } from '../../../store/server/state_snapshot.js';
import { Wal } from '../../../store/wal/wal.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-snappolicy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function host(members: MemberInfo[] = []): StateHost {
  const mvcc = new MvccStore();
  const lessor = new Lessor({ minTtl: 1 });
  mvcc.onCommit((_r, ev) => lessor.observe(ev));
  return { mvcc, lessor, auth: new AuthStore(), members, removed: new Set(), alarms: new AlarmStore() };
}

describe('state snapshot (MVCC + leases + auth + membership + alarms)', () => {
  it('restores every part into a member that is behind, and watchers hear the revisions they missed', () => {
    const a = host([{ id: 1n, name: 'a', peerUrls: ['http://a:2380'], clientUrls: ['http://a:2379'] }, { id: 2n, name: 'b', peerUrls: ['http://b:2380'], clientUrls: [] }]);
    a.mvcc.put(enc('k1'), enc('v1'), 0n);
    a.lessor.grant(77n, 30, 5);
    a.mvcc.put(enc('leased'), enc('x'), 77n);
    a.mvcc.put(enc('k1'), enc('v2'), 0n);
    a.mvcc.deleteRange(enc('k1'), undefined);
    a.auth.apply({ op: 'authUserAdd', name: 'root', password: 'h', noPassword: false }, 10);
    a.removed.add(9n);
    a.alarms.activate(1n, 1);
    // b is a member that applied only the first put
    const b = host([{ id: 1n, name: 'a', peerUrls: ['http://a:2380'], clientUrls: [] }, { id: 3n, name: 'c', peerUrls: ['http://c:2380'], clientUrls: [] }]);
    b.mvcc.put(enc('k1'), enc('v1'), 0n);
    const heard: { rev: number; events: MvccEvent[] }[] = [];
    b.mvcc.onCommit((rev, events) => heard.push({ rev, events }));
    const out = restoreStateSnapshot(b, encodeStateSnapshot(a));
    assert.equal(b.mvcc.rev(), a.mvcc.rev());
    assert.deepEqual(b.mvcc.exportState(), a.mvcc.exportState());
    assert.deepEqual(heard.map((h) => h.rev), [3, 4, 5], 'one notification per missed revision, in order');
    assert.equal(heard[2]!.events[0]!.type, 'delete');
    assert.equal(dec(heard[2]!.events[0]!.prevKv!.value), 'v2', 'prev_kv rebuilt from the history');
    assert.equal(out.replayedRevisions, 3);
    assert.deepEqual(b.lessor.list(), [77n]);
    assert.deepEqual(b.lessor.lookup(77n)!.keys.map(dec), ['leased'], 'lease keys re-attached from the live keys');
    assert.deepEqual(b.auth.exportState(), a.auth.exportState());
    assert.deepEqual(b.members.map((m) => [m.id, m.clientUrls]), [[1n, ['http://a:2379']], [2n, []]]);
    assert.deepEqual(out.added.map((m) => m.id), [2n]);
    assert.deepEqual(out.removedIds, [3n]);
    assert.deepEqual([...b.removed], [9n]);
    assert.deepEqual(b.alarms.get(), [{ memberId: 1n, alarm: 1 }]);
  });

  it('reads a bare MVCC image (a restored backup) and refuses garbage with a clear error', () => {
    const a = host();
    a.mvcc.put(enc('k'), enc('v'), 0n);
    const d = decodeStateSnapshot(encodeMvccSnapshot(a.mvcc));
    assert.equal(d.meta, undefined);
    assert.equal(d.mvcc.rev(), 2);
    assert.throws(() => decodeStateSnapshot(enc('not a snapshot at all')), StateSnapshotError);
    assert.throws(() => decodeStateSnapshot(new Uint8Array(3)), /too short/);
  });
});

describe('snapshot policy on a real WAL', () => {
  const quiet = new Logger('error');
  const entry = (index: number, term = 1): Entry => ({ index, term, type: EntryType.Normal, data: enc(`e${index}`) });

  it('snapshots every count entries, compacts keeping the catch-up tail, releases WAL segments, and restarts from snapshot + tail', async () => {
    const dataDir = path.join(tmp, 'm1');
    const walDir = path.join(dataDir, 'member', 'wal');
    const wal = await Wal.create(walDir, { memberId: 1n, clusterId: 2n }, { segmentBytes: 600 });
    const storage = new MemoryStorage([1n]);
    const state = host([{ id: 1n, name: 'a', peerUrls: ['http://a:2380'], clientUrls: [] }]);
    const policy = new SnapshotPolicy({
      dataDir, storage, wal, log: quiet, memberId: 1n,
      encodeState: () => encodeStateSnapshot(state), confState: () => ({ voters: [1n], learners: [] }),
    }, { count: 10, catchupEntries: 4, maxSnapshots: 2, maxWals: 5 });
    for (let i = 1; i <= 45; i++) {
      const e = entry(i);
      await wal.save({ term: 1, vote: 1n, commit: i }, [e]);
      storage.append([e]);
      state.mvcc.put(enc(`key${i % 7}`), e.data, 0n); // the "apply"
      await policy.maybeSnapshot(i);
    }
    assert.equal(policy.taken, 4, 'snapshots at 11, 22, 33, 44');
    assert.equal(storage.snapshot().meta.index, 44);
    assert.equal(storage.firstIndex(), 41, 'compacted to 44 - 4: the catch-up tail stays in memory');
    assert.deepEqual(policy.snapshotter.list().map((n) => parseInt(n.slice(17, 33), 16)), [44, 33], 'max-snapshots 2');
    const segs = fs.readdirSync(walDir).filter((n) => n.endsWith('.wal'));
    const firstIndexOfSegs = segs.map((n) => parseInt(n.slice(17, 33), 16)).sort((x, y) => x - y);
    assert.ok(firstIndexOfSegs[0]! > 1 && firstIndexOfSegs[0]! <= 33, `old segments released, the one holding 33 kept: ${segs.join(',')}`);
    await wal.close();

    // restart: newest snapshot (44) + the WAL after it (45)
    const r = await Wal.open(walDir);
    assert.equal(r.snapshot?.index, 44);
    assert.deepEqual(r.entries.map((e) => e.index), [45]);
    const snap = await loadSnapshotData(dataDir, r.snapshot!.index);
    const back = host();
    restoreStateSnapshot(back, snap!.data);
    assert.equal(back.mvcc.rev(), 45, 'state at index 44 (revision 45: 44 puts)');
    assert.deepEqual(back.members.map((m) => m.name), ['a']);
    await r.wal.close();
  });

  it('persist() of a received snapshot (MsgSnap) writes the file before the WAL record', async () => {
    const dataDir = path.join(tmp, 'm2');
    const walDir = path.join(dataDir, 'member', 'wal');
    const wal = await Wal.create(walDir, { memberId: 1n, clusterId: 2n });
    const storage = new MemoryStorage([1n]);
    const state = host();
    state.mvcc.put(enc('a'), enc('b'), 0n);
    const policy = new SnapshotPolicy({ dataDir, storage, wal, log: quiet, memberId: 1n, encodeState: () => encodeStateSnapshot(state), confState: () => ({ voters: [1n], learners: [] }) }, undefined);
    assert.equal(policy.flags.count, 100000, "etcd's default snapshot-count");
    await policy.persist({ meta: { index: 500, term: 3, voters: [1n, 2n, 3n] }, data: encodeStateSnapshot(state) });
    await wal.save({ term: 3, vote: 0n, commit: 501 }, [entry(501, 3)]);
    await wal.close();
    const r = await Wal.open(walDir);
    assert.equal(r.snapshot?.index, 500);
    assert.deepEqual(r.entries.map((e) => e.index), [501], 'the log restarts after the installed snapshot');
    assert.ok(await loadSnapshotData(dataDir, 500));
    await r.wal.close();
  });
});
