import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntryV2, ENTRY_V2_MAGIC, EntryCodecError, encodeEntryV2 } from '../../../store/server/entry_codec.js';
import { entryV2Allowed } from '../../../store/server/entry_codec_gate.js';
import { decodeRequest, encodeRequest, type Request } from '../../../store/server/request.js';
import { encodeStateImage, encodeStateSnapshot, restoreStateSnapshot, type StateHost } from '../../../store/server/state_snapshot.js';
import type { MemberInfo } from '../../../store/server/members.js';
import { AuthStore } from '../../../store/auth/store.js';
import { Lessor } from '../../../store/lease/lessor.js';
import { AlarmStore } from '../../../store/server/alarm_store.js';
import { encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { prng } from '../../helpers/prng.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s));

/** Encodes as v2, checks the layout, decodes through decodeRequest, and compares with the v1 round trip. */
function roundTrip(req: Request): Request {
  const data = encodeRequest(req, { v2: true });
  assert.equal(data[0], ENTRY_V2_MAGIC);
  const got = decodeRequest(data);
  assert.deepEqual(got, req);
  assert.deepEqual(got, decodeRequest(encodeRequest(req))); // the same Request as the v1 form
  return got;
}

test('v2 put and delete round trip, including empty key/value, a large value, lease 0 / large / negative, prevKv', () => {
  roundTrip({ id: 'abcdef012345-1', body: { op: 'put', key: enc('k'), value: enc('v'), lease: 0n, prevKv: false } });
  roundTrip({ id: 'abcdef012345-99999999999', body: { op: 'put', key: new Uint8Array(0), value: new Uint8Array(0), lease: 0n, prevKv: true } });
  const big = new Uint8Array(1_500_000).map((_, i) => i * 7);
  roundTrip({ id: 'x', body: { op: 'put', key: enc('big'), value: big, lease: 0x7fff_ffff_ffff_ffffn, prevKv: false } });
  roundTrip({ id: 'lease-runner-7', body: { op: 'put', key: enc('k'), value: enc('v'), lease: 0x694d71ddbd4a8e0cn, prevKv: true } });
  roundTrip({ id: 'abcdef012345-3', body: { op: 'put', key: enc('k'), value: enc('v'), lease: -5n, prevKv: false } });
  roundTrip({ id: 'abcdef012345-4', body: { op: 'delete', key: enc('a'), rangeEnd: new Uint8Array(0), prevKv: false } });
  roundTrip({ id: '', body: { op: 'delete', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), prevKv: true } });
});

test('a put of a 16-byte key and a 256-byte value is 288 bytes as v2, 460 as v1', () => {
  const req: Request = { id: '0123456789ab-123456', body: { op: 'put', key: enc('key-000000000123'), value: new Uint8Array(256).fill(0x61), lease: 0n, prevKv: false } };
  const v1 = encodeRequest(req).length;
  const v2 = encodeRequest(req, { v2: true }).length;
  assert.equal(v2, 3 + 6 + 3 + 1 + 16 + 2 + 256 + 1); // header, compact id, key, value, lease 0
  assert.equal(v1, 460);
});

test('decoded keys and values are their own copies, not views into the entry', () => {
  const data = encodeRequest({ id: 'abcdef012345-1', body: { op: 'put', key: enc('key'), value: enc('value'), lease: 0n, prevKv: false } }, { v2: true });
  const framed = new Uint8Array(data.length + 20);
  framed.set(data, 10);
  const r = decodeRequest(framed.subarray(10, 10 + data.length));
  assert.equal(r.body.op, 'put');
  if (r.body.op !== 'put') return;
  assert.equal(r.body.key.byteOffset, 0);
  assert.equal(r.body.key.buffer.byteLength, 3);
  assert.equal(r.body.value.buffer.byteLength, 5);
  framed.fill(0);
  assert.equal(Buffer.from(r.body.value).toString(), 'value');
});

test('ops without a v2 layout stay JSON v1 even with v2 allowed', () => {
  const pub: Request = { id: 'p', body: { op: 'publish', memberId: 12n, name: 'm1', clientUrls: ['http://a:2379'], entryVersion: 2, refresh: true } };
  const data = encodeRequest(pub, { v2: true });
  assert.equal(String.fromCharCode(data[0]!), '{');
  assert.deepEqual(decodeRequest(data), pub);
  const compact: Request = { id: 'c', body: { op: 'compact', revision: 5, physical: false } };
  assert.deepEqual(decodeRequest(encodeRequest(compact, { v2: true })), compact);
});

