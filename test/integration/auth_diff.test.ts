/**
 * Differential test of auth: real etcd 3.4 and a single-member quorumd side by side (diff/harness.ts), the same
 * scripted gRPC sequence against both (users, roles, permissions, enable, tokens, allowed and denied
 * Range/Put/DeleteRange/Txn/Lease/Watch/Maintenance/Cluster calls, user delete, disable), responses compared
 * after normalization (headers keep only the revision; tokens and lease TTLs masked), errors included.
 * Ports 28100-28104.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../../store/proto/load.js';
import { b, normalize, startPair, type Pair } from './diff/harness.js';

type Svc = 'KV' | 'Auth' | 'Lease' | 'Maintenance' | 'Cluster' | 'Watch';
type Result = Record<string, unknown>;

/** gRPC clients to one server, with a token per call. */
class AuthClient {
  private readonly clients = new Map<Svc, grpc.Client>();
  constructor(private readonly addr: string) {}

  client(svc: Svc): grpc.Client {
    let c = this.clients.get(svc);
    if (!c) {
      const Ctor = etcdPackage()[svc] as grpc.ServiceClientConstructor;
      c = new Ctor(this.addr, grpc.credentials.createInsecure());
      this.clients.set(svc, c);
    }
    return c;
  }

  static md(token?: string): grpc.Metadata {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set('token', token);
    return md;
  }

  /** One unary call; errors become `{ error: { code, message } }`; tokens are masked. */
  call(svc: Svc, method: string, req: unknown, token?: string): Promise<Result> {
    const c = this.client(svc) as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Result) => void) => void>;
    return new Promise((resolve) => {
      c[method]!.call(c, req, AuthClient.md(token), { deadline: Date.now() + 20_000 }, (e, r) => {
        if (e) resolve({ error: { code: e.code, message: e.details } });
        else resolve(r);
      });
    });
  }

  /** Open a Watch stream, send the create requests one by one, collect `n` responses. */
  async watch(creates: Result[], n: number, token?: string): Promise<Result[]> {
    const c = this.client('Watch') as unknown as { Watch: (md: grpc.Metadata) => grpc.ClientDuplexStream<Result, Result> };
    const s = c.Watch(AuthClient.md(token));
    const got: Result[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`watch: only ${got.length} of ${n} responses`)), 20_000);
      s.on('data', (d: Result) => {
        got.push(d);
        if (got.length === n) {
          clearTimeout(t);
          resolve();
        }
      });
      s.on('error', () => undefined);
    });
    for (const cr of creates) s.write({ create_request: cr });
    try {
      await done;
    } finally {
      s.cancel();
    }
    return got;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** Normalize a result: headers keep the revision, tokens and leases' server-side details masked. */
function norm(r: Result): unknown {
  const n = normalize(r) as Result;
  if (typeof n.token === 'string') {
    assert.match(n.token, /^[A-Za-z]{16}\.\d+$/, 'simple token form <16 letters>.<index>');
    n.token = '<token>';
  }
  return n;
}

let pair: Pair;
let etcd: AuthClient;
let quorum: AuthClient;
/** The token each side issued for a user (different strings, same meaning). */
const tokens = new Map<string, { etcd: string; quorum: string }>();

before(async () => {
  pair = await startPair(28100);
  etcd = new AuthClient(pair.etcd.url.replace('http://', ''));
  quorum = new AuthClient(pair.quorum.url.replace('http://', ''));
});

after(async () => {
  etcd?.close();
  quorum?.close();
  await pair?.close();
});

/** Send to both (as `user`, via the token each side issued, or with a literal token); assert equal; return etcd's. */
async function both(label: string, svc: Svc, method: string, req: unknown, as?: { user?: string; token?: string }): Promise<Result> {
  const t = as?.user ? tokens.get(as.user) : undefined;
  if (as?.user && !t) throw new Error(`no token for ${as.user}`);
  const e = await etcd.call(svc, method, req, t ? t.etcd : as?.token);
  const q = await quorum.call(svc, method, req, t ? t.quorum : as?.token);
  assert.deepEqual(norm(q), norm(e), `${label}: quorumd differs from etcd`);
  return e;
}

