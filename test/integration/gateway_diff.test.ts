/**
 * Differential test of the JSON gateway against real etcd 3.4 (Debian's /usr/bin/etcd): one etcd and one quorumd
 * on loopback (ports 29100-29104), the same HTTP requests sent to both, answers compared after removing what
 * differs by design (header IDs and terms, lease IDs the server chose, sizes, versions). Covers the KV, Lease,
 * Cluster, Maintenance and Auth endpoints, the JSON mapping (camelCase or snake_case names, 64-bit values as
 * numbers above 2^53 or strings, enums by name or number, base64), decoder errors with Go's messages, handler
 * errors (HTTP status, body, trailer), the prefixes etcd answers and the ones it does not, and the watch and
 * lease keep-alive streams chunk by chunk.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPair, type Pair } from './diff/harness.js';
import { b64, normalizeGw, openStream, post, request, type HttpAnswer, type RawStream } from './gateway_harness.js';
import { stopAll } from './quorumd_harness.js';

let pair: Pair;
let E: string;
let Q: string;

before(async () => {
  pair = await startPair(29100);
  E = pair.etcd.url;
  Q = pair.quorum.url;
});

after(async () => {
  await pair?.close();
  await stopAll();
});

/** What is compared of an answer: status, content type, the gRPC trailer, and the body (JSON normalized). */
function view(a: HttpAnswer, drop: string[]): unknown {
  let body: unknown = a.body;
  if (/json/.test(String(a.headers['content-type']))) {
    try {
      body = normalizeGw(JSON.parse(a.body), drop);
    } catch {
      /* compared as text */
    }
  }
  return { status: a.status, type: a.headers['content-type'], trailer: a.trailers['grpc-trailer-content-type'], body };
}

interface Step { label: string; path: string; body?: string; method?: string; drop?: string[]; headers?: Record<string, string> }

/** Send the same request to etcd then quorumd; assert equal views; return both answers. */
async function same(s: Step): Promise<[HttpAnswer, HttpAnswer]> {
  const send = (url: string) => request(url, s.method ?? 'POST', s.path, s.body, s.headers ?? {});
  const e = await send(E);
  const q = await send(Q);
  assert.deepEqual(view(q, s.drop ?? []), view(e, s.drop ?? []), `${s.label}: quorumd differs from etcd (etcd said ${e.status} ${e.body.slice(0, 300)})`);
  return [e, q];
}

const A = b64('a');
const B = b64('b');