test('v1 entries written by earlier releases still decode, and a v1 publish without entryVersion has none', () => {
  const put = enc(JSON.stringify({ v: 1, id: 'abc-1', op: 'put', key: 'a2V5', value: 'dmFs', lease: '7', prevKv: true }));
  assert.deepEqual(decodeRequest(put), { id: 'abc-1', body: { op: 'put', key: enc('key'), value: enc('val'), lease: 7n, prevKv: true } });
  const del = enc(JSON.stringify({ v: 1, id: 'abc-2', op: 'delete', key: 'YQ==', rangeEnd: 'Yg==', prevKv: false }));
  assert.deepEqual(decodeRequest(del), { id: 'abc-2', body: { op: 'delete', key: enc('a'), rangeEnd: enc('b'), prevKv: false } });
  const pub = enc(JSON.stringify({ v: 1, id: 'abc-3', op: 'publish', memberId: '5', name: 'n', clientUrls: ['u'] }));
  assert.deepEqual(decodeRequest(pub), { id: 'abc-3', body: { op: 'publish', memberId: 5n, name: 'n', clientUrls: ['u'] } });
});

test('seeded random v2 round trips', () => {
  const rnd = prng(20261121);
  const bytes = (max: number) => new Uint8Array(Math.floor(rnd() * max)).map(() => Math.floor(rnd() * 256));
  const hex = () => Array.from({ length: 12 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
  for (let i = 0; i < 2000; i++) {
    const id = rnd() < 0.8 ? `${hex()}-${1 + Math.floor(rnd() * 2 ** 40)}` : Buffer.from(bytes(20)).toString('hex');
    const lease = rnd() < 0.5 ? 0n : BigInt.asIntN(64, (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32)));
    const req: Request = rnd() < 0.7
      ? { id, body: { op: 'put', key: bytes(300), value: bytes(rnd() < 0.1 ? 70_000 : 600), lease, prevKv: rnd() < 0.5 } }
      : { id, body: { op: 'delete', key: bytes(40), rangeEnd: bytes(40), prevKv: rnd() < 0.5 } };
    assert.deepEqual(decodeEntryV2(encodeEntryV2(req)), req, `case ${i}`);
  }
});

test('a truncated or garbled v2 entry throws EntryCodecError naming the problem', () => {
  const data = encodeEntryV2({ id: 'abcdef012345-7', body: { op: 'put', key: enc('key'), value: new Uint8Array(300), lease: 99n, prevKv: false } });
  for (let n = 1; n < data.length; n++) {
    assert.throws(() => decodeRequest(data.subarray(0, n)), (e: Error) => e instanceof EntryCodecError && /entry v2: truncated/.test(e.message), `cut at ${n}`);
  }
  const bad = (mut: (d: Uint8Array) => Uint8Array, re: RegExp) => {
    const d = mut(new Uint8Array(data));
    assert.throws(() => decodeRequest(d), (e: Error) => e instanceof EntryCodecError && re.test(e.message));
  };
  bad((d) => { d[1] = 9; return d; }, /unknown op 9/);
  bad((d) => { d[2] = 0x80; return d; }, /unknown flag bits 0x80/);
  bad((d) => new Uint8Array([...d, 0]), /1 trailing bytes/);
  bad((d) => { d[3 + 6 + 1] = 0xff; return d; }, /truncated key: \d+ bytes announced/);
});

test('the gate opens only when every member (voters and learners) published entryVersion >= 2', () => {
  const m = (entryVersion?: number, isLearner = false) => ({ id: 1n, name: 'a', peerUrls: [], clientUrls: [], isLearner, ...(entryVersion !== undefined ? { entryVersion } : {}) });
  assert.equal(entryV2Allowed([m(2), m(2), m(2)]), true);
  assert.equal(entryV2Allowed([m(2), m(2), m()]), false);
  assert.equal(entryV2Allowed([m(2), m(2), m(2, true), m(undefined, true)]), false);
  assert.equal(entryV2Allowed([m(2), m(1)]), false);
  assert.equal(entryV2Allowed([]), false);
});

test('a state snapshot keeps each member\'s entryVersion through encode + restore; an older one has none', () => {
  const host = (members: MemberInfo[]): StateHost => ({ mvcc: new MvccStore(), lessor: new Lessor({ minTtl: 1 }), auth: new AuthStore(), members, removed: new Set(), alarms: new AlarmStore() });
  const src = host([
    { id: 1n, name: 'a', peerUrls: ['p'], clientUrls: ['c'], entryVersion: 2 },
    { id: 2n, name: 'b', peerUrls: ['q'], clientUrls: [], isLearner: true },
  ]);
  const dst = host([]);
  restoreStateSnapshot(dst, encodeStateSnapshot(src));
  assert.deepEqual(dst.members, src.members);
  // a snapshot written before entry encoding v2 has no entryVersion field: restored without one (gate closed)
  const old = encodeStateImage({ version: 1, leases: [], auth: new AuthStore().exportState(), removed: [], alarms: [],
    members: [{ id: '1', name: 'a', peerUrls: ['p'], clientUrls: ['c'], isLearner: false }] }, encodeMvccSnapshot(new MvccStore()));
  restoreStateSnapshot(dst, old);
  assert.deepEqual(dst.members, [{ id: 1n, name: 'a', peerUrls: ['p'], clientUrls: ['c'] }]);
});