async function login(user: string, password: string): Promise<void> {
  const e = await etcd.call('Auth', 'Authenticate', { name: user, password });
  const q = await quorum.call('Auth', 'Authenticate', { name: user, password });
  assert.deepEqual(norm(q), norm(e), `authenticate ${user}`);
  assert.equal(typeof e.token, 'string', `etcd issued a token for ${user}: ${JSON.stringify(e)}`);
  tokens.set(user, { etcd: e.token as string, quorum: q.token as string });
}

const perm = (permType: number, key: string, rangeEnd = '') => ({ permType, key: b(key), range_end: b(rangeEnd) });

test('auth management while disabled: errors and state', { timeout: 120_000 }, async () => {
  await both('authenticate while disabled', 'Auth', 'Authenticate', { name: 'root', password: 'pw' });
  await both('enable without root user', 'Auth', 'AuthEnable', {});
  await both('user add empty', 'Auth', 'UserAdd', { name: '', password: 'x' });
  await both('user add root', 'Auth', 'UserAdd', { name: 'root', password: 'pw' });
  await both('user add root again', 'Auth', 'UserAdd', { name: 'root', password: 'pw' });
  await both('enable without root role', 'Auth', 'AuthEnable', {});
  await both('role add empty', 'Auth', 'RoleAdd', { name: '' });
  await both('role add root', 'Auth', 'RoleAdd', { name: 'root' });
  await both('role add root again', 'Auth', 'RoleAdd', { name: 'root' });
  await both('grant to missing user', 'Auth', 'UserGrantRole', { user: 'nobody', role: 'root' });
  await both('grant missing role', 'Auth', 'UserGrantRole', { user: 'root', role: 'nope' });
  await both('grant root', 'Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await both('grant root again (no-op)', 'Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await both('role add r1', 'Auth', 'RoleAdd', { name: 'r1' });
  await both('grant rw prefix /a/', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(2, '/a/', '/a0') });
  await both('grant read /ro', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(0, '/ro') });
  await both('grant write from /w', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(1, '/w', '\0') });
  await both('grant write /ro (update type)', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(1, '/ro') });
  await both('grant read /ro back', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(0, '/ro') });
  await both('grant to missing role', 'Auth', 'RoleGrantPermission', { name: 'nope', perm: perm(0, '/x') });
  await both('grant then revoke /tmp', 'Auth', 'RoleGrantPermission', { name: 'r1', perm: perm(0, '/tmp') });
  await both('revoke /tmp', 'Auth', 'RoleRevokePermission', { role: 'r1', key: b('/tmp') });
  await both('revoke not granted', 'Auth', 'RoleRevokePermission', { role: 'r1', key: b('/zz') });
  await both('role get r1', 'Auth', 'RoleGet', { role: 'r1' });
  await both('role get missing', 'Auth', 'RoleGet', { role: 'nope' });
  await both('role add reader', 'Auth', 'RoleAdd', { name: 'reader' });
  await both('grant reader /a/', 'Auth', 'RoleGrantPermission', { name: 'reader', perm: perm(0, '/a/', '/a0') });
  await both('role list', 'Auth', 'RoleList', {});
  await both('user add alice', 'Auth', 'UserAdd', { name: 'alice', password: 'apw' });
  await both('user add bob', 'Auth', 'UserAdd', { name: 'bob', password: 'bpw' });
  await both('user add np (no password)', 'Auth', 'UserAdd', { name: 'np', password: '', options: { no_password: true } });
  await both('grant alice r1', 'Auth', 'UserGrantRole', { user: 'alice', role: 'r1' });
  await both('grant bob reader', 'Auth', 'UserGrantRole', { user: 'bob', role: 'reader' });
  await both('grant bob r1', 'Auth', 'UserGrantRole', { user: 'bob', role: 'r1' });
  await both('revoke bob r1', 'Auth', 'UserRevokeRole', { name: 'bob', role: 'r1' });
  await both('revoke not granted', 'Auth', 'UserRevokeRole', { name: 'bob', role: 'r1' });
  await both('revoke from missing user', 'Auth', 'UserRevokeRole', { name: 'nobody', role: 'r1' });
  await both('user get alice', 'Auth', 'UserGet', { name: 'alice' });
  await both('user get missing', 'Auth', 'UserGet', { name: 'nobody' });
  await both('user list', 'Auth', 'UserList', {});
  await both('role add tmp', 'Auth', 'RoleAdd', { name: 'tmp' });
  await both('grant np tmp', 'Auth', 'UserGrantRole', { user: 'np', role: 'tmp' });
  await both('role delete tmp (drops it from np)', 'Auth', 'RoleDelete', { role: 'tmp' });
  await both('user get np', 'Auth', 'UserGet', { name: 'np' });
  await both('role delete missing', 'Auth', 'RoleDelete', { role: 'tmp' });
  await both('user delete missing', 'Auth', 'UserDelete', { name: 'nobody' });
  await both('change password of missing user', 'Auth', 'UserChangePassword', { name: 'nobody', password: 'x' });
  await both('put /a/x', 'KV', 'Put', { key: b('/a/x'), value: b('1') });
  await both('put /ro', 'KV', 'Put', { key: b('/ro'), value: b('r') });
  await both('stale token while disabled', 'KV', 'Range', { key: b('/a/x') }, { token: 'abcdefghijklmnop.1' });
  await both('enable', 'Auth', 'AuthEnable', {});
});

