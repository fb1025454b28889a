/**
 * Real etcdctl 3.4 with --user against quorumd and against etcd 3.4 (diff/harness.ts pair): the same command
 * sequence (user/role management, auth enable, allowed and denied get/put/del/txn, management by non-root
 * users, defrag, user delete, auth disable) must give the same exit code, stdout and error line on both.
 * Ports 28110-28114.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startPair, type Pair } from './diff/harness.js';

let pair: Pair;

before(async () => {
  pair = await startPair(28110);
});

after(async () => {
  await pair?.close();
});

interface Out { code: number; stdout: string; errors: string }

/** Run etcdctl against `url` (stdin optional); the endpoint address in the output is replaced by <ep>. */
function etcdctl(url: string, args: string[], stdin = ''): Promise<Out> {
  const ep = url.replace('http://', '');
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/etcdctl', ['--endpoints', ep, '--dial-timeout', '5s', '--command-timeout', '20s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(t);
      const mask = (s: string) => s.split(ep).join('<ep>');
      // keep etcdctl's own error lines, not the client library's JSON warnings (timestamps, target IDs)
      const errors = stderr.split('\n').filter((l) => l && !l.startsWith('{')).join('\n');
      resolve({ code: code ?? -1, stdout: mask(stdout), errors: mask(errors) });
    });
    p.stdin.end(stdin);
  });
}

/** Run on both and compare; returns etcd's output. */
async function same(args: string[], stdin = ''): Promise<Out> {
  const e = await etcdctl(pair.etcd.url, args, stdin);
  const q = await etcdctl(pair.quorum.url, args, stdin);
  assert.deepEqual(q, e, `etcdctl ${args.join(' ')}: quorumd differs from etcd`);
  return e;
}

const root = ['--user', 'root:pw'];
const alice = ['--user', 'alice:apw'];

test('etcdctl user/role/auth commands give the same output on quorumd as on etcd', { timeout: 300_000 }, async () => {
  assert.match((await same(['auth', 'enable'])).errors, /root user does not exist/);
  await same(['user', 'add', 'root:pw']);
  await same(['role', 'add', 'root']);
  await same(['user', 'grant-role', 'root', 'root']);
  await same(['role', 'add', 'r1']);
  await same(['role', 'grant-permission', 'r1', 'readwrite', '/a/', '--prefix']);
  await same(['role', 'grant-permission', 'r1', 'read', '/ro']);
  await same(['role', 'grant-permission', 'r1', 'write', '/w', '--from-key']);
  await same(['role', 'grant-permission', 'r1', 'read', '/r1', '/r5']);
  await same(['user', 'add', 'alice:apw']);
  await same(['user', 'grant-role', 'alice', 'r1']);
  await same(['role', 'get', 'r1']);
  await same(['user', 'get', 'alice', '--detail']);
  await same(['user', 'list']);
  await same(['role', 'list']);
  await same(['put', '/a/x', '1']);
  assert.equal((await same(['auth', 'enable'])).stdout.trim(), 'Authentication Enabled');

  assert.match((await same(['get', '/a/x'])).errors, /user name is empty/);
  assert.equal((await same([...alice, 'get', '/a/x'])).stdout, '/a/x\n1\n');
  assert.match((await same([...alice, 'get', '/b'])).errors, /permission denied/);
  assert.match((await same(['--user', 'alice:bad', 'get', '/a/x'])).errors, /authentication failed/);
  await same([...alice, 'put', '/ro', 'x']);
  await same([...alice, 'put', '/a/y', '2']);
  await same([...alice, 'put', '/w/1', 'w']);
  await same([...alice, 'get', '/w/1']);
  await same([...alice, 'get', '/a/', '--prefix']);
  await same([...alice, 'get', '/a', '--prefix']);
  await same([...alice, 'get', '/r2', '/r4']);
  await same([...alice, 'get', '/r2', '/r6']);
  await same([...alice, 'del', '/a/y']);
  await same([...alice, 'txn'], 'value("/a/x") = "1"\n\nput /a/t t\n\nget /ro\n\n');
  await same([...alice, 'txn'], 'value("/b") = "1"\n\n\n\n');
  await same([...alice, 'user', 'list']);
  await same([...alice, 'user', 'get', 'alice']);
  await same([...alice, 'role', 'get', 'r1']);
  await same([...alice, 'role', 'get', 'root']);
  await same([...alice, 'defrag']);
  await same([...alice, 'endpoint', 'hashkv']);
  assert.match((await same([...alice, 'snapshot', 'save', '/tmp/quorum-auth-denied.db'])).errors, /auth: permission denied/);
  await same([...root, 'user', 'list']);
  await same([...root, 'role', 'get', 'root']);
  await same([...root, 'get', '', '--prefix']);
  await same([...root, 'user', 'delete', 'root']);
  await same([...root, 'role', 'revoke-permission', 'r1', '/ro']);
  await same([...root, 'role', 'get', 'r1']);
  await same([...root, 'user', 'revoke-role', 'alice', 'r1']);
  await same([...alice, 'get', '/a/x']);
  await same([...root, 'user', 'passwd', 'alice', '--interactive=false'], 'apw2\n');
  await same([...alice, 'get', '/a/x']);
  await same([...root, 'user', 'delete', 'alice']);
  await same([...root, 'auth', 'disable']);
  await same(['user', 'list']);
  await same(['get', '/a/x']);
});
