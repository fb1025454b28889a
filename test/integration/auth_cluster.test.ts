/**
 * Auth on a 3-member quorumd cluster: changes replicate through Raft, a token issued by one member is valid
 * on every member, a restarted member rebuilds users, roles and the enabled flag from its WAL (and keeps live
 * tokens), and checks quorumd makes beyond etcd 3.4 (nested Txn ops are checked).
 * Ports 28200-28208.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { etcdPackage } from '../../store/proto/load.js';
import { Member, stopAll, waitFor } from './quorumd_harness.js';

type Result = Record<string, any>;
const b = (s: string) => Buffer.from(s, 'latin1');

let members: Member[] = [];
const clients = new Map<string, grpc.Client>();

function client(m: Member, svc: 'KV' | 'Auth'): grpc.Client {
  const k = `${m.clientUrl}/${svc}`;
  let c = clients.get(k);
  if (!c) {
    const Ctor = etcdPackage()[svc] as grpc.ServiceClientConstructor;
    c = new Ctor(m.clientUrl.replace('http://', ''), grpc.credentials.createInsecure());
    clients.set(k, c);
  }
  return c;
}

/** One call; resolves to the response or `{ error: { code, message } }`. */
function call(m: Member, svc: 'KV' | 'Auth', method: string, req: unknown, token?: string): Promise<Result> {
  const c = client(m, svc) as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Result) => void) => void>;
  const md = new grpc.Metadata();
  if (token) md.set('token', token);
  return new Promise((resolve) => {
    c[method]!.call(c, req, md, { deadline: Date.now() + 20_000 }, (e, r) => resolve(e ? { error: { code: e.code, message: e.details } } : r));
  });
}

async function ok(m: Member, svc: 'KV' | 'Auth', method: string, req: unknown, token?: string): Promise<Result> {
  const r = await call(m, svc, method, req, token);
  assert.ok(!r.error, `${method} on ${m.name}: ${JSON.stringify(r.error)}`);
  return r;
}

before(async () => {
  const base = mkdtempSync(join(tmpdir(), 'quorum-auth-cluster-'));
  const url = (p: number) => `http://127.0.0.1:${p}`;
  const initialCluster = [0, 1, 2].map((i) => `m${i}=${url(28201 + 3 * i)}`).join(',');
  members = [0, 1, 2].map((i) => {
    const c = url(28200 + 3 * i), p = url(28201 + 3 * i), mt = url(28202 + 3 * i);
    const dir = join(base, `m${i}`);
    return new Member(`m${i}`, c, p, mt, dir, [
      '--name', `m${i}`, '--data-dir', dir, '--listen-client-urls', c, '--advertise-client-urls', c,
      '--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new', '--listen-metrics-urls', mt, '--initial-cluster-token', 'auth-test',
    ], join(base, `m${i}.log`));
  });
  for (const m of members) m.start();
  for (const m of members) {
    await waitFor(`${m.name} serving (logs in ${base})`, async () => !(await call(m, 'KV', 'Range', { key: b('x') })).error, 60_000, 250);
  }
});

after(async () => {
  for (const c of clients.values()) c.close();
  await stopAll();
});

test('tokens are valid on every member; auth state replicates and survives a restart', { timeout: 180_000 }, async () => {
  const [m0, m1, m2] = members as [Member, Member, Member];
  await ok(m0, 'Auth', 'UserAdd', { name: 'root', password: 'pw' });
  await ok(m1, 'Auth', 'RoleAdd', { name: 'root' });
  await ok(m2, 'Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await ok(m0, 'Auth', 'RoleAdd', { name: 'app' });
  await ok(m0, 'Auth', 'RoleGrantPermission', { name: 'app', perm: { permType: 2, key: b('/app/'), range_end: b('/app0') } });
  await ok(m1, 'Auth', 'UserAdd', { name: 'app', password: 'apppw' });
  await ok(m1, 'Auth', 'UserGrantRole', { user: 'app', role: 'app' });
  await ok(m2, 'Auth', 'AuthEnable', {});

  // a token issued through m0 works on m1 and m2 (the Authenticate entry is applied everywhere)
  const { token } = await ok(m0, 'Auth', 'Authenticate', { name: 'app', password: 'apppw' });
  assert.match(token, /^[A-Za-z]{16}\.\d+$/);
  await ok(m1, 'KV', 'Put', { key: b('/app/k'), value: b('v') }, token);
  const got = await ok(m2, 'KV', 'Range', { key: b('/app/k') }, token);
  assert.equal(got.kvs[0].value.toString(), 'v');
  assert.equal((await call(m2, 'KV', 'Range', { key: b('/other') }, token)).error?.message, 'etcdserver: permission denied');
  assert.equal((await call(m1, 'KV', 'Range', { key: b('/app/k') })).error?.message, 'etcdserver: user name is empty');

  // quorumd checks nested Txn ops (etcd 3.4 does not)
  const nested = await call(m0, 'KV', 'Txn', { success: [{ request_txn: { success: [{ request_put: { key: b('/other'), value: b('x') } }] } }] }, token);
  assert.equal(nested.error?.message, 'etcdserver: permission denied');

  // the npm etcd3 client's auth option (Authenticate, then the token on every call) works against quorumd
  const etcd3 = new Etcd3({ hosts: members.map((m) => m.clientUrl), auth: { username: 'app', password: 'apppw' } });
  try {
    await etcd3.put('/app/etcd3').value('yes');
    assert.equal(await etcd3.get('/app/etcd3').string(), 'yes');
    await assert.rejects(etcd3.put('/other').value('no').exec(), /permission denied/);
  } finally {
    etcd3.close();
  }

  // restart m1: users, roles and the enabled flag come back from the WAL; the live token still works there
  const { token: rootToken } = await ok(m2, 'Auth', 'Authenticate', { name: 'root', password: 'pw' });
  await m1.kill('SIGTERM');
  m1.start();
  // the token is re-issued by WAL replay (it is younger than the TTL), so m1 accepts it once it serves again
  const back = await waitFor('m1 back, accepting the token', async () => {
    const r = await call(m1, 'KV', 'Range', { key: b('/app/k') }, token);
    return r.error?.code === grpc.status.UNAVAILABLE ? undefined : r;
  }, 60_000, 250);
  assert.equal(back.error, undefined, `m1 after restart: ${JSON.stringify(back.error)}`);
  assert.equal((await call(m1, 'KV', 'Range', { key: b('/app/k') })).error?.message, 'etcdserver: user name is empty', 'still enabled');
  assert.deepEqual((await ok(m1, 'Auth', 'UserList', {}, rootToken)).users, ['app', 'root']);
  assert.deepEqual((await ok(m1, 'Auth', 'RoleGet', { role: 'app' }, rootToken)).perm.map((p: Result) => p.key.toString()), ['/app/']);

  // deleting the user on one member invalidates its token everywhere
  await ok(m1, 'Auth', 'UserDelete', { name: 'app' }, rootToken);
  for (const m of members) {
    await waitFor(`token revoked on ${m.name}`, async () =>
      (await call(m, 'KV', 'Range', { key: b('/app/k') }, token)).error?.message === 'etcdserver: invalid auth token', 20_000, 200);
  }
  await ok(m0, 'Auth', 'AuthDisable', {}, rootToken);
  await ok(m2, 'KV', 'Range', { key: b('/app/k') });
});
