import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntryV2, ENTRY_V2_MAGIC, EntryCodecError, encodeEntryV2, tryEncodeEntryV2 } from '../../../store/server/entry_codec.js';
import { MAX_TXN_DEPTH } from '../../../store/server/entry_codec_txn.js';
import { txnFromWire, type CompareSpec, type OpSpec, type TxnSpec } from '../../../store/server/kv_txn.js';
import { decodeRequest, encodeRequest, type Request } from '../../../store/server/request.js';
import { prng } from '../../helpers/prng.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s));
const EMPTY = new Uint8Array(0);

/** A compare-and-set txn as the bench's txn-cas workload sends it (compare VALUE equal, put on success). */
function casTxn(key: string, prev: Uint8Array, next: Uint8Array): TxnSpec {
  return txnFromWire({
    compare: [{ result: 0, target: 3, key: enc(key), target_union: 'value', value: prev }],
    success: [{ request: 'request_put', request_put: { key: enc(key), value: next } }],
    failure: [],
  });
}

/** Random TxnSpecs covering every op kind, compare union, flag and number field, with nested txns. */
function randomTxn(rnd: () => number, depth = 0): TxnSpec {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bytes = (max: number) => (rnd() < 0.3 ? new Uint8Array(0) : new Uint8Array(Math.floor(rnd() * max)).map(() => Math.floor(rnd() * 256)));
  const int = () => pick([0, 0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Math.floor(rnd() * 1e9)]);
  const i64 = () => pick([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(Math.floor(rnd() * 2 ** 48)) - 2n ** 47n]);
  const bool = () => rnd() < 0.5;
  const compare = (): CompareSpec => {
    const c: CompareSpec = { result: pick([0, 1, 2, 3, -1, 99]), target: pick([0, 1, 2, 3, 4]), key: bytes(40), rangeEnd: bytes(10), num: i64(), value: bytes(300) };
    const u = pick([undefined, 'version', 'create_revision', 'mod_revision', 'value', 'lease'] as const);
    if (u !== undefined) c.union = u;
    return c;
  };
  const op = (): OpSpec => {
    const k = depth < 3 ? pick(['empty', 'range', 'put', 'delete', 'txn'] as const) : pick(['empty', 'range', 'put', 'delete'] as const);
    switch (k) {
      case 'empty': return { kind: 'empty' };
      case 'range': return {
        kind: 'range', key: bytes(40), rangeEnd: bytes(40), limit: int(), revision: int(), sortOrder: int(), sortTarget: int(),
        serializable: bool(), keysOnly: bool(), countOnly: bool(), minModRevision: int(), maxModRevision: int(),
        minCreateRevision: int(), maxCreateRevision: int(),
      };
      case 'put': return { kind: 'put', key: bytes(40), value: bytes(rnd() < 0.05 ? 70_000 : 500), lease: i64(), prevKv: bool(), ignoreValue: bool(), ignoreLease: bool() };
      case 'delete': return { kind: 'delete', key: bytes(40), rangeEnd: bytes(40), prevKv: bool() };
      case 'txn': return randomTxn(rnd, depth + 1);
    }
  };
  const list = <T>(f: () => T, max: number) => Array.from({ length: Math.floor(rnd() * max) }, f);
  return { kind: 'txn', compare: list(compare, 4), success: list(op, 4), failure: list(op, 4) };
}

