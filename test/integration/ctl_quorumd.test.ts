// quorumctl against quorumd: the user/role/auth sequence prints exactly what etcdctl prints against real etcd 3.4
// (IDs and Raft terms aside), and lock/elect work across etcdctl and quorumctl on a quorumd member.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctlBoth, runEtcdctl, startEtcd, stopAllEtcd, type EtcdProc } from './ctl_harness.js';
import { AUTH_STEPS, electScenario, lockScenario } from './ctl_scenarios.js';
import { makeCluster, stopAll, waitFor, type Member } from './quorumd_harness.js';

let ref: EtcdProc;
let q: Member;
let qEndpoint: string;

before(async () => {
  ref = await startEtcd(26151);
  [q] = await makeCluster(1);
  q.start();
  qEndpoint = q.clientUrl.replace(/^http:\/\//, '');
  await waitFor('quorumd healthy', async () => (await runEtcdctl(['--endpoints', qEndpoint, '--dial-timeout', '1s', 'endpoint', 'health'])).code === 0, 60_000);
});
after(async () => {
  await stopAllEtcd();
  await stopAll();
});

test('user/role/auth: quorumctl on quorumd prints what etcdctl prints on etcd 3.4', { timeout: 600_000 }, async () => {
  for (const s of AUTH_STEPS) {
    const r = await ctlBoth(s, { endpoint: ref.endpoint, quorumctlEndpoint: qEndpoint, ids: true, terms: true });
    assert.deepEqual(r.quorumctl, r.etcdctl, `quorumctl ${s.join(' ')}`);
  }
});

test('lock on quorumd: etcdctl and quorumctl exclude each other', { timeout: 120_000 }, async () => {
  await lockScenario(qEndpoint);
});

test('elect on quorumd: leaders, observers and hand-over', { timeout: 120_000 }, async () => {
  await electScenario(qEndpoint);
});

test('quorumd: lock with a command sees ETCD_LOCK_KEY', { timeout: 60_000 }, async () => {
  const r = await ctlBoth(['lock', 'LQ', '--', 'sh', '-c', 'echo $ETCD_LOCK_KEY'], { endpoint: qEndpoint });
  assert.equal(r.quorumctl.code, 0, r.quorumctl.stderr);
  assert.match(r.quorumctl.stdout, /^LQ\/[0-9a-f]+\n$/);
  assert.match(r.etcdctl.stdout, /^LQ\/[0-9a-f]+\n$/);
});
