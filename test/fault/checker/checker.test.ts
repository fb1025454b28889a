/**
 * Unit tests of the fault checkers: hand-made linearizable and non-linearizable histories (with unknown
 * outcomes), the search against a brute-force reference on seeded random histories, stale-read and watch
 * checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bruteForceLinearizable } from './brute.js';
import { committedHistory } from './committed.js';
import { generateHistory, mutateHistory } from './generator.js';
import { checkLinearizable } from './linearizability.js';
import { resolveUnknown } from './resolve.js';
import { checkAckedWrites, checkStaleReads } from './stale.js';
import { checkHistory } from './index.js';
import type { KvSnap, Operation, Request, Response, WatchRecord } from './types.js';
import { checkWatch } from './watch.js';

let nextId = 0;
function op(client: number, call: number, ret: number | undefined, req: Request, resp?: Response): Operation {
  return { id: nextId++, client, call, ret, req, resp: ret === undefined ? undefined : resp };
}
const kv = (key: string, value: string, mod: number, create = mod, ver = 1, lease = '0'): KvSnap => ({ key, value, mod, create, ver, lease });

test('sequential put then get is linearizable; a get of the old value after the put returned is not', () => {
  const ok = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(1, 11, 20, { t: 'range', key: 'a' }, { t: 'range', rev: 2, kvs: [kv('a', '1', 2)] }),
  ];
  assert.equal(checkLinearizable(ok).ok, true);
  const stale = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(1, 11, 20, { t: 'range', key: 'a' }, { t: 'range', rev: 1, kvs: [] }),
  ];
  assert.equal(checkLinearizable(stale).ok, false);
  // ...but the same empty read concurrent with the put is fine
  const concurrent = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(1, 5, 20, { t: 'range', key: 'a' }, { t: 'range', rev: 1, kvs: [] }),
  ];
  assert.equal(checkLinearizable(concurrent).ok, true);
});

test('the global revision couples keys: two puts on different keys cannot both get revision 2', () => {
  const h = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(1, 0, 10, { t: 'put', key: 'b', value: '1' }, { t: 'put', rev: 2 }),
  ];
  assert.equal(checkLinearizable(h).ok, false);
  h[1].resp = { t: 'put', rev: 3 };
  const r = checkLinearizable(h);
  assert.equal(r.ok, true);
  assert.deepEqual(r.order, [h[0].id, h[1].id]);
  // a read of key b at revision 2 must then see b absent (b was written at 3)
  const h2 = [...h, op(2, 1, 9, { t: 'range', key: 'b' }, { t: 'range', rev: 2, kvs: [kv('b', '1', 2)] })];
  assert.equal(checkLinearizable(h2).ok, false);
});

test('unknown outcomes: a timed-out put may take effect later or never', () => {
  const put = op(0, 0, undefined, { t: 'put', key: 'a', value: 'x' });
  const seenLater = [put, op(1, 50, 60, { t: 'range', key: 'a' }, { t: 'range', rev: 2, kvs: [kv('a', 'x', 2)] })];
  assert.equal(checkLinearizable(seenLater).ok, true);
  const never = [put, op(1, 50, 60, { t: 'range', key: 'a' }, { t: 'range', rev: 1, kvs: [] })];
  assert.equal(checkLinearizable(never).ok, true);
  // it cannot be seen before it was called
  const early = [op(0, 100, undefined, { t: 'put', key: 'a', value: 'x' }), op(1, 0, 10, { t: 'range', key: 'a' }, { t: 'range', rev: 2, kvs: [kv('a', 'x', 2)] })];
  assert.equal(checkLinearizable(early).ok, false);
  // nor seen, then unseen (a read cannot go back)
  const flicker = [put,
    op(1, 50, 60, { t: 'range', key: 'a' }, { t: 'range', rev: 2, kvs: [kv('a', 'x', 2)] }),
    op(1, 70, 80, { t: 'range', key: 'a' }, { t: 'range', rev: 1, kvs: [] })];
  assert.equal(checkLinearizable(flicker).ok, false);
});

test('txn compare-and-set: two CAS on the same mod revision cannot both succeed', () => {
  const cas = (c: number, v: string): Request => ({ t: 'txn', cmp: [{ key: 'a', target: 'mod', op: '=', arg: 2 }], then: [{ t: 'put', key: 'a', value: v }], else: [{ t: 'range', key: 'a' }] });
  const base = op(0, 0, 5, { t: 'put', key: 'a', value: '0' }, { t: 'put', rev: 2 });
  const both = [base, op(1, 10, 20, cas(1, 'p'), { t: 'txn', rev: 3, succeeded: true, results: [{ t: 'put' }] }),
    op(2, 10, 20, cas(2, 'q'), { t: 'txn', rev: 4, succeeded: true, results: [{ t: 'put' }] })];
  assert.equal(checkLinearizable(both).ok, false);
  const one = [base, op(1, 10, 20, cas(1, 'p'), { t: 'txn', rev: 3, succeeded: true, results: [{ t: 'put' }] }),
    op(2, 10, 20, cas(2, 'q'), { t: 'txn', rev: 3, succeeded: false, results: [{ t: 'range', kvs: [kv('a', 'p', 3, 2, 2)] }] })];
  assert.equal(checkLinearizable(one).ok, true);
});

test('leases: revoke deletes attached keys at one revision; a put with a revoked lease cannot succeed', () => {
  const h = [
    op(0, 0, 5, { t: 'grant', id: '7' }, { t: 'grant' }),
    op(0, 6, 10, { t: 'put', key: 'a', value: '1', lease: '7' }, { t: 'put', rev: 2 }),
    op(0, 11, 15, { t: 'put', key: 'b', value: '1', lease: '7' }, { t: 'put', rev: 3 }),
    op(0, 16, 20, { t: 'revoke', id: '7' }, { t: 'revoke', rev: 4 }),
    op(1, 21, 25, { t: 'range', key: 'a', end: '\0' }, { t: 'range', rev: 4, kvs: [] }),
  ];
  assert.equal(checkLinearizable(h).ok, true);
  const bad = [...h, op(0, 30, 35, { t: 'put', key: 'c', value: '1', lease: '7' }, { t: 'put', rev: 5 })];
  assert.equal(checkLinearizable(bad).ok, false);
});

test('search agrees with brute force on seeded random histories (and their mutations)', () => {
  let lin = 0;
  let nonlin = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const h = generateHistory(seed, 4 + (seed % 5), 2 + (seed % 3));
    assert.equal(checkLinearizable(h).ok, true, `generated history ${seed} must be linearizable`);
    assert.equal(bruteForceLinearizable(h), true);
    const m = mutateHistory(h, seed);
    const fast = checkLinearizable(m).ok;
    assert.equal(fast, bruteForceLinearizable(m), `seed ${seed}: search and brute force disagree\n${JSON.stringify(m)}`);
    if (fast) lin++;
    else nonlin++;
  }
  // the mutations must produce both outcomes, or the comparison proves little
  assert.ok(nonlin > 100 && lin > 20, `lin ${lin} nonlin ${nonlin}`);
});

test('larger random histories check quickly (memoization)', () => {
  for (let seed = 1000; seed < 1005; seed++) {
    const h = generateHistory(seed, 400, 8, 0.03);
    const r = checkLinearizable(h);
    assert.equal(r.ok, true);
    assert.ok(r.steps < 1_000_000, `steps ${r.steps}`);
  }
});

test('stale reads: exact state of a past revision passes; invented state, future and regressions are caught', () => {
  const ops = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(0, 20, 30, { t: 'put', key: 'a', value: '2' }, { t: 'put', rev: 3 }),
    op(1, 31, 40, { t: 'range', key: 'a', serializable: true }, { t: 'range', rev: 2, kvs: [kv('a', '1', 2)] }),
    op(1, 41, 50, { t: 'range', key: 'a', serializable: true }, { t: 'range', rev: 1, kvs: [] }),
    op(3, 1, 5, { t: 'range', key: 'a', serializable: true }, { t: 'range', rev: 3, kvs: [kv('a', '2', 3, 2, 2)] }),
    op(2, 51, 60, { t: 'range', key: 'a', serializable: true }, { t: 'range', rev: 3, kvs: [kv('a', '9', 3, 2, 2)] }),
  ];
  const lin = checkLinearizable(ops);
  assert.equal(lin.ok, true);
  const kinds = checkStaleReads(ops, committedHistory(ops, lin.order!)).map((v) => `${v.kind}:${v.op}`);
  assert.deepEqual(kinds.sort(), [`stale-read-from-future:${ops[4].id}`, `stale-read-not-monotonic:${ops[3].id}`, `stale-read-wrong-state:${ops[5].id}`].sort());
});

test('acknowledged writes: a put acknowledged but absent from the final read-back is reported', () => {
  const ops = [op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 })];
  const c = committedHistory(ops, [ops[0].id]);
  assert.deepEqual(checkAckedWrites(ops, [kv('a', '1', 2)], 2, c), []);
  assert.equal(checkAckedWrites(ops, [], 1, c)[0].kind, 'lost-write');
});

test('watch: complete ordered stream passes; gap, duplicate, split, wrong prev_kv are caught', () => {
  const ops = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(0, 11, 20, { t: 'put', key: 'a', value: '2' }, { t: 'put', rev: 3 }),
    op(0, 21, 30, { t: 'del', key: 'a', end: '\0' }, { t: 'del', rev: 4, deleted: 1 }),
  ];
  const c = committedHistory(ops, ops.map((o) => o.id));
  const e2 = { type: 'put' as const, kv: kv('a', '1', 2) };
  const e3 = { type: 'put' as const, kv: kv('a', '2', 3, 2, 2), prev: kv('a', '1', 2) };
  const e4 = { type: 'del' as const, kv: { key: 'a', value: '', mod: 4, create: 0, ver: 0, lease: '0' }, prev: kv('a', '2', 3, 2, 2) };
  const w = (batches: WatchRecord['batches']): WatchRecord => ({ id: 1, member: 'm', key: 'a', end: '\0', startRev: 2, createdRev: 1, prevKv: true, batches });
  assert.deepEqual(checkWatch(w([{ at: 1, rev: 2, events: [e2] }, { at: 2, rev: 4, events: [e3, e4] }]), c, true), []);
  const kinds = (b: WatchRecord['batches'], complete = true) => checkWatch(w(b), c, complete).map((v) => v.kind);
  assert.deepEqual(kinds([{ at: 1, rev: 2, events: [e2] }, { at: 2, rev: 4, events: [e4] }]), ['watch-gap']);
  assert.deepEqual(kinds([{ at: 1, rev: 2, events: [e2] }, { at: 2, rev: 3, events: [e3] }]), ['watch-gap']); // incomplete at the end
  assert.deepEqual(kinds([{ at: 1, rev: 2, events: [e2] }, { at: 2, rev: 3, events: [e3] }], false), []); // fine when the watcher died
  assert.ok(kinds([{ at: 1, rev: 2, events: [e2] }, { at: 2, rev: 3, events: [e2, e3, e4] }]).includes('watch-duplicate-or-split'));
  assert.ok(kinds([{ at: 1, rev: 3, events: [e2, e3] }, { at: 2, rev: 4, events: [e3, e4] }]).includes('watch-duplicate-or-split'));
  assert.deepEqual(kinds([{ at: 1, rev: 4, events: [e2, { ...e3, prev: kv('a', '0', 2) }, e4] }]), ['watch-wrong-event']);
  assert.ok(kinds([{ at: 1, rev: 4, events: [e3, e2, e4] }]).includes('watch-unordered'));
});

test('an unknown write the search places after the final read does not create expected watch events', () => {
  const ops = [
    op(0, 0, 10, { t: 'put', key: 'a', value: '1' }, { t: 'put', rev: 2 }),
    op(1, 5, undefined, { t: 'del', key: 'a' }),
    op(2, 20, 30, { t: 'range', key: 'a', end: '\0' }, { t: 'range', rev: 2, kvs: [kv('a', '1', 2)] }),
  ];
  const w: WatchRecord = { id: 0, member: 'm', key: 'a', end: '\0', startRev: 1, createdRev: 1, prevKv: false, batches: [{ at: 11, rev: 2, events: [{ type: 'put', kv: kv('a', '1', 2) }] }] };
  const r = checkHistory({ seed: 0, ops, watches: [w] }, { kvs: [kv('a', '1', 2)], rev: 2 }, new Set([0]));
  assert.deepEqual(r.violations, []);
});

test('an unknown txn with put-only branches is resolved from the branch whose value was observed', () => {
  const txn: Request = { t: 'txn', cmp: [{ key: 'a', target: 'version', op: '>', arg: 0 }], then: [{ t: 'put', key: 'a', value: 't1' }, { t: 'put', key: 'b', value: 't2' }], else: [{ t: 'put', key: 'a', value: 'e1' }] };
  // a does not exist, so the else branch must have run: seeing e1 at revision 2 is linearizable...
  const elseSeen = [op(0, 0, undefined, txn), op(1, 50, 60, { t: 'range', key: 'a' }, { t: 'range', rev: 2, kvs: [kv('a', 'e1', 2)] })];
  const r1 = resolveUnknown({ seed: 0, ops: elseSeen, watches: [] }, true);
  assert.deepEqual(r1[0].resp, { t: 'txn', rev: 2, succeeded: false, results: [{ t: 'put' }] });
  assert.equal(checkLinearizable(r1).ok, true);
  // ...seeing the then branch's value is not (the compare cannot have held)
  const thenSeen = [op(0, 0, undefined, txn), op(1, 50, 60, { t: 'range', key: 'b' }, { t: 'range', rev: 2, kvs: [kv('b', 't2', 2)] })];
  const r2 = resolveUnknown({ seed: 0, ops: thenSeen, watches: [] }, true);
  assert.equal(r2[0].resp?.t === 'txn' && r2[0].resp.succeeded, true);
  assert.equal(checkLinearizable(r2).ok, false);
  // unobserved and a complete full watcher: dropped; otherwise kept as unknown
  const none = [op(0, 0, undefined, txn)];
  assert.equal(resolveUnknown({ seed: 0, ops: none, watches: [] }, true).length, 0);
  assert.equal(resolveUnknown({ seed: 0, ops: none, watches: [] }, false)[0].resp, undefined);
});