test('auth enabled: tokens and key permissions', { timeout: 120_000 }, async () => {
  await both('enable again without token', 'Auth', 'AuthEnable', {});
  await both('authenticate bad password', 'Auth', 'Authenticate', { name: 'alice', password: 'nope' });
  await both('authenticate missing user', 'Auth', 'Authenticate', { name: 'nobody', password: 'x' });
  await both('authenticate no-password user', 'Auth', 'Authenticate', { name: 'np', password: '' });
  await login('root', 'pw');
  await login('alice', 'apw');
  await login('bob', 'bpw');
  await both('enable again as root (no-op)', 'Auth', 'AuthEnable', {}, { user: 'root' });

  await both('range without token', 'KV', 'Range', { key: b('/a/x') });
  await both('range with a bad token', 'KV', 'Range', { key: b('/a/x') }, { token: 'bogus' });
  await both('range alice /a/x', 'KV', 'Range', { key: b('/a/x') }, { user: 'alice' });
  await both('range alice prefix /a/', 'KV', 'Range', { key: b('/a/'), range_end: b('/a0') }, { user: 'alice' });
  await both('range alice prefix /a (wider)', 'KV', 'Range', { key: b('/a'), range_end: b('/b') }, { user: 'alice' });
  await both('range alice /b', 'KV', 'Range', { key: b('/b') }, { user: 'alice' });
  await both('range alice /ro', 'KV', 'Range', { key: b('/ro') }, { user: 'alice' });
  await both('range alice /w (write only)', 'KV', 'Range', { key: b('/w/1') }, { user: 'alice' });
  await both('range root everything', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { user: 'root' });
  await both('range alice everything', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { user: 'alice' });

  await both('put without token', 'KV', 'Put', { key: b('/a/y'), value: b('2') });
  await both('put alice /a/y', 'KV', 'Put', { key: b('/a/y'), value: b('2') }, { user: 'alice' });
  await both('put alice /ro', 'KV', 'Put', { key: b('/ro'), value: b('x') }, { user: 'alice' });
  await both('put alice /w/z (from-key write)', 'KV', 'Put', { key: b('/w/z'), value: b('z') }, { user: 'alice' });
  await both('put alice /zzz (from-key write)', 'KV', 'Put', { key: b('/zzz'), value: b('z') }, { user: 'alice' });
  await both('put alice /w/z prev_kv (needs read)', 'KV', 'Put', { key: b('/w/z'), value: b('z2'), prev_kv: true }, { user: 'alice' });
  await both('put bob /a/q (read only)', 'KV', 'Put', { key: b('/a/q'), value: b('q') }, { user: 'bob' });
  await both('range bob /a/', 'KV', 'Range', { key: b('/a/'), range_end: b('/a0') }, { user: 'bob' });

  await both('delete alice /a/y prev_kv', 'KV', 'DeleteRange', { key: b('/a/y'), prev_kv: true }, { user: 'alice' });
  await both('delete alice /ro', 'KV', 'DeleteRange', { key: b('/ro') }, { user: 'alice' });
  await both('delete alice /w/ range', 'KV', 'DeleteRange', { key: b('/w/'), range_end: b('/w0') }, { user: 'alice' });
  await both('delete alice /w/ range prev_kv (needs read)', 'KV', 'DeleteRange', { key: b('/w/'), range_end: b('/w0'), prev_kv: true }, { user: 'alice' });

  const cmp = (key: string) => ({ key: b(key), target: 0, result: 0, version: '1' });
  await both('txn compare on /b', 'KV', 'Txn', { compare: [cmp('/b')] }, { user: 'alice' });
  await both('txn allowed', 'KV', 'Txn', {
    compare: [cmp('/a/x')],
    success: [{ request_put: { key: b('/a/t'), value: b('t') } }],
    failure: [{ request_range: { key: b('/ro') } }],
  }, { user: 'alice' });
  await both('txn denied write in failure branch', 'KV', 'Txn', {
    compare: [cmp('/a/x')],
    success: [{ request_range: { key: b('/a/x') } }],
    failure: [{ request_put: { key: b('/ro'), value: b('x') } }],
  }, { user: 'alice' });
  await both('txn denied delete prev_kv on write-only range', 'KV', 'Txn', {
    success: [{ request_delete_range: { key: b('/w/'), range_end: b('/w0'), prev_kv: true } }],
  }, { user: 'alice' });
  await both('txn without token', 'KV', 'Txn', { success: [{ request_range: { key: b('/a/x') } }] });

  // management by a non-root user: only one's own user and one's own roles are readable
  await both('user list as alice', 'Auth', 'UserList', {}, { user: 'alice' });
  await both('user get self', 'Auth', 'UserGet', { name: 'alice' }, { user: 'alice' });
  await both('user get other', 'Auth', 'UserGet', { name: 'root' }, { user: 'alice' });
  await both('role get own role', 'Auth', 'RoleGet', { role: 'r1' }, { user: 'alice' });
  await both('role get other role', 'Auth', 'RoleGet', { role: 'root' }, { user: 'alice' });
  await both('role list as alice', 'Auth', 'RoleList', {}, { user: 'alice' });
  await both('change own password', 'Auth', 'UserChangePassword', { name: 'alice', password: 'x' }, { user: 'alice' });
  await both('user add without token', 'Auth', 'UserAdd', { name: 'eve', password: 'x' });
  await both('user list as root', 'Auth', 'UserList', {}, { user: 'root' });
  await both('role get root as root', 'Auth', 'RoleGet', { role: 'root' }, { user: 'root' });

  // admin-only maintenance (etcd 3.4 answers these with unconverted auth errors) and cluster changes
  await both('defragment as alice', 'Maintenance', 'Defragment', {}, { user: 'alice' });
  await both('defragment without token', 'Maintenance', 'Defragment', {});
  await both('hash as alice', 'Maintenance', 'Hash', {}, { user: 'alice' });
  await both('hashkv as alice', 'Maintenance', 'HashKV', { revision: '0' }, { user: 'alice' });
  await both('member add as alice', 'Cluster', 'MemberAdd', { peerURLs: ['http://127.0.0.1:28199'] }, { user: 'alice' });
  await both('member remove as alice', 'Cluster', 'MemberRemove', { ID: '1' }, { user: 'alice' });
  await both('member add without token', 'Cluster', 'MemberAdd', { peerURLs: ['http://127.0.0.1:28199'] });
});