test('KV: put, range, txn, deleterange, compaction, with etcd\'s JSON mapping', { timeout: 120_000 }, async () => {
  const steps: Step[] = [
    { label: 'put a=b', path: '/v3/kv/put', body: JSON.stringify({ key: A, value: B }) },
    { label: 'range a', path: '/v3/kv/range', body: JSON.stringify({ key: A }) },
    { label: 'v3beta prefix', path: '/v3beta/kv/range', body: JSON.stringify({ key: A }) },
    { label: 'camelCase keysOnly', path: '/v3/kv/range', body: `{"key":"${A}","keysOnly":true}` },
    { label: 'count_only', path: '/v3/kv/range', body: `{"key":"${A}","count_only":true}` },
    { label: 'put prev_kv', path: '/v3/kv/put', body: `{"key":"${A}","value":"${b64('c')}","prev_kv":true}` },
    { label: 'put k1', path: '/v3/kv/put', body: `{"key":"${b64('k1')}","value":"${b64('v1')}"}` },
    { label: 'put k2', path: '/v3/kv/put', body: `{"key":"${b64('k2')}","value":"${b64('v2')}"}` },
    { label: 'prefix range, sort by name', path: '/v3/kv/range', body: `{"key":"${b64('k')}","range_end":"${b64('l')}","sort_order":"DESCEND","sort_target":"KEY"}` },
    { label: 'sort by number', path: '/v3/kv/range', body: `{"key":"${b64('k')}","rangeEnd":"${b64('l')}","sort_order":2,"sort_target":0}` },
    { label: 'limit as number', path: '/v3/kv/range', body: `{"key":"${b64('k')}","range_end":"${b64('l')}","limit":1}` },
    { label: 'limit as string', path: '/v3/kv/range', body: `{"key":"${b64('k')}","range_end":"${b64('l')}","limit":"1"}` },
    { label: 'all keys from \\0', path: '/v3/kv/range', body: `{"key":"AA==","range_end":"AA==","keys_only":true}` },
    { label: 'at revision 2', path: '/v3/kv/range', body: `{"key":"${A}","revision":2}` },
    { label: 'unknown field ignored, null ignored', path: '/v3/kv/range', body: `{"key":"${A}","bogus":{"x":[1,2]},"limit":null}` },
    { label: 'empty body', path: '/v3/kv/range', body: '' },
    { label: 'no key', path: '/v3/kv/range', body: '{}' },
    { label: 'future revision', path: '/v3/kv/range', body: `{"key":"${A}","revision":"100"}` },
    { label: 'garbage', path: '/v3/kv/range', body: 'garbage' },
    { label: 'truncated', path: '/v3/kv/range', body: '{"key":' },
    { label: 'after key', path: '/v3/kv/range', body: '{"key" 1}' },
    { label: 'trailing data ignored', path: '/v3/kv/range', body: `{"key":"${A}"} xx` },
    { label: 'array body', path: '/v3/kv/range', body: '[]' },
    { label: 'bad enum name', path: '/v3/kv/range', body: `{"key":"${A}","sort_order":"BOGUS"}` },
    { label: 'unknown enum number', path: '/v3/kv/range', body: `{"key":"${A}","sort_order":7}` },
    { label: 'int64 overflow', path: '/v3/kv/range', body: `{"key":"${A}","limit":12345678901234567890}` },
    { label: 'int64 from bad string', path: '/v3/kv/range', body: `{"key":"${A}","limit":"abc"}` },
    { label: 'int64 fraction', path: '/v3/kv/range', body: `{"key":"${A}","limit":1.5}` },
    { label: 'bool from string', path: '/v3/kv/range', body: `{"key":"${A}","serializable":"true"}` },
    { label: 'base64 without padding', path: '/v3/kv/range', body: '{"key":"YQ"}' },
    { label: 'base64 short padding', path: '/v3/kv/range', body: '{"key":"YQ="}' },
    { label: 'base64 bad char', path: '/v3/kv/range', body: '{"key":"Y*=="}' },
    { label: 'string escapes in keys', path: '/v3/kv/range', body: '{"k\\u0065y":"YQ=="}' },
    {
      label: 'txn success with nested ops', path: '/v3/kv/txn',
      body: JSON.stringify({
        compare: [{ key: A, target: 'VALUE', result: 'EQUAL', value: b64('c') }],
        success: [{ request_range: { key: A } }, { requestPut: { key: b64('t'), value: b64('1'), prev_kv: true } }],
        failure: [{ request_delete_range: { key: A } }],
      }),
    },
    {
      label: 'txn failure branch, numeric enums', path: '/v3/kv/txn',
      body: JSON.stringify({ compare: [{ key: A, target: 0, result: 1, version: '100' }], failure: [{ request_range: { key: b64('t') } }] }),
    },
    { label: 'txn duplicate key', path: '/v3/kv/txn', body: JSON.stringify({ success: [{ request_put: { key: A } }, { request_put: { key: A } }] }) },
    { label: 'deleterange prev_kv', path: '/v3/kv/deleterange', body: JSON.stringify({ key: b64('t'), prev_kv: true }) },
    { label: 'deleterange nothing', path: '/v3/kv/deleterange', body: JSON.stringify({ key: b64('nothing') }) },
    { label: 'compaction', path: '/v3/kv/compaction', body: '{"revision":"3"}' },
    { label: 'compacted revision', path: '/v3/kv/range', body: `{"key":"${A}","revision":2}` },
    { label: 'compaction again', path: '/v3/kv/compaction', body: '{"revision":3,"physical":true}' },
    { label: 'compaction future', path: '/v3/kv/compaction', body: '{"revision":1000}' },
  ];
  for (const s of steps) await same(s);
});