test('seeded random txns: v2 decodes to exactly the TxnOp the v1 form decodes to', () => {
  const rnd = prng(5_2026_1121);
  const hex = () => Array.from({ length: 12 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
  for (let i = 0; i < 600; i++) {
    const id = rnd() < 0.8 ? `${hex()}-${1 + Math.floor(rnd() * 2 ** 40)}` : `lease-runner-${i}`;
    const req: Request = { id, body: { op: 'txn', txn: randomTxn(rnd) } };
    const data = encodeRequest(req, { v2: true });
    assert.equal(data[0], ENTRY_V2_MAGIC, `case ${i}: written as v2`);
    const got = decodeRequest(data);
    assert.deepEqual(got, decodeRequest(encodeRequest(req)), `case ${i}: same as the v1 round trip`);
    assert.deepEqual(got, req, `case ${i}`);
  }
});

test('decoded txn byte arrays are fresh copies, not views into the entry', () => {
  const req: Request = { id: 'abcdef012345-1', body: { op: 'txn', txn: casTxn('key', enc('old'), enc('new')) } };
  const data = encodeEntryV2(req);
  const framed = new Uint8Array(data.length + 20);
  framed.set(data, 10);
  const got = decodeRequest(framed.subarray(10, 10 + data.length));
  framed.fill(0);
  assert.deepEqual(got, req);
  if (got.body.op !== 'txn') return assert.fail('not a txn');
  const put = got.body.txn.success[0]!;
  assert.equal(put.kind, 'put');
  if (put.kind === 'put') assert.equal(put.value.buffer.byteLength, 3);
  assert.equal(got.body.txn.compare[0]!.value.buffer.byteLength, 3);
});

test('a compare-and-set txn (16-byte key, 256-byte values) is much smaller as v2 than as v1', () => {
  const req: Request = { id: '0123456789ab-123456', body: { op: 'txn', txn: casTxn('bench/cas/000123', new Uint8Array(256).fill(0x61), new Uint8Array(256).fill(0x62)) } };
  const v1 = encodeRequest(req).length;
  const v2 = encodeRequest(req, { v2: true }).length;
  // header 3 + id 9 | nCompare 1, compare: flags 1, result 1, target 1, key 1+16, value 2+256 | nSuccess 1,
  // put: kind 1, flags 1, key 1+16, value 2+256 | nFailure 1
  assert.equal(v2, 12 + 1 + (3 + 17 + 258) + 1 + (2 + 17 + 258) + 1);
  assert.ok(v1 > v2 * 1.4, `v1 ${v1} bytes, v2 ${v2}`);
});

test('every truncation of a v2 txn entry throws EntryCodecError "truncated ..."', () => {
  const rnd = prng(77);
  for (let k = 0; k < 20; k++) {
    let data = encodeEntryV2({ id: 'abcdef012345-7', body: { op: 'txn', txn: randomTxn(rnd) } });
    while (data.length > 3000) data = encodeEntryV2({ id: 'abcdef012345-7', body: { op: 'txn', txn: randomTxn(rnd) } });
    for (let n = 1; n < data.length; n++) {
      assert.throws(() => decodeRequest(data.subarray(0, n)), (e: Error) => e instanceof EntryCodecError && /entry v2: truncated/.test(e.message), `txn ${k} cut at ${n} of ${data.length}`);
    }
  }
});

test('garbled v2 txn entries throw EntryCodecError naming the problem', () => {
  const data = encodeEntryV2({ id: 'abcdef012345-7', body: { op: 'txn', txn: casTxn('k', enc('a'), enc('b')) } });
  const at = (i: number, x: number) => { const d = new Uint8Array(data); d[i] = x; return d; };
  const throwsWith = (d: Uint8Array, re: RegExp) => assert.throws(() => decodeRequest(d), (e: Error) => e instanceof EntryCodecError && re.test(e.message), String(re));
  const body = 3 + 6 + 1; // header, compact id prefix, counter 7
  throwsWith(at(2, 0x03), /unknown flag bits 0x3/); // prevKv is not a txn flag
  throwsWith(at(body + 1, 0x46), /unknown compare flags 0x46/);
  throwsWith(at(body + 1, 0x07), /unknown compare flags 0x7/);
  // the success op's kind byte: after nCompare, compare (flags, result, target, key 1+1, value 1+1), nSuccess
  throwsWith(at(body + 1 + 7 + 1, 9), /unknown txn op kind 9/);
  throwsWith(at(body + 1 + 7 + 2, 0x10), /unknown put flags 0x10/);
  throwsWith(new Uint8Array([...data, 0]), /1 trailing bytes/);
  // nesting deeper than the limit
  const deep = [ENTRY_V2_MAGIC, 3, 0, 1, 0x78 /* id 'x' */, 0, 1];
  for (let i = 0; i < MAX_TXN_DEPTH; i++) deep.push(4, 0, 1);
  throwsWith(new Uint8Array(deep), /nested deeper than 64/);
});

test('v1 txn entries written by earlier releases still decode', () => {
  // as encodeRequest v1 writes a CAS txn (specToJson: bytes {"b": base64}, bigints {"n": decimal})
  const json = {
    v: 1, id: 'abc-9', op: 'txn', txn: {
      kind: 'txn',
      compare: [{ result: 0, target: 3, key: { b: 'aw==' }, rangeEnd: { b: '' }, num: { n: '0' }, value: { b: 'b2xk' }, union: 'value' }],
      success: [{ kind: 'put', key: { b: 'aw==' }, value: { b: 'bmV3' }, lease: { n: '0' }, prevKv: false, ignoreValue: false, ignoreLease: false }],
      failure: [{ kind: 'empty' }],
    },
  };
  const got = decodeRequest(enc(JSON.stringify(json)));
  const want = casTxn('k', enc('old'), enc('new'));
  want.failure.push({ kind: 'empty' });
  assert.deepEqual(got, { id: 'abc-9', body: { op: 'txn', txn: want } });
  // and the v1 writer still writes this form when the gate is closed
  assert.equal(String.fromCharCode(encodeRequest(got)[0]!), '{');
});

test('a txn v2 cannot represent exactly is written as v1 (never silently changed)', () => {
  const base = () => casTxn('k', enc('a'), enc('b'));
  const cases: [string, TxnSpec][] = [];
  const unsafe = base();
  unsafe.success.push({ kind: 'range', key: enc('a'), rangeEnd: EMPTY, limit: 2 ** 60, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 });
  cases.push(['unsafe integer', unsafe]);
  const fraction = base();
  fraction.compare[0]!.result = 0.5;
  cases.push(['fraction', fraction]);
  const big = base();
  big.compare[0]!.num = 2n ** 64n;
  cases.push(['int64 out of range', big]);
  let deep: TxnSpec = base();
  for (let i = 0; i < MAX_TXN_DEPTH; i++) deep = { kind: 'txn', compare: [], success: [deep], failure: [] };
  cases.push(['too deep', deep]);
  for (const [what, txn] of cases) {
    const req: Request = { id: 'abcdef012345-1', body: { op: 'txn', txn } };
    assert.equal(tryEncodeEntryV2(req), undefined, what);
    assert.throws(() => encodeEntryV2(req), EntryCodecError, what);
    const data = encodeRequest(req, { v2: true });
    assert.equal(String.fromCharCode(data[0]!), '{', what);
  }
  // one level less deep is fine
  let ok: TxnSpec = base();
  for (let i = 0; i < MAX_TXN_DEPTH - 1; i++) ok = { kind: 'txn', compare: [], success: [ok], failure: [] };
  const req: Request = { id: 'abcdef012345-1', body: { op: 'txn', txn: ok } };
  assert.deepEqual(decodeEntryV2(encodeEntryV2(req)), req);
});