test('auth enabled: leases and watches', { timeout: 120_000 }, async () => {
  await both('lease grant without token (allowed in 3.4)', 'Lease', 'LeaseGrant', { ID: '4242', TTL: '600' });
  await both('lease grant with a bad token', 'Lease', 'LeaseGrant', { ID: '4243', TTL: '600' }, { token: 'bogus' });
  await both('put alice /a/l with lease', 'KV', 'Put', { key: b('/a/l'), value: b('l'), lease: '4242' }, { user: 'alice' });
  await both('lease revoke by bob (cannot write /a/l)', 'Lease', 'LeaseRevoke', { ID: '4242' }, { user: 'bob' });
  await both('lease revoke without token', 'Lease', 'LeaseRevoke', { ID: '4242' });
  await both('put bob with the lease', 'KV', 'Put', { key: b('/w/b'), value: b('b'), lease: '4242' }, { user: 'bob' });
  await both('lease revoke by alice', 'Lease', 'LeaseRevoke', { ID: '4242' }, { user: 'alice' });

  const creates = [{ key: b('/zz'), watch_id: '7' }, { key: b('/a/'), range_end: b('/a0') }];
  const t = tokens.get('alice')!;
  const we = await etcd.watch(creates, 2, t.etcd);
  const wq = await quorum.watch(creates, 2, t.quorum);
  assert.deepEqual(normalize(wq[0]), normalize(we[0]), 'denied watch create answered as etcd');
  assert.equal(we[0]!.canceled, true);
  assert.equal(wq[1]!.created, true, 'allowed watch created');
  assert.equal(wq[1]!.canceled, false, 'allowed watch not canceled');
  const noTokenE = await etcd.watch([{ key: b('/a/x') }], 1);
  const noTokenQ = await quorum.watch([{ key: b('/a/x') }], 1);
  assert.deepEqual(normalize(noTokenQ[0]), normalize(noTokenE[0]), 'watch without token');
  const badE = await etcd.watch([{ key: b('/a/x') }], 1, 'bogus.1');
  const badQ = await quorum.watch([{ key: b('/a/x') }], 1, 'bogus.1');
  assert.deepEqual(normalize(badQ[0]), normalize(badE[0]), 'watch with a bad token');
  const rootE = await etcd.watch([{ key: b('\0'), range_end: b('\0') }], 1, tokens.get('root')!.etcd);
  const rootQ = await quorum.watch([{ key: b('\0'), range_end: b('\0') }], 1, tokens.get('root')!.quorum);
  assert.equal(rootE[0]!.canceled, false);
  assert.equal(rootQ[0]!.canceled, false, 'root may watch everything');
});