test('prefixes, methods, /version, /health', { timeout: 60_000 }, async () => {
  await same({ label: 'v3alpha is 404', path: '/v3alpha/kv/range', body: `{"key":"${A}"}` });
  await same({ label: 'no HTTP mapping for hashkv', path: '/v3/maintenance/hashkv', body: '{}' });
  await same({ label: 'unknown v3 path', path: '/v3/kv/nothing', body: '{}' });
  await same({ label: 'GET on a POST route', path: '/v3/kv/range', method: 'GET' });
  await same({ label: 'OPTIONS (CORS preflight)', path: '/v3/kv/range', method: 'OPTIONS' });
  await same({ label: 'root path', path: '/', method: 'GET' });
  await same({ label: 'POST /version', path: '/version', method: 'POST', body: '{}' });
  await same({ label: 'health', path: '/health', method: 'GET' });
  await same({ label: 'version', path: '/version', method: 'GET', drop: ['etcdserver'] });
  const [e, q] = await same({ label: 'CORS headers', path: '/version', method: 'GET', drop: ['etcdserver'] });
  for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers']) assert.equal(q.headers[h], e.headers[h], h);
  assert.match(JSON.parse(q.body).etcdserver, /^3\.4\./);
  const m = await request(Q, 'GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body, /etcd_server_has_leader 1/);
});

test('Lease, Cluster, Maintenance endpoints', { timeout: 120_000 }, async () => {
  const ids = ['ID', 'member_id', 'cluster_id', 'leader'];
  await same({ label: 'grant with ID above 2^53 as a number', path: '/v3/lease/grant', body: '{"TTL":60,"ID":9007199254740993}' });
  await same({ label: 'grant with ID as string', path: '/v3/lease/grant', body: '{"TTL":"90","ID":"1000"}' });
  await same({ label: 'grant existing ID', path: '/v3/lease/grant', body: '{"TTL":60,"ID":1000}' });
  await same({ label: 'grant server-chosen', path: '/v3/lease/grant', body: '{"TTL":30}', drop: ['ID'] });
  await same({ label: 'put with lease', path: '/v3/kv/put', body: `{"key":"${b64('leased')}","value":"${B}","lease":"1000"}` });
  await same({ label: 'timetolive with keys', path: '/v3/lease/timetolive', body: '{"ID":1000,"keys":true}', drop: ['TTL'] });
  await same({ label: 'kv alias timetolive', path: '/v3/kv/lease/timetolive', body: '{"ID":"9007199254740993"}', drop: ['TTL'] });
  await same({ label: 'timetolive unknown', path: '/v3/lease/timetolive', body: '{"ID":5}' });
  const [el] = await same({ label: 'leases', path: '/v3/lease/leases', body: '{}', drop: ['leases'] });
  const [, ql] = await same({ label: 'kv alias leases', path: '/v3/kv/lease/leases', body: '{}', drop: ['leases'] });
  const idsOf = (a: HttpAnswer) => (JSON.parse(a.body).leases as { ID: string }[]).map((l) => l.ID).filter((x) => x.length < 17).sort();
  assert.deepEqual(idsOf(ql), idsOf(el));
  await same({ label: 'revoke', path: '/v3/lease/revoke', body: '{"ID":"1000"}' });
  await same({ label: 'leased key gone', path: '/v3/kv/range', body: `{"key":"${b64('leased')}"}` });
  await same({ label: 'kv alias revoke', path: '/v3/kv/lease/revoke', body: '{"ID":9007199254740993}' });
  await same({ label: 'revoke unknown', path: '/v3/lease/revoke', body: '{"ID":"5"}' });
  await same({ label: 'bad lease put', path: '/v3/kv/put', body: `{"key":"${A}","lease":5}` });

  // etcd 3.4's Cluster responses carry no header revision; quorumd's gRPC MemberList sets one (reported to the
  // Cluster service's owner): the header is left out of these comparisons
  const drop = [...ids, 'peerURLs', 'clientURLs', 'name', 'header'];
  const [ml] = await same({ label: 'member list', path: '/v3/cluster/member/list', body: '{}', drop });
  assert.equal(JSON.parse(ml.body).members.length, 1);
  await same({ label: 'member remove unknown', path: '/v3/cluster/member/remove', body: '{"ID":"12345"}' });
  await same({ label: 'member update unknown', path: '/v3/cluster/member/update', body: '{"ID":12345,"peerURLs":["http://127.0.0.1:1"]}' });
  await same({ label: 'member promote unknown', path: '/v3/cluster/member/promote', body: '{"ID":12345}' });

  await same({ label: 'status', path: '/v3/maintenance/status', body: '{}', drop: [...ids, 'version', 'dbSize', 'dbSizeInUse', 'raftIndex', 'raftTerm', 'raftAppliedIndex'] });
  await same({ label: 'alarm get', path: '/v3/maintenance/alarm', body: '{"action":"GET"}' });
  await same({ label: 'alarm get by number', path: '/v3/maintenance/alarm', body: '{"action":0,"alarm":"NONE"}' });
  // an alarm makes /health false (503) on both; writes then fail with NOSPACE until it is disarmed
  const memberOf = async (url: string) => String(JSON.parse((await post(url, '/v3/maintenance/status', '{}')).body).header.member_id);
  const alarmOn = { E: await memberOf(E), Q: await memberOf(Q) };
  const onEach = async (label: string, path: string, body: (member: string) => string, drop: string[] = []) => {
    const ae = await post(E, path, body(alarmOn.E));
    const aq = await post(Q, path, body(alarmOn.Q));
    assert.deepEqual(view(aq, drop), view(ae, drop), `${label}: quorumd differs from etcd (etcd said ${ae.status} ${ae.body.slice(0, 300)})`);
  };
  await onEach('alarm activate', '/v3/maintenance/alarm', (m) => `{"action":"ACTIVATE","memberID":"${m}","alarm":"NOSPACE"}`, ['memberID']);
  await same({ label: 'alarm list', path: '/v3/maintenance/alarm', body: '{"action":"GET"}', drop: ['memberID'] });
  await same({ label: 'health with an alarm', path: '/health', method: 'GET' });
  await same({ label: 'put under NOSPACE', path: '/v3/kv/put', body: `{"key":"${A}","value":"${B}"}` });
  await onEach('alarm deactivate', '/v3/maintenance/alarm', (m) => `{"action":"DEACTIVATE","memberID":${m},"alarm":1}`, ['memberID']);
  await same({ label: 'health after disarm', path: '/health', method: 'GET' });
  await same({ label: 'hash', path: '/v3/maintenance/hash', body: '{}', drop: ['hash'] });
  await same({ label: 'defragment', path: '/v3/maintenance/defragment', body: '{}' });
  await same({ label: 'move leader to nobody', path: '/v3/maintenance/transfer-leadership', body: '{"targetID":"1"}' });

  // snapshot: a stream of {"result": {...blob...}} messages, each followed by a newline (etcd's HTTP chunking of
  // large messages follows its write buffer, so messages are compared, not chunks)
  for (const url of [E, Q]) {
    const s = openStream(url, '/v3/maintenance/snapshot');
    s.endBody();
    await s.head();
    assert.equal(s.status, 200, url);
    let text = '';
    for (let c = await s.nextChunk(); c !== undefined; c = await s.nextChunk()) text += c;
    s.close();
    assert.ok(text.endsWith('\n'), `${url}: the last message ends with a newline`);
    const msgs = text.slice(0, -1).split('\n').map((l) => JSON.parse(l).result as Record<string, unknown>);
    assert.ok(msgs.length >= 1, `${url}: snapshot messages`);
    for (const m of msgs) assert.equal(typeof m.blob, 'string', `${url}: every message carries a blob`);
    assert.equal(msgs[msgs.length - 1]!.remaining_bytes, undefined, `${url}: the last message has remaining_bytes 0 (omitted)`);
    assert.ok(Buffer.concat(msgs.map((m) => Buffer.from(String(m.blob), 'base64'))).length > 0);
  }
});

/** Read `n` chunks from a stream, each parsed and normalized. */
async function chunks(s: RawStream, n: number, drop: string[] = []): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const c = await s.nextChunk();
    assert.ok(c !== undefined, `stream ended after ${i} of ${n} chunks`);
    assert.ok(c.endsWith('\n') && c.indexOf('\n') === c.length - 1, `one JSON message per chunk: ${JSON.stringify(c)}`);
    out.push(normalizeGw(JSON.parse(c), drop));
  }
  return out;
}

