// Differential: quorumctl user/role/auth against etcdctl 3.4, both talking to real etcd 3.4 (two identical fresh
// etcds, one per program, so state-changing commands run once on each). Output, stderr and exit code must match.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctlBoth, startEtcd, stopAllEtcd, type EtcdProc } from './ctl_harness.js';
import { AUTH_STEPS as STEPS } from './ctl_scenarios.js';

let a: EtcdProc;
let b: EtcdProc;

before(async () => {
  [a, b] = await Promise.all([startEtcd(26101), startEtcd(26111)]);
});
after(async () => {
  await stopAllEtcd();
});

/** Run one step on both and require identical normalized results. */
async function same(args: string[], extra: { stdin?: string } = {}): Promise<void> {
  const r = await ctlBoth(args, { endpoint: a.endpoint, quorumctlEndpoint: b.endpoint, ids: true, ...extra });
  assert.deepEqual(r.quorumctl, r.etcdctl, `quorumctl ${args.join(' ')}`);
}


test('user/role/auth: quorumctl prints exactly what etcdctl prints (etcd 3.4)', { timeout: 600_000 }, async () => {
  for (const s of STEPS) await same(s);
});

test('user passwd and user add read the password from stdin with --interactive=false', { timeout: 120_000 }, async () => {
  await same(['user', 'add', 'dave', '--interactive=false'], { stdin: 'dpw\n' });
  await same(['user', 'passwd', 'dave', '--interactive=false'], { stdin: 'newpw\n' });
  await same(['--user', 'dave:newpw', 'get', 'k']);
  await same(['user', 'passwd', 'nobody', '--interactive=false'], { stdin: 'x\n' });
  await same(['user', 'passwd', 'dave', '--interactive=false', '-w', 'fields'], { stdin: 'newpw\n' });
  await same(['user', 'passwd', 'dave', '--interactive=false', '-w', 'table'], { stdin: 'newpw\n' });
});

test('-w protobuf writes the same bytes as etcdctl (same etcd)', { timeout: 120_000 }, async () => {
  for (const args of [['user', 'get', 'alice', '-w', 'protobuf'], ['role', 'get', 'reader', '-w', 'protobuf'], ['user', 'list', '-w', 'protobuf'], ['role', 'list', '-w', 'protobuf']]) {
    const r = await ctlBoth(args, { endpoint: a.endpoint });
    assert.equal(r.etcdctl.code, 0, r.etcdctl.stderr);
    assert.deepEqual(r.quorumctl, r.etcdctl, args.join(' '));
  }
});
