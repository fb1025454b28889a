/**
 * MaintenanceState pieces without a server: the alarm set and its text form, quota classification of request
 * bodies (Put / Txn / LeaseGrant / deletes), the NOSPACE gate, the size model (dbSize stays at its high-water
 * mark until defragment) and HashKV's errors and determinism.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { AlarmStore, alarmText } from '../../../store/server/alarm_store.js';
import { MaintenanceState, type AlarmOp } from '../../../store/server/maintenance_state.js';
import { classify } from '../../../store/server/quota.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('alarm store: activate is idempotent, deactivate returns the cleared alarm, deterministic order, etcd text', () => {
  const a = new AlarmStore();
  assert.deepEqual(a.activate(5n, 1), { memberId: 5n, alarm: 1 });
  assert.equal(a.activate(5n, 1), a.get()[0]);
  a.activate(3n, 1);
  a.activate(4n, 2);
  assert.deepEqual(a.get().map((x) => [x.memberId, x.alarm]), [[3n, 1], [5n, 1], [4n, 2]]);
  assert.deepEqual(a.get(2), [{ memberId: 4n, alarm: 2 }]);
  assert.equal(a.activate(1n, 0), undefined);
  assert.deepEqual(a.deactivate(5n, 1), { memberId: 5n, alarm: 1 });
  assert.equal(a.deactivate(5n, 1), undefined);
  assert.equal(alarmText({ memberId: 16525471871992398963n, alarm: 1 }), 'memberID:16525471871992398963 alarm:NOSPACE ');
});

test('quota: what is charged and what writes (etcd quota.go / isTxnReadonly)', () => {
  const put = classify({ op: 'put', key: enc('k'), value: new Uint8Array(100), lease: 0n, prevKv: false } as never);
  assert.deepEqual([put.charged, put.writes], [true, true]);
  assert.ok(put.cost >= 256 + 100);
  assert.deepEqual(classify({ op: 'delete' }), { charged: false, cost: 0, writes: true });
  assert.deepEqual(classify({ op: 'leaseGrant' }).charged, true);
  const readTxn = classify({ op: 'txn', txn: { kind: 'txn', compare: [], success: [{ kind: 'range' }], failure: [] } } as never);
  assert.deepEqual(readTxn, { charged: true, cost: 0, writes: false });
  const writeTxn = classify({ op: 'txn', txn: { kind: 'txn', compare: [], success: [{ kind: 'put', key: enc('a'), value: new Uint8Array(10) }], failure: [{ kind: 'put', key: enc('a'), value: new Uint8Array(500) }] } } as never);
  assert.equal(writeTxn.writes, true);
  assert.ok(writeTxn.cost > 256 + 500, 'the larger branch');
  assert.equal(classify({ op: 'txn', txn: { kind: 'txn', compare: [], success: [{ kind: 'delete' }], failure: [] } } as never).writes, true);
  assert.deepEqual(classify({ op: 'publish' }), { charged: false, cost: 0, writes: false });
});

function host(): { mvcc: MvccStore; memberId: bigint; proposed: AlarmOp[]; propose(b: AlarmOp): Promise<unknown> } {
  const h = { mvcc: new MvccStore(), memberId: 7n, proposed: [] as AlarmOp[], propose: async (b: AlarmOp) => void h.proposed.push(b) };
  return h;
}

test('over quota: refused before proposing with NOSPACE raised; capped apply while NOSPACE; deletes pass', () => {
  const h = host();
  const m = new MaintenanceState(h, 30_000);
  m.started();
  const big = { op: 'put', key: enc('k'), value: new Uint8Array(5000), lease: 0n, prevKv: false };
  assert.equal(m.checkPropose(big), undefined);
  for (let i = 0; i < 3; i++) h.mvcc.put(enc('k'), new Uint8Array(5000), 0n);
  const err = m.checkPropose(big);
  assert.equal(err?.message, 'etcdserver: mvcc: database space exceeded');
  assert.equal(err?.code, 8);
  assert.deepEqual(h.proposed, [{ op: 'alarm', action: 1, memberId: 7n, alarm: 1 }]);
  assert.deepEqual(m.applyAlarm({ op: 'alarm', action: 1, memberId: 7n, alarm: 1 }), [{ memberId: 7n, alarm: 1 }]);
  assert.equal(m.beforeApply({ op: 'put', key: enc('x'), value: enc('1') } as never).reject?.message, 'etcdserver: mvcc: database space exceeded');
  assert.equal(m.beforeApply({ op: 'delete' }).reject, undefined);
  assert.equal(m.checkPropose({ op: 'delete' }), undefined);
  // compaction frees history but the size stays until defragment
  const before = m.dbSize();
  h.mvcc.compact(h.mvcc.rev());
  assert.equal(m.dbSize(), before);
  assert.ok(m.dbSizeInUse() < before);
  m.defragment();
  assert.equal(m.dbSize(), m.dbSizeInUse());
  assert.deepEqual(m.applyAlarm({ op: 'alarm', action: 0, memberId: 0n, alarm: 0 }), [{ memberId: 7n, alarm: 1 }]);
  assert.deepEqual(m.applyAlarm({ op: 'alarm', action: 2, memberId: 7n, alarm: 1 }), [{ memberId: 7n, alarm: 1 }]);
  assert.equal(m.beforeApply({ op: 'put', key: enc('x'), value: enc('1') } as never).reject, undefined);
});

test('HashKV: deterministic for the same history, errors for compacted and future revisions', () => {
  const run = () => {
    const h = host();
    for (const [k, v] of [['a', '1'], ['b', '2'], ['a', '3']]) h.mvcc.put(enc(k!), enc(v!), 0n);
    h.mvcc.deleteRange(enc('b'), undefined);
    return new MaintenanceState(h, -1);
  };
  const x = run();
  const y = run();
  assert.deepEqual(x.hashKV(0), y.hashKV(0));
  assert.equal(x.hashKV(0).compactRevision, -1);
  assert.notEqual(x.hashKV(3).hash, x.hashKV(0).hash);
  assert.throws(() => x.hashKV(99), { message: 'etcdserver: mvcc: required revision is a future revision' });
  (x as unknown as { host: { mvcc: MvccStore } }).host.mvcc.compact(3);
  assert.throws(() => x.hashKV(3), { message: 'etcdserver: mvcc: required revision has been compacted' });
  assert.equal(x.hashKV(4).compactRevision, 3);
});
