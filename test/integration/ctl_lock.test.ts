// quorumctl lock / elect interoperate with etcdctl 3.4's (same keys, same ordering) on real etcd 3.4, and print
// what etcdctl prints.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctlBoth, runEtcdctl, startEtcd, stopAllEtcd, type EtcdProc } from './ctl_harness.js';
import { electScenario, lockScenario } from './ctl_scenarios.js';

let a: EtcdProc;
let b: EtcdProc;

before(async () => {
  [a, b] = await Promise.all([startEtcd(26131), startEtcd(26141)]);
});
after(async () => {
  await stopAllEtcd();
});

test('lock: quorumctl and etcdctl exclude each other on the same lock name', { timeout: 120_000 }, async () => {
  await lockScenario(a.endpoint);
});

test('lock with a command: ETCD_LOCK_KEY/ETCD_LOCK_REV, exit status, argument errors as etcdctl', { timeout: 120_000 }, async () => {
  const lease = [/L2\/[0-9a-f]{16}/g, 'L2/LEASE'] as [RegExp, string];
  for (const args of [
    ['lock', 'L2', '--', 'sh', '-c', 'echo key=$ETCD_LOCK_KEY rev=$ETCD_LOCK_REV'],
    ['lock', 'L2', '--', 'sh', '-c', 'exit 3'],
    ['lock', 'L2', '--ttl', '5', 'true'],
    ['lock'],
    ['elect'],
    ['elect', 'e'],
    ['elect', 'e', 'a', 'b'],
  ]) {
    // a has more history than b (the test above): revisions differ, so only their shape is compared
    const r = await ctlBoth(args, { endpoint: a.endpoint, quorumctlEndpoint: b.endpoint, replace: [lease, [/rev=\d+\n/g, 'rev=N\n']] });
    assert.deepEqual(r.quorumctl, r.etcdctl, args.join(' '));
  }
  // ETCD_LOCK_REV is the revision that created the lock key
  const q = await ctlBoth(['lock', 'L3', '--', 'sh', '-c', 'echo $ETCD_LOCK_REV'], { endpoint: b.endpoint });
  const rev = (await runEtcdctl(['--endpoints', b.endpoint, 'get', 'x', '-w', 'json'])).stdout.match(/"revision":(\d+)/)![1];
  assert.equal(Number(q.quorumctl.stdout) + 1, Number(rev), 'quorumctl put its lock key at rev R and deleted it at R+1 (etcdctl ran just before it)');
  assert.equal(Number(q.etcdctl.stdout) + 3, Number(rev));
});

test('elect: leaders, observers and hand-over across etcdctl and quorumctl', { timeout: 120_000 }, async () => {
  await electScenario(a.endpoint);
});
