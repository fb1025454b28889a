/**
 * Leases in a state snapshot (store/server/state_snapshot.ts) on a member restarting from it or installing it:
 * only the granted TTL travels (as in etcd 3.4 without lease checkpoints), the attached keys come back from the
 * live keys, a non-leader never expires a lease (remaining TTL unknown: Infinity), and the member that becomes
 * leader gives every lease a fresh deadline of now + election timeout + TTL (etcd lessor Promote), so no lease
 * expires early because of the restart. A lease revoked after the snapshot stays revoked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthStore } from '../../../store/auth/store.js';
import { Lessor } from '../../../store/lease/lessor.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { AlarmStore } from '../../../store/server/alarm_store.js';
import { encodeStateSnapshot, restoreStateSnapshot, type StateHost } from '../../../store/server/state_snapshot.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function host(now: () => number): StateHost {
  const mvcc = new MvccStore();
  const lessor = new Lessor({ minTtl: 1, now });
  mvcc.onCommit((_r, ev) => lessor.observe(ev));
  return { mvcc, lessor, auth: new AuthStore(), members: [], removed: new Set(), alarms: new AlarmStore() };
}

describe('leases across a snapshot', () => {
  it('keep their TTL and keys; only a promoted leader expires them, from a fresh deadline', () => {
    let t = 1_000_000;
    const now = () => t;
    const leader = host(now);
    leader.lessor.promote(1000);
    leader.lessor.grant(5n, 10, 3);
    leader.lessor.grant(6n, 2, 4);
    leader.mvcc.put(enc('a'), enc('1'), 5n);
    leader.mvcc.put(enc('b'), enc('2'), 6n);
    leader.mvcc.put(enc('c'), enc('3'), 5n);
    t += 9_000; // lease 6 is already past its deadline on the leader
    assert.deepEqual(leader.lessor.expired(), [6n]);
    const snap = encodeStateSnapshot(leader);

    const restarted = host(now); // a follower after restart (never primary until it leads)
    restoreStateSnapshot(restarted, snap);
    assert.deepEqual(restarted.lessor.list().slice().sort(), [5n, 6n]);
    assert.equal(restarted.lessor.ttlOf(5n), 10);
    assert.deepEqual(restarted.lessor.lookup(5n)!.keys.map(dec).sort(), ['a', 'c']);
    assert.equal(restarted.lessor.lookup(6n)!.remainingMs, Infinity, 'a follower does not run lease deadlines');
    t += 60_000;
    assert.deepEqual(restarted.lessor.expired(), [], 'a follower never expires a lease');
    restarted.lessor.promote(1000); // it becomes leader
    assert.equal(restarted.lessor.lookup(5n)!.remainingMs, 11_000, 'a fresh deadline: TTL + election timeout');
    assert.deepEqual(restarted.lessor.expired(), []);
    t += 3_001;
    assert.deepEqual(restarted.lessor.expired(), [6n], 'then the short lease expires, on the leader only');

    // a follower that installs a later snapshot (lease 6 revoked, its key deleted) drops it and its key
    leader.lessor.revoke(6n, (keys) => { for (const k of keys) leader.mvcc.deleteRange(k, undefined); });
    const follower = host(now);
    restoreStateSnapshot(follower, snap);
    restoreStateSnapshot(follower, encodeStateSnapshot(leader));
    assert.deepEqual(follower.lessor.list(), [5n]);
    assert.equal(follower.mvcc.range(enc('b'), undefined).kvs.length, 0);
    assert.deepEqual(follower.lessor.lookup(5n)!.keys.map(dec).sort(), ['a', 'c']);
  });
});
