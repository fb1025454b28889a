/**
 * Leases against quorumd, differentially against a reference etcd 3.4 where responses can be compared:
 * raw Lease RPCs (client-chosen IDs, duplicate ID, minimum TTL, too large TTL, revoke unknown, time-to-live
 * with keys, unknown lease answers, leases list, put with an unknown lease), etcdctl 3.4's lease commands
 * (output shape), the npm etcd3 client's lease use, and expiry deleting keys with a DELETE watch event.
 * Ports 23100-23119 (this suite's range).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { StoreClient, StoreError } from '../../store/client/client.js';
import { etcdctl, quorumctl, stopAll, waitFor, type Member } from './quorumd_harness.js';
import { leaseCluster, startEtcd, waitReady } from './lease_util.js';

let q: Member;
let etcd: { url: string; stop: () => void };

before(async () => {
  [q] = leaseCluster(1, 23100);
  q.start();
  etcd = startEtcd(23110);
  await waitReady(q.clientUrl);
  await waitReady(etcd.url);
});

after(async () => {
  etcd?.stop();
  await stopAll();
});

type Norm = unknown;
/** Drop IDs/terms from headers; keep revision. */
function norm(v: any): Norm {
  if (Array.isArray(v)) return v.map(norm);
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'cluster_id' || k === 'member_id' || k === 'raft_term') continue;
      // etcd lists a lease's keys in Go map order (random): compare them as sets
      o[k] = k === 'keys' && Array.isArray(x) ? (norm(x) as string[]).sort() : norm(x);
    }
    return o;
  }
  return v;
}

async function call(c: StoreClient, method: string, req: unknown): Promise<Norm> {
  try {
    return norm(await c.unary('Lease', method, req));
  } catch (e) {
    if (e instanceof StoreError) return { code: e.code, error: e.details };
    throw e;
  }
}
async function kv(c: StoreClient, method: string, req: unknown): Promise<Norm> {
  try {
    return norm(await c.unary('KV', method, req));
  } catch (e) {
    if (e instanceof StoreError) return { code: e.code, error: e.details };
    throw e;
  }
}

async function keepAliveOnce(c: StoreClient, id: string): Promise<Norm> {
  const raw = c.rawClient('Lease') as any;
  return new Promise((resolve, reject) => {
    const s = raw.LeaseKeepAlive(c.metadata(), { deadline: Date.now() + 10_000 });
    s.on('data', (r: unknown) => {
      s.cancel();
      resolve(norm(r));
    });
    s.on('error', (e: any) => (e.code === 1 ? undefined : reject(e)));
    s.write({ ID: id });
  });
}

test('Lease RPCs answer as etcd 3.4 does (differential)', { timeout: 60_000 }, async () => {
  const script = async (c: StoreClient) => {
    const out: Record<string, Norm> = {};
    out.grant = await call(c, 'LeaseGrant', { TTL: '60', ID: String(0x1000) });
    out.grantDup = await call(c, 'LeaseGrant', { TTL: '60', ID: String(0x1000) });
    out.grantMin = await call(c, 'LeaseGrant', { TTL: '1', ID: String(0x1001) });
    out.grantLarge = await call(c, 'LeaseGrant', { TTL: '9000000001', ID: String(0x1002) });
    out.put1 = await kv(c, 'Put', { key: Buffer.from('lk2'), value: Buffer.from('v'), lease: String(0x1000) });
    out.put2 = await kv(c, 'Put', { key: Buffer.from('lk1'), value: Buffer.from('v'), lease: String(0x1000) });
    out.put3 = await kv(c, 'Put', { key: Buffer.from('lk3'), value: Buffer.from('v'), lease: String(0x1001) });
    out.putUnknown = await kv(c, 'Put', { key: Buffer.from('lk4'), value: Buffer.from('v'), lease: String(0x7777) });
    out.move = await kv(c, 'Put', { key: Buffer.from('lk3'), value: Buffer.from('v2'), lease: String(0x1000) });
    const ttl = (await call(c, 'LeaseTimeToLive', { ID: String(0x1000), keys: true })) as Record<string, unknown>;
    // the remaining TTL depends on timing: check its range, compare the rest
    assert.ok(Number(ttl.TTL) > 50 && Number(ttl.TTL) <= 60, `remaining ${ttl.TTL}`);
    out.ttl = { ...ttl, TTL: 'checked' };
    out.ttlNoKeys = { ...(await call(c, 'LeaseTimeToLive', { ID: String(0x1000), keys: false }) as object), TTL: 'checked' };
    out.ttlUnknown = await call(c, 'LeaseTimeToLive', { ID: String(0x4242), keys: true });
    const leases = (await call(c, 'LeaseLeases', {})) as { leases: { ID: string }[] };
    out.leases = leases.leases.map((l) => l.ID).sort();
    out.kaUnknown = await keepAliveOnce(c, String(0x4242));
    out.ka = await keepAliveOnce(c, String(0x1001));
    out.revoke = await call(c, 'LeaseRevoke', { ID: String(0x1000) });
    out.rangeAfter = await kv(c, 'Range', { key: Buffer.from('lk'), range_end: Buffer.from('ll') });
    out.revokeUnknown = await call(c, 'LeaseRevoke', { ID: String(0x1000) });
    out.ttlRevoked = await call(c, 'LeaseTimeToLive', { ID: String(0x1000), keys: true });
    out.revoke2 = await call(c, 'LeaseRevoke', { ID: String(0x1001) });
    return out;
  };
  const qc = new StoreClient(q.clientUrl, undefined, { timeoutMs: 10_000 });
  const ec = new StoreClient(etcd.url, undefined, { timeoutMs: 10_000 });
  try {
    const mine = await script(qc);
    const ref = await script(ec);
    assert.deepEqual(mine, ref);
    assert.deepEqual((ref as any).grantDup, { code: 9, error: 'etcdserver: lease already exists' });
    assert.deepEqual((ref as any).revokeUnknown, { code: 5, error: 'etcdserver: requested lease not found' });
  } finally {
    qc.close();
    ec.close();
  }
});