test('watch: a long-lived stream compared chunk by chunk', { timeout: 120_000 }, async () => {
  const open = (url: string) => {
    const s = openStream(url, '/v3/watch');
    s.send(JSON.stringify({ create_request: { key: b64('w/'), range_end: b64('w0'), prev_kv: true } }));
    return s;
  };
  const se = open(E);
  const sq = open(Q);
  const created = [await chunks(se, 1), await chunks(sq, 1)];
  assert.deepEqual(created[1], created[0], 'created');
  assert.equal((created[0]![0] as { result: { created?: boolean } }).result.created, true);
  const writes: Step[] = [
    { label: 'w/1', path: '/v3/kv/put', body: JSON.stringify({ key: b64('w/1'), value: b64('one') }) },
    { label: 'w/2', path: '/v3/kv/put', body: JSON.stringify({ key: b64('w/2'), value: b64('two') }) },
    { label: 'w/1 again', path: '/v3/kv/put', body: JSON.stringify({ key: b64('w/1'), value: b64('uno') }) },
    { label: 'outside', path: '/v3/kv/put', body: JSON.stringify({ key: b64('x'), value: b64('no') }) },
    { label: 'del w/', path: '/v3/kv/deleterange', body: JSON.stringify({ key: b64('w/'), range_end: b64('w0') }) },
  ];
  for (const w of writes) await same(w);
  // 3 puts + one delete revision (two events, one response)
  const ev = [await chunks(se, 4), await chunks(sq, 4)];
  assert.deepEqual(ev[1], ev[0], 'events');
  // a second watcher on the same stream, from history, with a client-chosen ID and a filter
  for (const s of [se, sq]) s.send(JSON.stringify({ create_request: { key: b64('w/1'), start_revision: 2, watch_id: 7, filters: ['NODELETE'] } }));
  const hist = [await chunks(se, 2), await chunks(sq, 2)];
  assert.deepEqual(hist[1], hist[0], 'second watcher: created, then its history');
  for (const s of [se, sq]) s.send('{"progress_request":{}}');
  const prog = [await chunks(se, 1), await chunks(sq, 1)];
  assert.deepEqual(prog[1], prog[0], 'progress');
  for (const s of [se, sq]) s.send('{"cancel_request":{"watch_id":"7"}}');
  const cancel = [await chunks(se, 1), await chunks(sq, 1)];
  assert.deepEqual(cancel[1], cancel[0], 'cancel');
  // the end of the request body does not end a watch stream (etcd keeps sending)
  for (const s of [se, sq]) s.endBody();
  await same({ label: 'after half-close', path: '/v3/kv/put', body: JSON.stringify({ key: b64('w/3'), value: b64('three') }) });
  const late = [await chunks(se, 1), await chunks(sq, 1)];
  assert.deepEqual(late[1], late[0], 'events after the request body ended');
  se.close();
  sq.close();

  // a first message that is not JSON: an error answer instead of a stream
  const bad = [openStream(E, '/v3/watch'), openStream(Q, '/v3/watch')];
  for (const s of bad) {
    s.send('xx');
    s.endBody();
  }
  const badAnswers: unknown[] = [];
  for (const s of bad) {
    await s.head();
    badAnswers.push({ status: s.status, body: await s.nextChunk() });
    s.close();
  }
  assert.deepEqual(badAnswers[1], badAnswers[0], 'undecodable first watch message');
});

