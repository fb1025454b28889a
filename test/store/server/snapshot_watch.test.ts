/**
 * Watchers on a member that installs a Raft snapshot (store/server/state_snapshot.ts restoreStateSnapshot ->
 * MvccStore.replaceState, watched by store/mvcc/watchable_store.ts). etcd's watch guarantees
 * (https://etcd.io/docs/v3.4/learning/api_guarantees/ "Watch APIs": reliable, no missing events): a watcher
 * either hears every revision it missed while its member was behind, in order, once, with prev_kv, or, when the
 * snapshot's history was compacted past what it needs, is canceled with the compaction revision (etcd
 * watchable_store.go Restore moves every synced watcher to unsynced; syncWatchers cancels compacted ones).
 * It must never silently skip revisions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthStore } from '../../../store/auth/store.js';
import { Lessor } from '../../../store/lease/lessor.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { WatchableStore, type WatchResponse, type WatchStream } from '../../../store/mvcc/watchable_store.js';
import { AlarmStore } from '../../../store/server/alarm_store.js';
import { encodeStateSnapshot, restoreStateSnapshot, type StateHost } from '../../../store/server/state_snapshot.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = () => new Promise<void>((r) => setTimeout(r, 5));

function host(): StateHost {
  const mvcc = new MvccStore();
  const lessor = new Lessor({ minTtl: 1 });
  mvcc.onCommit((_r, ev) => lessor.observe(ev));
  return { mvcc, lessor, auth: new AuthStore(), members: [], removed: new Set(), alarms: new AlarmStore() };
}

async function drain(s: WatchStream): Promise<WatchResponse[]> {
  const out: WatchResponse[] = [];
  for (let i = 0; i < 20; i++) {
    await tick();
    for (let r = s.next(); r; r = s.next()) out.push(r);
  }
  return out;
}

describe('watchers across a snapshot install', () => {
  it('hear the missed revisions once, in order, with prev_kv, when the snapshot continues their history', async () => {
    const leader = host();
    const follower = host();
    for (const h of [leader, follower]) h.mvcc.put(enc('k/a'), enc('v1'), 0n); // rev 2 on both
    const ws = new WatchableStore(follower.mvcc, { syncIntervalMs: 1 });
    const s = ws.newWatchStream();
    const id = s.watch(0, enc('k/'), enc('k0'), follower.mvcc.rev() + 1);
    leader.mvcc.put(enc('k/a'), enc('v2'), 0n); // 3
    leader.mvcc.put(enc('k/b'), enc('b1'), 0n); // 4
    leader.mvcc.deleteRange(enc('k/a'), undefined); // 5
    leader.mvcc.compact(2); // compacted, but not past what the follower has (rev 2)
    restoreStateSnapshot(follower, encodeStateSnapshot(leader));
    follower.mvcc.put(enc('k/c'), enc('c1'), 0n); // 6, live after the install
    const got = (await drain(s)).filter((r) => r.watchId === id);
    const canceled = got.find((r) => r.canceled);
    const events = got.flatMap((r) => r.events.map((e) => ({ rev: e.kv.modRevision, type: e.type, key: dec(e.kv.key), prev: e.prevKv ? dec(e.prevKv.value) : undefined })));
    if (canceled) {
      // acceptable only as a compaction cancel, and then nothing after it
      assert.ok((canceled.compactRevision ?? 0) > 0, 'a cancel carries the compaction revision');
      return;
    }
    assert.deepEqual(events.map((e) => e.rev), [3, 4, 5, 6], 'every revision after the old one, once, in order');
    assert.equal(events[2]!.type, 'delete');
    assert.equal(events[2]!.prev, 'v2', 'prev_kv of the replayed delete');
    ws.close();
  });

  it('are canceled with the compaction revision (never skip silently) when the snapshot compacted past them', async () => {
    const leader = host();
    const follower = host();
    for (const h of [leader, follower]) h.mvcc.put(enc('k/a'), enc('v1'), 0n); // rev 2 on both
    const ws = new WatchableStore(follower.mvcc, { syncIntervalMs: 1 });
    const s = ws.newWatchStream();
    const id = s.watch(0, enc('k/'), enc('k0'), follower.mvcc.rev() + 1); // wants rev 3 on
    for (let i = 0; i < 5; i++) leader.mvcc.put(enc('k/a'), enc(`x${i}`), 0n); // 3..7
    leader.mvcc.compact(6); // revisions 3..5 of k/a are gone from the leader's history
    restoreStateSnapshot(follower, encodeStateSnapshot(leader));
    follower.mvcc.put(enc('k/b'), enc('b1'), 0n); // 8
    const got = (await drain(s)).filter((r) => r.watchId === id);
    const revs = got.flatMap((r) => r.events.map((e) => e.kv.modRevision));
    const canceled = got.find((r) => r.canceled);
    assert.ok(canceled, `the watcher must be canceled for compaction, got events at revisions ${revs.join(',')}`);
    assert.equal(canceled.compactRevision, 6);
    assert.ok(!revs.some((r) => r > 2 && r < 6), 'no event from the compacted gap');
    assert.equal(got[got.length - 1], canceled, 'nothing delivered after the cancel');
    ws.close();
  });
});
