/**
 * Unit tests of store/auth: permission intervals (single keys, ranges, prefixes, "\0" from-key forms, unions),
 * the store's management rules and errors (etcd 3.4 semantics), enable preconditions, admin checks, tokens.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError } from '../../../store/auth/errors.js';
import { hashPassword, verifyPassword } from '../../../store/auth/password.js';
import { covers, permits, PermType, type Permission } from '../../../store/auth/perm.js';
import { AuthStore, type AuthOp } from '../../../store/auth/store.js';
import { SimpleTokens, tokenIndex } from '../../../store/auth/tokens.js';

const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const p = (permType: PermType, key: string, rangeEnd = ''): Permission => ({ permType, key: b(key), rangeEnd: b(rangeEnd) });
const R = PermType.READ;
const W = PermType.WRITE;

/** The etcd message of what `fn` throws (AuthError expected). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AuthError, `expected AuthError, got ${String(e)}`);
    return e.message;
  }
  return 'ok';
}

test('permits: single-key permission', () => {
  const perms = [p(R, '/k')];
  assert.equal(permits(perms, R, b('/k'), b('')), true);
  assert.equal(permits(perms, R, b('/k0'), b('')), false);
  assert.equal(permits(perms, R, b('/j'), b('')), false);
  assert.equal(permits(perms, W, b('/k'), b('')), false, 'READ does not grant WRITE');
  // a range request of exactly the key: [/k, /k\0)
  assert.equal(permits(perms, R, b('/k'), b('/k\0')), true);
  assert.equal(permits(perms, R, b('/k'), b('/l')), false);
});

test('permits: prefix and ranges, READWRITE grants both', () => {
  const perms = [p(PermType.READWRITE, '/a/', '/a0')];
  for (const want of [R, W] as const) {
    assert.equal(permits(perms, want, b('/a/x'), b('')), true);
    assert.equal(permits(perms, want, b('/a/'), b('/a0')), true, 'the whole prefix');
    assert.equal(permits(perms, want, b('/a/b'), b('/a/c')), true, 'a sub-range');
    assert.equal(permits(perms, want, b('/a'), b('/a0')), false, 'starts before the grant');
    assert.equal(permits(perms, want, b('/a/'), b('/b')), false, 'ends after the grant');
    assert.equal(permits(perms, want, b('/a0'), b('')), false, 'range_end is exclusive');
    assert.equal(permits(perms, want, b('/a/'), b('\0')), false, 'from-key is unbounded');
  }
});

test('permits: "\\0" range_end means every key from key on', () => {
  const perms = [p(W, '/w', '\0')];
  assert.equal(permits(perms, W, b('/w'), b('')), true);
  assert.equal(permits(perms, W, b('\xff\xff'), b('')), true);
  assert.equal(permits(perms, W, b('/v'), b('')), false);
  assert.equal(permits(perms, W, b('/x'), b('\0')), true, 'from-key inside from-key');
  assert.equal(permits(perms, W, b('/v'), b('\0')), false);
  const all = [p(R, '\0', '\0')];
  assert.equal(permits(all, R, b('\0'), b('\0')), true, 'get --from-key "" needs all keys');
  assert.equal(permits(all, R, b('a'), b('')), true);
});

test('permits: the union of several grants covers a range only without gaps', () => {
  const perms = [p(R, 'a', 'c'), p(R, 'c', 'e'), p(R, 'd', 'g')];
  assert.equal(permits(perms, R, b('a'), b('g')), true, 'adjacent and overlapping');
  assert.equal(permits(perms, R, b('b'), b('f')), true);
  assert.equal(permits(perms, R, b('a'), b('h')), false, 'past the end');
  const gap = [p(R, 'a', 'c'), p(R, 'd', 'g')];
  assert.equal(permits(gap, R, b('a'), b('g')), false, 'gap [c, d)');
  assert.equal(permits(gap, R, b('c'), b('')), false);
  const points = [p(R, 'k'), p(R, 'k\0', 'm')];
  assert.equal(permits(points, R, b('k'), b('m')), true, 'a single key joins the next range');
  assert.equal(permits([p(R, 'z', 'a')], R, b('z'), b('')), false, 'an inverted grant grants nothing');
  assert.equal(covers([], { begin: b('a'), end: b('b') }), false);
});

async function mkStore(): Promise<{ s: AuthStore; apply: (op: AuthOp) => string }> {
  const s = new AuthStore();
  let index = 10;
  const apply = (op: AuthOp) => errorOf(() => s.apply(op, index++));
  return { s, apply };
}

test('store: management errors as etcd 3.4', async () => {
  const { s, apply } = await mkStore();
  assert.equal(apply({ op: 'authEnable' }), 'etcdserver: root user does not exist');
  assert.equal(apply({ op: 'authUserAdd', name: '', noPassword: true }), 'etcdserver: user name is empty');
  assert.equal(apply({ op: 'authUserAdd', name: 'root', password: await hashPassword('pw'), noPassword: false }), 'ok');
  assert.equal(apply({ op: 'authUserAdd', name: 'root', noPassword: true }), 'etcdserver: user name already exists');
  assert.equal(apply({ op: 'authEnable' }), 'etcdserver: root user does not have root role');
  assert.equal(apply({ op: 'authRoleAdd', name: '' }), 'etcdserver: role name is empty');
  assert.equal(apply({ op: 'authUserGrantRole', user: 'root', role: 'nope' }), 'etcdserver: role name not found');
  assert.equal(apply({ op: 'authUserGrantRole', user: 'nobody', role: 'root' }), 'etcdserver: user name not found');
  assert.equal(apply({ op: 'authUserGrantRole', user: 'root', role: 'root' }), 'ok', 'role root needs no RoleAdd');
  assert.equal(apply({ op: 'authRoleAdd', name: 'r' }), 'ok');
  assert.equal(apply({ op: 'authRoleAdd', name: 'r' }), 'etcdserver: role name already exists');
  assert.equal(apply({ op: 'authUserRevokeRole', name: 'root', role: 'r' }), 'etcdserver: role is not granted to the user');
  assert.equal(apply({ op: 'authRoleRevokePermission', role: 'r', key: b('x'), rangeEnd: b('') }), 'etcdserver: permission is not granted to the role');
  assert.equal(apply({ op: 'authRoleRevokePermission', role: 'nope', key: b('x'), rangeEnd: b('') }), 'etcdserver: role name not found');
  assert.equal(apply({ op: 'authUserDelete', name: 'nobody' }), 'etcdserver: user name not found');
  assert.equal(apply({ op: 'authenticate', name: 'root', prefix: 'p', issuedAt: Date.now() }), 'etcdserver: authentication is not enabled');
  const rev = s.revision();
  assert.equal(apply({ op: 'authUserGrantRole', user: 'root', role: 'root' }), 'ok');
  assert.equal(s.revision(), rev, 'granting a held role changes nothing');
  assert.equal(apply({ op: 'authEnable' }), 'ok');
  assert.equal(s.isEnabled(), true);
  assert.equal(apply({ op: 'authUserDelete', name: 'root' }), 'etcdserver: invalid auth management');
  assert.equal(apply({ op: 'authRoleDelete', role: 'root' }), 'etcdserver: invalid auth management');
  assert.equal(apply({ op: 'authUserRevokeRole', name: 'root', role: 'root' }), 'etcdserver: invalid auth management');
  assert.equal(apply({ op: 'authDisable' }), 'ok');
  assert.equal(apply({ op: 'authUserRevokeRole', name: 'root', role: 'root' }), 'ok', 'allowed while disabled');
});

test('store: permissions sorted and updated in place; role delete drops it from users', async () => {
  const { s, apply } = await mkStore();
  apply({ op: 'authRoleAdd', name: 'r' });
  apply({ op: 'authRoleGrantPermission', name: 'r', perm: p(R, 'k') });
  apply({ op: 'authRoleGrantPermission', name: 'r', perm: p(R, '/a/', '/a0') });
  apply({ op: 'authRoleGrantPermission', name: 'r', perm: p(W, 'k') });
  assert.deepEqual(s.roleGet('r').map((x) => [x.permType, Buffer.from(x.key).toString()]), [[R, '/a/'], [W, 'k']]);
  apply({ op: 'authUserAdd', name: 'u', noPassword: true });
  apply({ op: 'authRoleAdd', name: 'a' });
  apply({ op: 'authUserGrantRole', user: 'u', role: 'r' });
  apply({ op: 'authUserGrantRole', user: 'u', role: 'a' });
  assert.deepEqual(s.userGet('u'), ['a', 'r']);
  apply({ op: 'authRoleDelete', role: 'r' });
  assert.deepEqual(s.userGet('u'), ['a']);
  assert.deepEqual(s.roleList(), ['a']);
});

test('store: admin and key checks follow the enabled flag, tokens and roles', async () => {
  const { s, apply } = await mkStore();
  apply({ op: 'authUserAdd', name: 'root', password: await hashPassword('pw'), noPassword: false });
  apply({ op: 'authUserGrantRole', user: 'root', role: 'root' });
  apply({ op: 'authUserAdd', name: 'alice', password: await hashPassword('apw'), noPassword: false });
  apply({ op: 'authRoleAdd', name: 'r' });
  apply({ op: 'authRoleGrantPermission', name: 'r', perm: p(PermType.READWRITE, '/a/', '/a0') });
  apply({ op: 'authUserGrantRole', user: 'alice', role: 'r' });
  // disabled: everything passes, even without a user
  assert.equal(errorOf(() => s.isAdminPermitted(undefined)), 'ok');
  assert.equal(errorOf(() => s.isWritePermitted(undefined, b('/zz'), b(''))), 'ok');
  await assert.rejects(s.checkPassword('alice', 'apw'), /authentication is not enabled/);
  apply({ op: 'authEnable' });
  await assert.rejects(s.checkPassword('alice', 'bad'), /authentication failed, invalid user ID or password/);
  await assert.rejects(s.checkPassword('nobody', 'x'), /authentication failed/);
  const checked = await s.checkPassword('alice', 'apw');
  assert.equal(checked, s.revision());
  const { token } = s.apply({ op: 'authenticate', name: 'alice', prefix: 'abcdefghijklmnop', issuedAt: Date.now() }, 77);
  assert.equal(token, 'abcdefghijklmnop.77');
  const alice = s.authInfoFromToken(token!);
  assert.deepEqual(alice, { username: 'alice', revision: s.revision() });
  assert.equal(errorOf(() => s.isRangePermitted(alice, b('/a/x'), b(''))), 'ok');
  assert.equal(errorOf(() => s.isRangePermitted(alice, b('/b'), b(''))), 'etcdserver: permission denied');
  assert.equal(errorOf(() => s.isRangePermitted(undefined, b('/a/x'), b(''))), 'etcdserver: user name is empty');
  assert.equal(errorOf(() => s.isAdminPermitted(alice)), 'etcdserver: permission denied');
  assert.equal(errorOf(() => s.isAdminPermitted(undefined)), 'etcdserver: user name is empty');
  assert.equal(errorOf(() => s.isAdminPermitted({ username: 'ghost', revision: s.revision() })), 'etcdserver: user name not found');
  assert.equal(errorOf(() => s.isAdminPermitted({ username: 'root', revision: s.revision() })), 'ok');
  assert.equal(errorOf(() => s.isWritePermitted({ username: 'root', revision: s.revision() }, b('\0'), b('\0'))), 'ok', 'root bypasses');
  // a change to the store makes an older AuthInfo stale
  apply({ op: 'authRoleAdd', name: 'other' });
  assert.equal(errorOf(() => s.isRangePermitted(alice, b('/a/x'), b(''))), 'etcdserver: revision of auth store is old');
  // changing the password (or deleting the user, or disabling auth) drops the user's tokens
  apply({ op: 'authUserChangePassword', name: 'alice', password: await hashPassword('new') });
  assert.equal(s.authInfoFromToken(token!), undefined);
});

test('store: authenticate refuses no-password users; replayed old entries issue no token', async () => {
  let now = 1_000_000;
  const s = new AuthStore({ now: () => now, tokenTtlMs: 1000 });
  s.apply({ op: 'authUserAdd', name: 'root', password: await hashPassword('pw'), noPassword: false }, 1);
  s.apply({ op: 'authUserGrantRole', user: 'root', role: 'root' }, 2);
  s.apply({ op: 'authUserAdd', name: 'np', noPassword: true }, 3);
  s.apply({ op: 'authEnable' }, 4);
  await assert.rejects(s.checkPassword('np', ''), /password was given for no password user/);
  assert.equal(errorOf(() => s.apply({ op: 'authenticate', name: 'np', prefix: 'x', issuedAt: now }, 5)), 'etcdserver: authentication failed, invalid user ID or password');
  const old = s.apply({ op: 'authenticate', name: 'root', prefix: 'oldoldoldoldoldo', issuedAt: now - 5000 }, 6);
  assert.equal(s.authInfoFromToken(old.token!), undefined, 'expired before it was applied');
  const fresh = s.apply({ op: 'authenticate', name: 'root', prefix: 'freshfreshfreshf', issuedAt: now }, 7);
  now += 900;
  assert.ok(s.authInfoFromToken(fresh.token!), 'used within the TTL');
  now += 900;
  assert.ok(s.authInfoFromToken(fresh.token!), 'TTL restarts on use');
  now += 1001;
  assert.equal(s.authInfoFromToken(fresh.token!), undefined, 'expired after a TTL unused');
});

test('tokens: index parsing, invalidation', () => {
  assert.equal(tokenIndex('abcdefghijklmnop.42'), 42);
  assert.equal(tokenIndex('abc'), undefined);
  assert.equal(tokenIndex('a.b.1'), undefined);
  assert.equal(tokenIndex('a.x'), undefined);
  const t = new SimpleTokens(1000, () => 0);
  t.assign('a.1', 'u');
  t.assign('b.2', 'v');
  t.invalidateUser('u');
  assert.equal(t.lookup('a.1'), undefined);
  assert.equal(t.lookup('b.2'), 'v');
  t.clear();
  assert.equal(t.size(), 0);
});

test('password: scrypt hash verifies, salts differ, wrong password fails', async () => {
  const h1 = await hashPassword('secret', { N: 1024, r: 8, p: 1 });
  const h2 = await hashPassword('secret', { N: 1024, r: 8, p: 1 });
  assert.notEqual(h1, h2);
  assert.match(h1, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword('secret', h1), true);
  assert.equal(await verifyPassword('Secret', h1), false);
  assert.equal(await verifyPassword('secret', 'garbage'), false);
  assert.ok(!h1.includes('secret'));
});

test('store: exportState/loadState round-trips users, roles, permissions and the enabled flag', async () => {
  const { s, apply } = await mkStore();
  apply({ op: 'authUserAdd', name: 'root', password: await hashPassword('pw', { N: 1024, r: 8, p: 1 }), noPassword: false });
  apply({ op: 'authUserGrantRole', user: 'root', role: 'root' });
  apply({ op: 'authRoleAdd', name: 'r' });
  apply({ op: 'authRoleGrantPermission', name: 'r', perm: p(R, '\0', '\0') });
  apply({ op: 'authUserAdd', name: 'np', noPassword: true });
  apply({ op: 'authUserGrantRole', user: 'np', role: 'r' });
  apply({ op: 'authEnable' });
  const copy = new AuthStore();
  copy.loadState(JSON.parse(JSON.stringify(s.exportState())));
  assert.deepEqual(copy.exportState(), s.exportState());
  assert.equal(copy.isEnabled(), true);
  assert.equal(await copy.checkPassword('root', 'pw'), copy.revision());
  assert.equal(errorOf(() => copy.isRangePermitted({ username: 'np', revision: copy.revision() }, b('anything'), b(''))), 'ok');
});
