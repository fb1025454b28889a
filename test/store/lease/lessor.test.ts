/**
 * The lessor with a fake clock: grants (server-derived and client-chosen IDs, minimum TTL, duplicates),
 * revoke (keys deleted in byte order, errors), attachment following MVCC commits (attach, move, detach on delete,
 * ignore_lease keeps it), expiry only on the primary, the promote extension, demote, renew and the replay rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deriveLeaseId, EXPIRED_RETRY_MS, LeaseExistsError, LeaseNotFoundError, Lessor, minLeaseTtl, NotPrimaryError,
} from '../../../store/lease/lessor.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s));
const dec = (b: Uint8Array) => Buffer.from(b).toString();

function setup(minTtl = 2) {
  const clock = { t: 1_000_000 };
  const lessor = new Lessor({ minTtl, now: () => clock.t });
  const mvcc = new MvccStore();
  mvcc.onCommit((_rev, events) => lessor.observe(events));
  return { clock, lessor, mvcc };
}

test('minimum TTL follows etcd: ceil(((3*electionTicks)/2) * heartbeat)', () => {
  assert.equal(minLeaseTtl(100, 1000), 2); // 15 * 100 ms = 1.5 s
  assert.equal(minLeaseTtl(50, 500), 1); // 15 * 50 ms = 0.75 s
  assert.equal(minLeaseTtl(100, 2500), 4); // 37 * 100 ms = 3.7 s
  assert.equal(minLeaseTtl(100, 3000), 5); // 45 * 100 ms = 4.5 s
});

test('grant: client-chosen ID honored, duplicate refused, TTL raised to the minimum', () => {
  const { lessor } = setup(2);
  assert.deepEqual(lessor.grant(0x1234n, 1, 5), { id: 0x1234n, ttl: 2 });
  assert.throws(() => lessor.grant(0x1234n, 10, 6), LeaseExistsError);
  assert.deepEqual(lessor.grant(0x99n, 30, 7), { id: 0x99n, ttl: 30 });
  assert.equal(lessor.size(), 2);
});

test('grant: server-derived IDs are deterministic from the entry index, unique, positive, and skip taken IDs', () => {
  const a = setup().lessor;
  const b = setup().lessor;
  const ids = new Set<bigint>();
  for (let i = 1; i <= 2000; i++) {
    const id = a.grant(0n, 10, i).id;
    assert.equal(b.grant(0n, 10, i).id, id, 'same entry -> same ID on every member');
    assert.ok(id > 0n && id < 2n ** 63n);
    ids.add(id);
  }
  assert.equal(ids.size, 2000);
  const c = setup().lessor;
  c.grant(deriveLeaseId(5000), 10, 1); // a client took the ID index 5000 would derive
  assert.equal(c.grant(0n, 10, 5000).id, deriveLeaseId(5001));
});

test('attach follows MVCC commits: put with lease, move to another lease, ignore_lease keeps it, delete detaches', () => {
  const { lessor, mvcc } = setup();
  lessor.grant(1n, 10, 1);
  lessor.grant(2n, 10, 2);
  mvcc.put(enc('b'), enc('v'), 1n);
  mvcc.put(enc('a'), enc('v'), 1n);
  mvcc.put(enc('c'), enc('v'), 0n);
  assert.deepEqual(lessor.lookup(1n)!.keys.map(dec), ['a', 'b']);
  mvcc.put(enc('b'), enc('v2'), 2n); // moves b to lease 2
  assert.deepEqual(lessor.lookup(1n)!.keys.map(dec), ['a']);
  assert.deepEqual(lessor.lookup(2n)!.keys.map(dec), ['b']);
  mvcc.put(enc('b'), enc('v3'), 2n); // a put keeping the same lease (ignore_lease applies it this way)
  assert.deepEqual(lessor.lookup(2n)!.keys.map(dec), ['b']);
  mvcc.put(enc('a'), enc('v4'), 0n); // a put without lease detaches
  assert.deepEqual(lessor.lookup(1n)!.keys, []);
  mvcc.deleteRange(enc('b'), undefined);
  assert.deepEqual(lessor.lookup(2n)!.keys, []);
});

test('revoke deletes the attached keys in one transaction (one revision), then forgets the lease', () => {
  const { lessor, mvcc } = setup();
  lessor.grant(7n, 10, 1);
  mvcc.put(enc('k2'), enc('v'), 7n);
  mvcc.put(enc('k1'), enc('v'), 7n);
  mvcc.put(enc('other'), enc('v'), 0n);
  const seen: { rev: number; keys: string[]; types: string[] }[] = [];
  mvcc.onCommit((rev, evs) => seen.push({ rev, keys: evs.map((e) => dec(e.kv.key)), types: evs.map((e) => e.type) }));
  let deleted: string[] = [];
  lessor.revoke(7n, (keys) => {
    deleted = keys.map(dec);
    mvcc.write((tx) => { for (const k of keys) tx.deleteRange(k, undefined); });
  });
  assert.deepEqual(deleted, ['k1', 'k2']);
  assert.deepEqual(seen, [{ rev: 5, keys: ['k1', 'k2'], types: ['delete', 'delete'] }]);
  assert.equal(lessor.has(7n), false);
  assert.equal(mvcc.range(enc('other'), undefined).count, 1);
  assert.throws(() => lessor.revoke(7n, () => undefined), LeaseNotFoundError);
});

test('followers never expire leases; the primary does, reporting each once per retry interval', () => {
  const { lessor, clock } = setup();
  lessor.grant(1n, 5, 1);
  clock.t += 60_000;
  assert.deepEqual(lessor.expired(), [], 'not primary: nothing expires');
  assert.equal(lessor.lookup(1n)!.remainingMs, Infinity);
  lessor.promote(1000);
  clock.t += 5999;
  assert.deepEqual(lessor.expired(), []);
  clock.t += 1;
  assert.deepEqual(lessor.expired(), [1n]);
  assert.deepEqual(lessor.expired(), [], 'a revoke is pending: not reported again at once');
  clock.t += EXPIRED_RETRY_MS;
  assert.deepEqual(lessor.expired(), [1n], 'reported again after the retry interval');
});

test('promote extends every lease by the election timeout and restarts the full TTL; demote stops expiry', () => {
  const { lessor, clock } = setup();
  lessor.promote(1000);
  lessor.grant(1n, 10, 1); // granted on the primary: expires after its TTL
  clock.t += 8000;
  assert.equal(Math.trunc(lessor.lookup(1n)!.remainingMs / 1000), 2);
  lessor.demote(); // leader change: old leader demoted ...
  assert.equal(lessor.lookup(1n)!.remainingMs, Infinity);
  clock.t += 5000;
  assert.deepEqual(lessor.expired(), []);
  lessor.promote(1000); // ... new leader promoted: 10 s + 1 s from now
  assert.equal(lessor.lookup(1n)!.remainingMs, 11_000);
  clock.t += 10_999;
  assert.deepEqual(lessor.expired(), []);
  clock.t += 1;
  assert.deepEqual(lessor.expired(), [1n]);
});

test('renew: only on the primary, resets the deadline to a full TTL; unknown and expired leases', async () => {
  const { lessor, clock } = setup();
  lessor.grant(1n, 10, 1);
  assert.throws(() => lessor.renew(1n), NotPrimaryError);
  lessor.promote(0);
  clock.t += 9000;
  assert.equal(lessor.renew(1n), 10);
  assert.equal(lessor.lookup(1n)!.remainingMs, 10_000);
  assert.throws(() => lessor.renew(2n), LeaseNotFoundError);
  clock.t += 10_000;
  assert.equal(lessor.renew(1n), 'expired');
  const gone = lessor.whenGone(1n);
  lessor.revoke(1n, () => undefined);
  await gone;
  assert.equal(lessor.has(1n), false);
});

test('list is ordered by deadline then ID', () => {
  const { lessor } = setup();
  lessor.promote(0);
  lessor.grant(5n, 30, 1);
  lessor.grant(9n, 10, 2);
  lessor.grant(3n, 10, 3);
  assert.deepEqual(lessor.list(), [3n, 9n, 5n]);
});

test('replay: rebuilding from the same entries gives the same leases and keys, with full TTLs once promoted', () => {
  const build = () => {
    const s = setup();
    const a = s.lessor.grant(0n, 20, 3).id;
    s.mvcc.put(enc('x'), enc('1'), a);
    s.lessor.grant(0n, 30, 5);
    return s;
  };
  const first = build();
  const again = build();
  assert.deepEqual(again.lessor.list().sort(), first.lessor.list().sort());
  const id = deriveLeaseId(3);
  assert.deepEqual(again.lessor.lookup(id)!.keys.map(dec), ['x']);
  again.lessor.promote(1000);
  assert.equal(again.lessor.lookup(id)!.remainingMs, 21_000);
});