/** etcdctl's output with lease IDs and remaining TTLs normalized. */
function shape(s: string): string {
  return s
    .replace(/\b[0-9a-f]{16}\b/g, '<ID>')
    .replace(/remaining\(\d+s\)/g, 'remaining(Ns)')
    .replace(/"(cluster_id|member_id|raft_term|ID|id)":\d+/g, '"$1":0')
    .replace(/"ttl":\d+/g, '"ttl":N')
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, ks: string) => `attached keys([${ks.split(' ').sort().join(' ')}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_m, ks: string) => `"keys":[${ks.split(',').sort().join(',')}]`);
}

test('etcdctl 3.4 lease commands print the same shapes against quorumd and etcd; quorumctl prints them too', { timeout: 90_000 }, async () => {
  const session = async (endpoint: string, ctl: typeof etcdctl) => {
    const lines: string[] = [];
    const r = async (...args: string[]) => {
      const res = await ctl(['--endpoints', endpoint, ...args]);
      lines.push(`$ ${shape(args.join(' '))} -> ${res.code}\n${shape(res.stdout)}${shape(res.stderr.replace(/^\{.*\}\n/gm, ''))}`);
      return res;
    };
    const g = await r('lease', 'grant', '100');
    const id = /lease ([0-9a-f]{16}) granted/.exec(g.stdout)![1]!;
    await r('put', '--lease', id, 'ctl-a', '1');
    await r('put', '--lease', id, 'ctl-b', '2');
    await r('lease', 'timetolive', id);
    await r('lease', 'timetolive', '--keys', id);
    await r('-w', 'json', 'lease', 'timetolive', '--keys', id);
    await r('lease', 'keep-alive', '--once', id);
    await r('-w', 'json', 'lease', 'keep-alive', '--once', id);
    await r('lease', 'list');
    await r('lease', 'revoke', id);
    await r('lease', 'timetolive', id);
    await r('-w', 'json', 'lease', 'timetolive', id);
    await r('lease', 'revoke', id);
    await r('lease', 'keep-alive', id);
    await r('lease', 'keep-alive', '--once', id);
    await r('lease', 'revoke', 'zz');
    await r('lease', 'grant', 'x');
    await r('-w', 'json', 'lease', 'grant', '50');
    await r('lease', 'list');
    await r('-w', 'json', 'lease', 'list');
    const j = await ctl(['--endpoints', endpoint, 'lease', 'list']);
    for (const l of j.stdout.split('\n').slice(1).filter(Boolean)) await ctl(['--endpoints', endpoint, 'lease', 'revoke', l]);
    return lines.join('\n');
  };
  const ref = await session(etcd.url, etcdctl);
  const mine = await session(q.clientUrl, etcdctl);
  assert.equal(mine, ref);
  const ours = await session(q.clientUrl, quorumctl);
  // quorumctl runs third against the same quorumd: its revisions are further on
  const rev = (x: string) => x.replace(/"revision":\d+/g, '"revision":R');
  assert.equal(rev(ours), rev(ref));
});

test('the npm etcd3 client: lease grant, put with lease, keepalive, ttl, revoke', { timeout: 60_000 }, async () => {
  const client = new Etcd3({ hosts: q.clientUrl });
  try {
    const lease = client.lease(10, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('e3-a').value('1');
    await client.put('e3-b').value('2').lease(id);
    const ka = await lease.keepaliveOnce();
    assert.equal(String(ka.TTL), '10');
    const info = await (client as any).leaseClient.leaseTimeToLive({ ID: id, keys: true });
    assert.deepEqual(info.keys.map((k: Buffer) => k.toString()), ['e3-a', 'e3-b']);
    assert.equal(String(info.grantedTTL), '10');
    await lease.revoke();
    assert.equal(await client.get('e3-a').string(), null);
    assert.equal(await client.get('e3-b').string(), null);
    // auto keep-alive keeps a 3 s lease alive well past its TTL (the client renews every TTL/3)
    const live = client.lease(3);
    await live.grant();
    await live.put('e3-live').value('x');
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal(await client.get('e3-live').string(), 'x');
    await live.revoke();
  } finally {
    client.close();
  }
});

test('an expiring lease deletes its keys, with DELETE events on a watch', { timeout: 60_000 }, async () => {
  const client = new Etcd3({ hosts: q.clientUrl });
  try {
    const watcher = await client.watch().prefix('exp/').create();
    const deleted: string[] = [];
    const gotAll = new Promise<void>((resolve) => watcher.on('delete', (kv) => {
      deleted.push(kv.key.toString());
      if (deleted.length === 2) resolve();
    }));
    const lease = client.lease(2, { autoKeepAlive: false });
    await lease.grant();
    await lease.put('exp/a').value('1');
    await lease.put('exp/b').value('2');
    await client.put('exp/keep').value('3');
    await gotAll;
    assert.deepEqual(deleted.sort(), ['exp/a', 'exp/b']);
    assert.deepEqual(await client.getAll().prefix('exp/').keys(), ['exp/keep']);
    await waitFor('lease gone', async () => {
      const r = await etcdctl(['--endpoints', q.clientUrl, 'lease', 'list']);
      return r.stdout.startsWith('found 0 leases') ? true : undefined;
    }, 20_000);
    await watcher.cancel();
  } finally {
    client.close();
  }
});
