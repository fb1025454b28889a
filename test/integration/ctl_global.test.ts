// Differential: quorumctl's global flags, ETCDCTL_* environment variables, output-format selection, exit codes
// and error lines against etcdctl 3.4, both talking to one real etcd 3.4.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctlBoth, runEtcdctl, runQuorumctl, startEtcd, stopAllEtcd, type EtcdProc } from './ctl_harness.js';

let e: EtcdProc;

before(async () => {
  e = await startEtcd(26121);
  for (const [k, v] of [['a', '1'], ['b', 'two'], ['c', 'x y\tz']]) {
    const r = await runEtcdctl(['--endpoints', e.endpoint, 'put', k, v]);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(async () => {
  await stopAllEtcd();
});

interface Case { args: string[]; env?: NodeJS.ProcessEnv; noEndpoint?: boolean; stdoutDiffers?: boolean }

const CASES: Case[] = [
  { args: ['get', 'a'] },
  { args: ['get', 'a', '-w', 'json'] },
  { args: ['-w', 'json', 'get', 'a'] },
  { args: ['--write-out=json', 'get', 'a'] },
  { args: ['-w=json', 'get', 'a'] },
  { args: ['--endpoints=127.0.0.1:26121,127.0.0.1:26121', 'get', 'a'], noEndpoint: true },
  { args: ['get', 'a', '--hex'] },
  { args: ['--hex=true', 'get', 'c'] },
  { args: ['--hex=false', 'get', 'c'] },
  { args: ['get'] },
  { args: ['-w', 'xml', 'get', 'a'] },
  { args: ['bogus'] },
  { args: ['--dial-timeout=bad', 'get', 'a'], stdoutDiffers: true },
  { args: ['--command-timeout', '1x', 'get', 'a'], stdoutDiffers: true },
  { args: ['--dial-timeout', '3s', '--command-timeout', '4s', '--keepalive-time', '1s', '--keepalive-timeout', '3s', 'get', 'b'] },
  { args: ['--debug=false', '--insecure-skip-tls-verify', 'get', 'b'] },
  { args: ['--user', 'root:pw', 'get', 'a'] },
  { args: ['get', 'a'], env: { ETCDCTL_WRITE_OUT: 'json' } },
  { args: ['get', 'a'], env: { ETCDCTL_HEX: 'true' } },
  { args: ['get', 'a'], env: { ETCDCTL_HEX: 'notabool' } },
  { args: ['get', 'a'], env: { ETCDCTL_DIAL_TIMEOUT: 'bad' } },
  { args: ['get', 'b'], env: { ETCDCTL_ENDPOINTS: '' }, noEndpoint: false },
  { args: ['get', 'a'], env: { ETCDCTL_WRITE_OUT: 'json' }, noEndpoint: false },
  { args: ['get', 'a'], env: { ETCDCTL_FOO: '1' } },
  { args: ['get', 'a'], env: { ETCDCTL_WATCH_KEY: 'k' } },
  { args: ['get', 'a'], env: { ETCDCTL_USER: 'root:pw' } },
  { args: ['--hex', 'get', 'a'], env: { ETCDCTL_HEX: 'false' } },
];

test('global flags and ETCDCTL_* variables behave as in etcdctl 3.4', { timeout: 300_000 }, async () => {
  for (const c of CASES) {
    const r = await ctlBoth(c.args, { endpoint: e.endpoint, env: c.env, noEndpoint: c.noEndpoint });
    const what = `${JSON.stringify(c.env ?? {})} ${c.args.join(' ')}`;
    if (c.stdoutDiffers) assert.deepEqual({ ...r.quorumctl, stdout: '' }, { ...r.etcdctl, stdout: '' }, what);
    else assert.deepEqual(r.quorumctl, r.etcdctl, what);
  }
});

test('endpoints from ETCDCTL_ENDPOINTS; a conflicting variable is fatal', { timeout: 120_000 }, async () => {
  for (const env of [{ ETCDCTL_ENDPOINTS: e.endpoint }, { ETCDCTL_ENDPOINTS: e.endpoint, ETCDCTL_WRITE_OUT: 'json' }]) {
    const r = await ctlBoth(['get', 'b'], { endpoint: e.endpoint, env, noEndpoint: true });
    assert.equal(r.etcdctl.code, 0);
    assert.deepEqual(r.quorumctl, r.etcdctl);
  }
  const conflict = await ctlBoth(['--endpoints', e.endpoint, 'get', 'b'], { endpoint: e.endpoint, env: { ETCDCTL_ENDPOINTS: e.endpoint }, noEndpoint: true });
  assert.equal(conflict.etcdctl.code, 1);
  assert.deepEqual(conflict.quorumctl, conflict.etcdctl);
  const w = await ctlBoth(['-w', 'json', 'get', 'b'], { endpoint: e.endpoint, env: { ETCDCTL_WRITE_OUT: 'simple' } });
  assert.deepEqual(w.quorumctl, w.etcdctl);
});

test('an unreachable endpoint: clientv3 warning, "Error: context deadline exceeded", exit 1', { timeout: 120_000 }, async () => {
  const r = await ctlBoth(['--endpoints', '127.0.0.1:26199', '--dial-timeout', '1s', 'get', 'a'], { endpoint: e.endpoint, noEndpoint: true });
  assert.equal(r.etcdctl.code, 1);
  assert.deepEqual(r.quorumctl, r.etcdctl);
});

test('version prints "quorumctl version: X" and the API version', async () => {
  const r = await runQuorumctl(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^quorumctl version: \S+\nAPI version: 3\.4\n$/);
  const ref = await runEtcdctl(['version']);
  assert.match(ref.stdout, /^etcdctl version: \S+\nAPI version: 3\.4\n$/);
});
