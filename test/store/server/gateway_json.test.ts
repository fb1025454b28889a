/**
 * Unit tests of the gateway's JSON side (store/server/gateway_json.ts) and of the protocol sniffing on the client
 * listener (store/server/gateway_sniff.ts). Expected error strings are the ones etcd 3.4.23's gateway answered
 * for the same inputs (Go's encoding/json, encoding/base64 and jsonpb messages).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { decodeBase64Strict, GatewayDecodeError, JsonNumber, JsonReader, messageFromJson, messageToJson } from '../../../store/server/gateway_json.js';
import { H2_PREFACE, sniffConnection } from '../../../store/server/gateway_sniff.js';

const decodeErr = (fn: () => unknown, msg: string) => assert.throws(fn, (e: unknown) => e instanceof GatewayDecodeError && e.message === msg, msg);

test('JsonReader keeps number literals exact and reads one value at a time', () => {
  const r = new JsonReader(' {"a":18446744073709551615,"b":[1,-2.5e3],"c":"x\\u00e9\\n"} {"d":null} ');
  const v = r.next() as Record<string, unknown>;
  assert.deepEqual(v.a, new JsonNumber('18446744073709551615'));
  assert.deepEqual(v.b, [new JsonNumber('1'), new JsonNumber('-2.5e3')]);
  assert.equal(v.c, 'x\u00e9\n');
  assert.deepEqual(r.next(), { d: null });
  assert.equal(r.next(), undefined);
});

test('JsonReader reports Go\'s scanner errors', () => {
  decodeErr(() => new JsonReader('garbage').next(), "invalid character 'g' looking for beginning of value");
  decodeErr(() => new JsonReader('{"key":').next(), 'unexpected EOF');
  decodeErr(() => new JsonReader('{"key" 1}').next(), "invalid character '1' after object key");
  decodeErr(() => new JsonReader('{"a":1 "b":2}').next(), "invalid character '\"' after object key:value pair");
  decodeErr(() => new JsonReader('{a:1}').next(), "invalid character 'a' looking for beginning of object key string");
  decodeErr(() => new JsonReader('[1 2]').next(), "invalid character '2' after array element");
  decodeErr(() => new JsonReader('tru').next(), 'unexpected EOF');
  decodeErr(() => new JsonReader('{"a":"\\q"}').next(), "invalid character 'q' in string escape code");
});

test('base64 as Go\'s StdEncoding decodes it, with its error positions', () => {
  assert.equal(decodeBase64Strict('YWJj').toString(), 'abc');
  assert.equal(decodeBase64Strict('YQ==').toString(), 'a');
  assert.equal(decodeBase64Strict('YWI=').toString(), 'ab');
  assert.equal(decodeBase64Strict('').length, 0);
  decodeErr(() => decodeBase64Strict('YQ'), 'illegal base64 data at input byte 0');
  decodeErr(() => decodeBase64Strict('YQ='), 'illegal base64 data at input byte 3');
  decodeErr(() => decodeBase64Strict('Y*=='), 'illegal base64 data at input byte 1');
  decodeErr(() => decodeBase64Strict('YQ==YQ=='), 'illegal base64 data at input byte 4');
  decodeErr(() => decodeBase64Strict('Y==='), 'illegal base64 data at input byte 1');
});

test('requests: snake_case or lowerCamel names, 64-bit as numbers or strings, enums by name or number', () => {
  const req = messageFromJson('etcdserverpb.RangeRequest', new JsonReader(
    '{"key":"YQ==","rangeEnd":"Yg==","limit":"9007199254740993","revision":9007199254740993,"sort_order":"DESCEND","sort_target":3,"keys_only":true,"bogus":1,"count_only":null}',
  ).next()!);
  assert.deepEqual(req, {
    key: Buffer.from('a'), range_end: Buffer.from('b'), limit: '9007199254740993', revision: '9007199254740993', sort_order: 2, sort_target: 3, keys_only: true,
  });
  const txn = messageFromJson('etcdserverpb.TxnRequest', new JsonReader('{"compare":[{"target":"LEASE","result":"NOT_EQUAL","lease":"7"}],"success":[{"requestPut":{"key":"YQ=="}}]}').next()!);
  assert.deepEqual(txn, { compare: [{ target: 4, result: 3, lease: '7' }], success: [{ request_put: { key: Buffer.from('a') } }] });
  const perm = messageFromJson('etcdserverpb.AuthRoleGrantPermissionRequest', new JsonReader('{"name":"r","perm":{"permType":"READWRITE","key":"YQ=="}}').next()!);
  assert.deepEqual(perm, { name: 'r', perm: { permType: 2, key: Buffer.from('a') } });
  const member = messageFromJson('etcdserverpb.MemberRemoveRequest', new JsonReader('{"ID":18446744073709551615}').next()!);
  assert.equal(member.ID, '18446744073709551615', 'uint64 up to 2^64-1, exact');
});

test('requests: Go\'s type errors', () => {
  const parse = (full: string, text: string) => () => messageFromJson(full, new JsonReader(text).next()!);
  decodeErr(parse('etcdserverpb.RangeRequest', '[]'), 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
  decodeErr(parse('etcdserverpb.RangeRequest', '{"limit":12345678901234567890}'), 'json: cannot unmarshal number 12345678901234567890 into Go value of type int64');
  decodeErr(parse('etcdserverpb.RangeRequest', '{"limit":1.5}'), 'json: cannot unmarshal number 1.5 into Go value of type int64');
  decodeErr(parse('etcdserverpb.RangeRequest', '{"limit":"abc"}'), "invalid character 'a' looking for beginning of value");
  decodeErr(parse('etcdserverpb.RangeRequest', '{"serializable":"true"}'), 'json: cannot unmarshal string into Go value of type bool');
  decodeErr(parse('etcdserverpb.RangeRequest', '{"sort_order":"BOGUS"}'), 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder');
  decodeErr(parse('etcdserverpb.WatchRequest', '{"create_request":{"filters":["NOPE"]}}'), 'unknown value "NOPE" for enum etcdserverpb.WatchCreateRequest_FilterType');
  decodeErr(parse('etcdserverpb.LeaseGrantRequest', '{"ID":18446744073709551615}'), 'json: cannot unmarshal number 18446744073709551615 into Go value of type int64');
});

test('responses: proto names, defaults omitted, bytes base64, 64-bit as strings, enums by name', () => {
  const out = messageToJson('etcdserverpb.WatchResponse', {
    header: { cluster_id: '18446744073709551615', member_id: '1', revision: '0', raft_term: '2' },
    watch_id: '0', created: false, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false,
    events: [
      { type: 0, kv: { key: Buffer.from('a'), create_revision: '2', mod_revision: '2', version: '1', value: Buffer.from('b'), lease: '0' }, prev_kv: null },
      { type: 1, kv: { key: Buffer.from('a'), create_revision: '0', mod_revision: '3', version: '0', value: Buffer.alloc(0), lease: '0' }, prev_kv: null },
    ],
  });
  assert.equal(JSON.stringify(out), JSON.stringify({
    header: { cluster_id: '18446744073709551615', member_id: '1', raft_term: '2' },
    events: [
      { kv: { key: 'YQ==', create_revision: '2', mod_revision: '2', version: '1', value: 'Yg==' } },
      { type: 'DELETE', kv: { key: 'YQ==', mod_revision: '3' } },
    ],
  }));
  // 32-bit integers stay numbers (HashResponse.hash is uint32)
  assert.deepEqual(messageToJson('etcdserverpb.HashResponse', { header: null, hash: 807528688 }), { hash: 807528688 });
  assert.deepEqual(messageToJson('etcdserverpb.AlarmResponse', { header: null, alarms: [{ memberID: '5', alarm: 1 }] }), { alarms: [{ memberID: '5', alarm: 'NOSPACE' }] });
});

/** Start a listener that sniffs; report which side got each connection and what it read. */
async function sniffServer(): Promise<{ port: number; got: Promise<{ side: string; data: string }>; close: () => void }> {
  let resolve: (v: { side: string; data: string }) => void = () => undefined;
  const got = new Promise<{ side: string; data: string }>((r) => (resolve = r));
  const read = (side: string, s: Duplex) => {
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.endsWith('END')) resolve({ side, data });
    });
    s.resume(); // the gRPC side gets the socket paused (its consumer resumes it when it reads)
  };
  const server = net.createServer((sock) => sniffConnection(sock, (s) => read('grpc', s), (s) => read('http', s)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, got, close: () => server.close() };
}

test('sniffing: the HTTP/2 preface goes to gRPC, anything else to the gateway, bytes intact even when split', { timeout: 30_000 }, async () => {
  for (const [pieces, side] of [
    [[H2_PREFACE.toString('latin1') + 'frames END'], 'grpc'],
    [['PRI * HT', 'TP/2.0\r\n\r\nSM\r\n\r\nmore END'], 'grpc'],
    [['POST /v3/kv/range HTTP/1.1\r\n\r\nEND'], 'http'],
    [['P', 'RX', 'Y END'], 'http'],
  ] as [string[], string][]) {
    const srv = await sniffServer();
    const c = net.connect(srv.port, '127.0.0.1');
    await new Promise<void>((r) => c.once('connect', () => r()));
    for (const p of pieces) {
      c.write(p);
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = await srv.got;
    assert.equal(got.side, side, pieces.join('|'));
    assert.equal(got.data, pieces.join(''));
    c.destroy();
    srv.close();
  }
});
