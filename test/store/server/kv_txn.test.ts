/**
 * Unit tests of the Txn engine (store/server/kv_txn.ts) and KV request checks (kv_validate.ts) on an in-memory
 * MvccStore: one revision per changing txn, nothing written when a check fails, nested compares decided before
 * writes, the Raft-entry JSON form round-trips, duplicate-key and op-count rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { EtcdError } from '../../../store/server/errors.js';
import { applyTxn, specFromJson, specToJson, txnFromWire, type TxnSpec } from '../../../store/server/kv_txn.js';
import { checkIntervals, checkTxn, registerLeaseLookup } from '../../../store/server/kv_validate.js';
import { decodeRequest, encodeRequest } from '../../../store/server/request.js';

const b = (s: string) => Buffer.from(s);
const put = (k: string, v: string, x: Record<string, unknown> = {}) => ({ request: 'request_put', request_put: { key: b(k), value: b(v), ...x } });
const del = (k: string, x: Record<string, unknown> = {}) => ({ request: 'request_delete_range', request_delete_range: { key: b(k), ...x } });
const get = (k: string, x: Record<string, unknown> = {}) => ({ request: 'request_range', request_range: { key: b(k), ...x } });
const txn = (r: Record<string, unknown>): TxnSpec => txnFromWire(r);
const msg = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

test('a changing txn makes exactly one revision; a txn changing nothing makes none', () => {
  const s = new MvccStore();
  const owner = {};
  const r = applyTxn(s, owner, txn({ success: [put('a', '1'), put('b', '2'), del('zz'), get('a')] }));
  assert.equal(r.rev, 2);
  assert.equal(s.rev(), 2);
  assert.deepEqual(r.responses.map((o) => o.rev), [2, 2, 2, 2]);
  const none = applyTxn(s, owner, txn({ success: [del('zz')] }));
  assert.equal(none.rev, 2);
  assert.equal(s.rev(), 2);
});

test('failed checks write nothing: ignore_value on a missing key, unknown lease, future revision', () => {
  const s = new MvccStore();
  const owner = {};
  assert.equal(msg(() => applyTxn(s, owner, txn({ success: [put('a', '1'), put('m', '', { ignore_value: true })] }))), 'etcdserver: key not found');
  assert.equal(msg(() => applyTxn(s, owner, txn({ success: [put('a', '1', { lease: '5' })] }))), 'etcdserver: requested lease not found');
  assert.equal(msg(() => applyTxn(s, owner, txn({ success: [put('a', '1'), get('a', { revision: '9' })] }))), 'mvcc: required revision is a future revision');
  assert.equal(s.rev(), 1);
  registerLeaseLookup(owner, (id) => id === 5n);
  assert.equal(applyTxn(s, owner, txn({ success: [put('a', '1', { lease: '5' })] })).rev, 2);
  assert.equal(s.range(b('a'), undefined).kvs[0]!.lease, 5n);
});

test('nested compares are decided on the state before the outer txn writes', () => {
  const s = new MvccStore();
  const r = applyTxn(s, {}, txn({
    success: [
      put('a', '1'),
      { request: 'request_txn', request_txn: { compare: [{ key: b('a'), target: 0, result: 0, target_union: 'version', version: '0' }], success: [put('b', 'then')], failure: [put('b', 'else')] } },
    ],
  }));
  const nested = r.responses[1]!;
  assert.equal(nested.kind === 'txn' && nested.succeeded, true);
  assert.equal(Buffer.from(s.range(b('b'), undefined).kvs[0]!.value).toString(), 'then');
});

test('txn specs survive the Raft entry encoding', () => {
  const spec = txn({
    compare: [{ key: b('k\0\xff'), range_end: b('l'), target: 3, result: 3, target_union: 'value', value: b('v') }],
    success: [put('a', 'x', { lease: '12345678901234567', prev_kv: true }), del('b', { range_end: b('c') })],
    failure: [get('a', { limit: '3', sort_order: 2, sort_target: 4 }), { request: 'request_txn', request_txn: { success: [put('z', '')] } }, {}],
  });
  assert.deepEqual(specFromJson(JSON.parse(JSON.stringify(specToJson(spec)))), spec);
  const round = decodeRequest(encodeRequest({ id: 'x-1', body: { op: 'txn', txn: spec } }));
  assert.deepEqual(round, { id: 'x-1', body: { op: 'txn', txn: spec } });
});

test('duplicate keys and the op limit', () => {
  const dup = 'etcdserver: duplicate key given in txn request';
  assert.equal(msg(() => checkIntervals(txn({ success: [put('a', '1'), put('a', '2')] }).success)), dup);
  assert.equal(msg(() => checkIntervals(txn({ success: [del('a', { range_end: b('c') }), put('b', '2')] }).success)), dup);
  assert.equal(msg(() => checkIntervals(txn({ success: [del('a', { range_end: b('\0') }), put('b', '2')] }).success)), 'no error');
  assert.equal(msg(() => checkIntervals(txn({ success: [{ request: 'request_txn', request_txn: { success: [put('a', '1')], failure: [put('a', '2')] } }] }).success)), 'no error');
  assert.equal(msg(() => checkIntervals(txn({ success: [put('a', '0'), { request: 'request_txn', request_txn: { failure: [put('a', '2')] } }] }).success)), dup);
  const many = Array.from({ length: 5 }, (_, i) => put(`k${i}`, ''));
  assert.equal(msg(() => checkTxn(txn({ success: many }), 5)), 'no error');
  assert.equal(msg(() => checkTxn(txn({ success: [...many, put('x', '')] }), 5)), 'etcdserver: too many operations in txn request');
  assert.ok((() => { try { checkTxn(txn({ success: [{}] }), 5); } catch (e) { return e instanceof EtcdError && e.message === 'etcdserver: key not found'; } return false; })());
});
