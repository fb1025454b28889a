/**
 * Snapshot data is not kept in memory once durable (store/raft/storage.ts releaseSnapshotData, store/server/
 * snapshot_source.ts): after the policy takes a snapshot, MemoryStorage.snapshot() reads the same bytes back from the
 * snapshot file (what raft sends in MsgSnap), and a starting member restores the state (leases re-attached) without
 * replaying history to listeners.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthStore } from '../../../store/auth/store.js';
import { Lessor } from '../../../store/lease/lessor.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { EntryType, MemoryStorage, type Entry } from '../../../store/raft/index.js';
import { AlarmStore } from '../../../store/server/alarm_store.js';
import { Logger } from '../../../store/server/log.js';
import { SnapshotPolicy } from '../../../store/server/snapshot_policy.js';
import { encodeStateSnapshot, restoreStateSnapshot, type StateHost } from '../../../store/server/state_snapshot.js';
import { Wal } from '../../../store/wal/wal.js';

const enc = (s: string) => new TextEncoder().encode(s);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-snaprelease-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function host(): StateHost {
  const mvcc = new MvccStore();
  const lessor = new Lessor({ minTtl: 1 });
  mvcc.onCommit((_r, ev) => lessor.observe(ev));
  return { mvcc, lessor, auth: new AuthStore(), members: [{ id: 1n, name: 'a', peerUrls: ['http://a:2380'], clientUrls: [] }], removed: new Set(), alarms: new AlarmStore() };
}

describe('snapshot data release', () => {
  it('a durable snapshot is read back from its file; a starting member restores it without replaying history', async () => {
    const dataDir = path.join(tmp, 'm1');
    const wal = await Wal.create(path.join(dataDir, 'member', 'wal'), { memberId: 1n, clusterId: 2n });
    const storage = new MemoryStorage([1n]);
    const state = host();
    state.lessor.grant(55n, 60, 0);
    let encoded: Uint8Array | undefined;
    const policy = new SnapshotPolicy({
      dataDir, storage, wal, log: new Logger('error'), memberId: 1n,
      encodeState: () => (encoded = encodeStateSnapshot(state)), confState: () => ({ voters: [1n], learners: [] }),
    }, { count: 20, catchupEntries: 5, maxSnapshots: 2, maxWals: 5 });
    for (let i = 1; i <= 25; i++) {
      const e: Entry = { index: i, term: 1, type: EntryType.Normal, data: enc(`e${i}`) };
      await wal.save({ term: 1, vote: 1n, commit: i }, [e]);
      storage.append([e]);
      state.mvcc.put(enc(`key${i % 9}`), enc(`value${i}`), i % 3 === 0 ? 55n : 0n);
      await policy.maybeSnapshot(i);
    }
    assert.equal(policy.taken, 1);
    assert.equal(storage.snapshotMeta().index, 21);
    assert.equal(storage.releaseSnapshotData(), true, 'released once durable');
    const snap = storage.snapshot();
    assert.deepEqual(snap.data, encoded, 'the bytes read back are the bytes taken');
    assert.equal(snap.meta.term, 1);
    await wal.close();

    const back = host();
    let heard = 0;
    back.mvcc.onCommit(() => heard++);
    const out = restoreStateSnapshot(back, snap.data, { starting: true });
    assert.equal(out.replayedRevisions, 0);
    assert.equal(heard, 0, 'no replay to listeners while starting');
    assert.equal(back.mvcc.rev(), 22);
    const all = new Uint8Array([0]);
    const want = state.mvcc.range(all, all, { revision: 22 });
    assert.deepEqual(back.mvcc.range(all, all).kvs, want.kvs);
    // the lessor knows the leased keys (as after a replayed restore): revoking 55 lists them
    const revoked: Uint8Array[] = [];
    back.lessor.revoke(55n, (keys) => revoked.push(...keys));
    const leased = want.kvs.filter((kv) => kv.lease === 55n).map((kv) => Buffer.from(kv.key).toString()).sort();
    assert.ok(leased.length > 0);
    assert.deepEqual(revoked.map((k) => Buffer.from(k).toString()).sort(), leased);
  });
});
