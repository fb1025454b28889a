// Scenarios shared by the quorumctl tests against etcd 3.4 (ctl_lock, ctl_auth) and against quorumd (ctl_quorumd).
import assert from 'node:assert/strict';
import { CtlProcess as Running, runEtcdctl } from './ctl_harness.js';

export async function keys(ep: string, prefix: string): Promise<string> {
  return (await runEtcdctl(['--endpoints', ep, 'get', prefix, '--prefix', '--keys-only'])).stdout;
}

/** Mutual exclusion between etcdctl and quorumctl lock on the server at `ep`. */
export async function lockScenario(ep: string): Promise<void> {
  const a = { endpoint: ep };
  for (const [first, second] of [['etcdctl', 'quorumctl'], ['quorumctl', 'etcdctl']] as const) {
    const holder = new Running(first, ['--endpoints', a.endpoint, 'lock', 'L1']);
    const held = await holder.waitOut(/^L1\/[0-9a-f]+\n\n$/);
    const waiter = new Running(second, ['--endpoints', a.endpoint, 'lock', 'L1']);
    // the waiter's key is queued behind the holder's
    for (let i = 0; i < 100 && (await keys(a.endpoint, 'L1/')).split('\n').filter(Boolean).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(waiter.out, '', `${second} must not hold L1 while ${first} does`);
    assert.equal(await holder.interrupt(), 0);
    const got = await waiter.waitOut(/^L1\/[0-9a-f]+\n\n$/);
    assert.notEqual(got, held);
    assert.equal(await waiter.interrupt(), 0);
    assert.equal(await keys(a.endpoint, 'L1/'), '', `${first} printed ${JSON.stringify(held)}, then ${second} printed ${JSON.stringify(got)}; both exited 0`);
    assert.equal(holder.err + waiter.err, '');
  }
}

/** Leaders, observers and hand-over across etcdctl and quorumctl on the server at `ep`. */
export async function electScenario(ep: string): Promise<void> {
  const a = { endpoint: ep };
  const obsE = new Running('etcdctl', ['--endpoints', a.endpoint, 'elect', '-l', 'E1']);
  const obsQ = new Running('quorumctl', ['--endpoints', a.endpoint, 'elect', '-l', 'E1']);
  const leader = new Running('quorumctl', ['--endpoints', a.endpoint, 'elect', 'E1', 'p1']);
  const lOut = await leader.waitOut(/^E1\/[0-9a-f]+\np1\n$/);
  await obsE.waitOut(/p1\n$/);
  await obsQ.waitOut(/p1\n$/);
  const next = new Running('etcdctl', ['--endpoints', a.endpoint, 'elect', 'E1', 'p2']);
  for (let i = 0; i < 100 && (await keys(a.endpoint, 'E1/')).split('\n').filter(Boolean).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(next.out, '');
  assert.equal(await leader.interrupt(), 0, leader.err);
  const nOut = await next.waitOut(/^E1\/[0-9a-f]+\np2\n$/);
  await obsE.waitOut(/p2\n$/);
  await obsQ.waitOut(/p2\n$/);
  assert.equal(obsQ.out, obsE.out, 'observers print the same leader history');
  assert.equal(obsQ.out, lOut + nOut);
  assert.equal(await next.interrupt(), 0, next.err);
  assert.equal(await obsE.interrupt(), 0, obsE.err);
  assert.equal(await obsQ.interrupt(), 0, obsQ.err);
  assert.equal(obsQ.err, '');
}


/** user/role/auth command lines, run in order; each must print what etcdctl prints. */
export const AUTH_STEPS: string[][] = [
  // argument errors (exit 128)
  ['user', 'add'], ['user', 'get'], ['user', 'delete'], ['user', 'grant-role', 'x'], ['user', 'revoke-role', 'x'], ['user', 'list', 'x'],
  ['role', 'add'], ['role', 'get'], ['role', 'delete'], ['role', 'list', 'x'], ['role', 'grant-permission', 'r'],
  ['role', 'grant-permission', 'r', 'bogus', 'k'], ['role', 'revoke-permission', 'r'], ['user', 'add', ':pw'],
  ['role', 'grant-permission', 'r', 'read', 'k', 'z', '--prefix'], ['role', 'grant-permission', 'r', 'read', 'k', '--prefix', '--from-key'],
  // users and roles
  ['user', 'add', 'root:rootpw'], ['user', 'add', 'root:rootpw'], ['user', 'add', 'alice', '--new-user-password', 'apw'],
  ['user', 'add', 'bob:bpw', '-w', 'json'], ['user', 'add', 'carol', '--no-password'], ['user', 'list'], ['user', 'list', '-w', 'json'],
  ['role', 'add', 'root'], ['role', 'add', 'reader'], ['role', 'add', 'writer', '-w', 'json'], ['role', 'add', 'reader'],
  ['role', 'list'], ['role', 'list', '-w', 'json'],
  ['role', 'grant-permission', 'reader', 'read', 'foo'], ['role', 'grant-permission', 'reader', 'READ', '/p/', '--prefix'],
  ['role', 'grant-permission', 'reader', 'readwrite', 'a', 'm'], ['role', 'grant-permission', 'reader', 'write', 'x', '--from-key'],
  ['role', 'grant-permission', 'writer', 'write', '', '--prefix'], ['role', 'grant-permission', 'nope', 'read', 'k'],
  ['role', 'get', 'reader'], ['role', 'get', 'reader', '-w', 'json'], ['role', 'get', 'writer'], ['role', 'get', 'nope'],
  ['role', 'get', 'reader', '-w', 'fields'], ['role', 'get', 'reader', '-w', 'table'], ['role', 'list', '-w', 'fields'],
  ['user', 'list', '-w', 'fields'], ['user', 'get', 'root', '-w', 'fields'], ['user', 'list', '-w', 'table'],
  ['role', 'add', 'tmp', '-w', 'fields'], ['role', 'add', 'tmp2', '-w', 'table'], ['role', 'delete', 'tmp', '-w', 'fields'],
  ['user', 'add', 'tmpu:x', '-w', 'fields'], ['user', 'grant-role', 'tmpu', 'tmp2', '-w', 'fields'], ['user', 'delete', 'tmpu', '-w', 'json'],
  ['user', 'grant-role', 'root', 'root'], ['user', 'grant-role', 'alice', 'reader'], ['user', 'grant-role', 'alice', 'writer'],
  ['user', 'grant-role', 'alice', 'nope'], ['user', 'get', 'alice'], ['user', 'get', 'alice', '-w', 'json'], ['user', 'get', 'alice', '--detail'],
  ['user', 'get', 'nobody'], ['user', 'revoke-role', 'alice', 'writer'], ['user', 'revoke-role', 'alice', 'writer'],
  ['role', 'revoke-permission', 'reader', 'foo'], ['role', 'revoke-permission', 'reader', '/p/', '--prefix'],
  ['role', 'revoke-permission', 'reader', 'a', 'm'], ['role', 'revoke-permission', 'reader', 'x', '--from-key'],
  ['role', 'revoke-permission', 'reader', 'foo'], ['role', 'get', 'reader'],
  ['user', 'delete', 'bob'], ['user', 'delete', 'bob'], ['role', 'delete', 'writer'], ['role', 'delete', 'writer'],
  // authentication
  ['auth', 'enable'], ['put', 'k', 'v'], ['--user', 'root:wrong', 'put', 'k', 'v'], ['--user', 'root:rootpw', 'put', 'k', 'v'],
  ['--user', 'root', '--password', 'rootpw', 'user', 'list'], ['--user', 'alice:apw', 'put', 'k', 'v'], ['--user', 'alice:apw', 'get', 'a'],
  ['--user', 'root:rootpw', 'auth', 'disable'], ['auth', 'disable'], ['--user', 'root:rootpw', 'get', 'k'],
  ['auth', 'enable', 'x'],
];