test('auth enabled: deleting users, root protection, disable', { timeout: 120_000 }, async () => {
  await both('delete root while enabled', 'Auth', 'UserDelete', { name: 'root' }, { user: 'root' });
  await both('delete role root while enabled', 'Auth', 'RoleDelete', { role: 'root' }, { user: 'root' });
  await both('revoke root from root while enabled', 'Auth', 'UserRevokeRole', { name: 'root', role: 'root' }, { user: 'root' });
  await both('change bob password', 'Auth', 'UserChangePassword', { name: 'bob', password: 'b2' }, { user: 'root' });
  await both('bob old token is invalid', 'KV', 'Range', { key: b('/a/x') }, { user: 'bob' });
  await both('authenticate bob old password', 'Auth', 'Authenticate', { name: 'bob', password: 'bpw' });
  await login('bob', 'b2');
  await both('bob reads with new token', 'KV', 'Range', { key: b('/a/x') }, { user: 'bob' });
  await both('delete alice', 'Auth', 'UserDelete', { name: 'alice' }, { user: 'root' });
  await both('alice token is invalid', 'KV', 'Range', { key: b('/a/x') }, { user: 'alice' });
  await both('disable as bob', 'Auth', 'AuthDisable', {}, { user: 'bob' });
  await both('disable as root', 'Auth', 'AuthDisable', {}, { user: 'root' });
  await both('root token invalid after disable', 'KV', 'Range', { key: b('/a/x') }, { user: 'root' });
  await both('range without token after disable', 'KV', 'Range', { key: b('/a/x') });
  await both('disable again (no-op)', 'Auth', 'AuthDisable', {});
  await both('user list after disable', 'Auth', 'UserList', {});
});