test('lease keep-alive: a stream compared chunk by chunk, ending with the request body', { timeout: 60_000 }, async () => {
  await same({ label: 'grant 4242', path: '/v3/lease/grant', body: '{"TTL":120,"ID":4242}' });
  const se = openStream(E, '/v3/lease/keepalive');
  const sq = openStream(Q, '/v3/lease/keepalive');
  for (const body of ['{"ID":4242}', '{"ID":"4242"}', '{"ID":77}']) {
    for (const s of [se, sq]) s.send(body);
    const got = [await chunks(se, 1), await chunks(sq, 1)];
    assert.deepEqual(got[1], got[0], `keepalive ${body}`);
  }
  for (const s of [se, sq]) s.endBody();
  assert.equal(await se.nextChunk(), undefined, 'etcd ends the stream');
  assert.equal(await sq.nextChunk(), undefined, 'quorumd ends the stream');
  se.close();
  sq.close();
  await same({ label: 'revoke 4242', path: '/v3/lease/revoke', body: '{"ID":4242}' });
});

test('Auth: users, roles, authenticate, the token in the Authorization header', { timeout: 120_000 }, async () => {
  const steps: Step[] = [
    { label: 'enable without root', path: '/v3/auth/enable', body: '{}' },
    { label: 'add root', path: '/v3/auth/user/add', body: '{"name":"root","password":"rootpw"}' },
    { label: 'add root again', path: '/v3/auth/user/add', body: '{"name":"root","password":"rootpw"}' },
    { label: 'grant root role', path: '/v3/auth/user/grant', body: '{"user":"root","role":"root"}' },
    { label: 'add user alice', path: '/v3/auth/user/add', body: '{"name":"alice","password":"pw"}' },
    { label: 'add role r', path: '/v3/auth/role/add', body: '{"name":"r"}' },
    { label: 'grant perm', path: '/v3/auth/role/grant', body: JSON.stringify({ name: 'r', perm: { permType: 'READ', key: b64('p/'), range_end: b64('p0') } }) },
    { label: 'role get', path: '/v3/auth/role/get', body: '{"role":"r"}' },
    { label: 'alice gets r', path: '/v3/auth/user/grant', body: '{"user":"alice","role":"r"}' },
    { label: 'user get', path: '/v3/auth/user/get', body: '{"name":"alice"}' },
    { label: 'user list', path: '/v3/auth/user/list', body: '{}' },
    { label: 'role list', path: '/v3/auth/role/list', body: '{}' },
    { label: 'enable', path: '/v3/auth/enable', body: '{}' },
    { label: 'range without a token', path: '/v3/kv/range', body: `{"key":"${A}"}` },
    { label: 'wrong password', path: '/v3/auth/authenticate', body: '{"name":"alice","password":"nope"}' },
    { label: 'bad token', path: '/v3/kv/range', body: `{"key":"${A}"}`, headers: { Authorization: 'nonsense' } },
  ];
  for (const s of steps) await same(s);
  const [ea, qa] = await same({ label: 'authenticate alice', path: '/v3/auth/authenticate', body: '{"name":"alice","password":"pw"}', drop: ['token'] });
  const [er, qr] = await same({ label: 'authenticate root', path: '/v3/auth/authenticate', body: '{"name":"root","password":"rootpw"}', drop: ['token'] });
  const tok = (a: HttpAnswer) => String(JSON.parse(a.body).token);
  const withTok = async (label: string, path: string, body: string, e: HttpAnswer, q: HttpAnswer, drop: string[] = []) => {
    const ae = await post(E, path, body, { Authorization: tok(e) });
    const aq = await post(Q, path, body, { Authorization: tok(q) });
    assert.deepEqual(view(aq, drop), view(ae, drop), `${label}: quorumd differs from etcd (etcd said ${ae.status} ${ae.body.slice(0, 300)})`);
  };
  await withTok('alice reads p/ range', '/v3/kv/range', `{"key":"${b64('p/')}","range_end":"${b64('p0')}"}`, ea, qa);
  await withTok('alice may not write', '/v3/kv/put', `{"key":"${b64('p/1')}","value":"${B}"}`, ea, qa);
  await withTok('alice may not read a', '/v3/kv/range', `{"key":"${A}"}`, ea, qa);
  await withTok('alice may not list users', '/v3/auth/user/list', '{}', ea, qa);
  // a stream refused before its first message: status from the code, then etcd's stream error object
  await same({ label: 'snapshot without a token', path: '/v3/maintenance/snapshot', body: '{}' });
  await withTok('snapshot as a non-admin', '/v3/maintenance/snapshot', '{}', ea, qa);
  // a watch on a key alice may not read: created and canceled in-band, with etcd's cancel_reason
  const ws = [openStream(E, '/v3/watch', { Authorization: tok(ea) }), openStream(Q, '/v3/watch', { Authorization: tok(qa) })];
  for (const w of ws) w.send(JSON.stringify({ create_request: { key: A } }));
  const denied = [await chunks(ws[0]!, 1), await chunks(ws[1]!, 1)];
  assert.deepEqual(denied[1], denied[0], 'denied watch');
  assert.match(JSON.stringify(denied[0]), /permission denied/);
  for (const w of ws) w.close();
  await withTok('root reads a', '/v3/kv/range', `{"key":"${A}"}`, er, qr);
  await withTok('root changes a password', '/v3/auth/user/changepw', '{"name":"alice","password":"pw2"}', er, qr);
  await withTok('root revokes', '/v3/auth/role/revoke', JSON.stringify({ role: 'r', key: b64('p/'), range_end: b64('p0') }), er, qr);
  await withTok('root disables auth', '/v3/auth/disable', '{}', er, qr);
  for (const s of [
    { label: 'range after disable', path: '/v3/kv/range', body: `{"key":"${A}"}` },
    { label: 'revoke role', path: '/v3/auth/user/revoke', body: '{"name":"alice","role":"r"}' },
    { label: 'delete role', path: '/v3/auth/role/delete', body: '{"role":"r"}' },
    { label: 'delete alice', path: '/v3/auth/user/delete', body: '{"name":"alice"}' },
    { label: 'delete alice again', path: '/v3/auth/user/delete', body: '{"name":"alice"}' },
  ]) await same(s);
});
