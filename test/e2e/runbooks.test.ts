/**
 * End to end on the lab: every disaster recovery runbook drilled on real hosts, each after injecting its disaster.
 * lab up -> provision a copy of inventory/lab.yaml (own pki dir, quota-backend-bytes 4 MiB, a release built from
 * this tree) -> drills, in order, on the same cluster:
 *   backup + restore   a bad write replicated everywhere; restore -> exactly the snapshot's contents and revision
 *   replace-member     quorumd stopped and the data dir rm -rf'd on etcd-02 -> rebuilt, no acknowledged write lost
 *   reset-member       refused while etcd-03 is down (nothing changed); accepted once every member is healthy
 *   recover-quorum     etcd-02 and etcd-03 stopped for good -> survivor's data kept, then both rejoin
 *   nospace            one key overwritten until the NOSPACE alarm -> the runbook restores writes
 * After each: `quorum status` exit 0 and HashKV equal on every member; each drill prints its recovery time.
 * Needs root. About a minute on the lab; no timing assertions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreClient } from '../../store/client/client.js';
import { drill, LabCluster, must, ssh } from '../helpers/lab-e2e.js';

const L = new LabCluster('quorum-runbooks-e2e-');
const { hosts, work, inventory } = L;
const backups = join(work, 'backups');
const QUOTA = 4 * 1024 * 1024;
const q = (args: string[], timeoutMs?: number) => L.q(args, timeoutMs);
const withClient = <T>(h: { address: string }, fn: (c: StoreClient) => Promise<T>) => L.withClient(h, fn);
const contents = (h: { address: string }) => L.contents(h);
const assertHealthyAndConsistent = (what: string) => L.assertHealthyAndConsistent(what);

before(async () => {
  await L.setUp({ quotaBytes: QUOTA });
});

after(async () => {
  await L.tearDown();
});

test('backup, then restore after a bad write replicated everywhere: exactly the snapshot\'s contents', { timeout: 300_000 }, async () => {
  await withClient(hosts[0]!, async (c) => {
    for (let i = 0; i < 5; i++) await c.put(`app/good/${i}`, `v${i}`);
  });
  const b = await q(['backup', '-i', inventory, '--dest', backups, '--keep', '2']);
  must(b, 'backup');
  assert.match(b.stdout, /1\. \[operator\] take a snapshot from etcd-01 over mTLS/);
  const files = readdirSync(backups).filter((f) => f.endsWith('.db'));
  assert.equal(files.length, 1);
  const m = /^lab-\d{8}T\d{6}Z-r(\d+)\.db$/.exec(files[0]!);
  assert.ok(m, `backup name ${files[0]}`);
  const snapRev = Number(m[1]);
  const before = await contents(hosts[0]!);
  // retention: two more backups, keep 2
  must(await q(['backup', '-i', inventory, '--dest', backups, '--keep', '2']), 'backup 2');
  assert.ok(readdirSync(backups).filter((f) => f.endsWith('.db')).length <= 2);
  const snapshot = join(backups, files[0]!);
  writeFileSync(join(work, 'keep.db'), readFileSync(snapshot));

  // the disaster: a bad write replicated everywhere
  await withClient(hosts[1]!, async (c) => {
    await c.deleteRange('app/', { rangeEnd: Buffer.from('app0') });
    await c.put('app/bad', 'oops');
  });
  assert.deepEqual(await contents(hosts[2]!), ['app/bad=oops']);

  const dry = await q(['runbook', 'restore', '-i', inventory, '--snapshot', join(work, 'keep.db'), '--dry-run']);
  must(dry, 'restore --dry-run');
  assert.match(dry.stdout, /dry run: nothing changed/);
  assert.match(dry.stdout, /\$ quorumctl snapshot restore \/var\/tmp\/quorum-restore-lab-r\d+\.db --name etcd-02 /);
  assert.deepEqual(await contents(hosts[2]!), ['app/bad=oops'], 'the dry run changed nothing');

  await drill('restore', async () => {
    const r = await q(['runbook', 'restore', '-i', inventory, '--snapshot', join(work, 'keep.db')]);
    must(r, 'runbook restore');
    assert.match(r.stdout, /runbook restore done/);
  });
  for (const h of hosts) {
    assert.deepEqual(await contents(h), before, `${h.name} holds exactly the snapshot's contents`);
    assert.equal(await withClient(h, async (c) => (await c.status()).revision), snapRev, `${h.name} at the snapshot revision`);
    const aside = must(await ssh(h.address, 'ls -d /var/lib/etcd.before-restore-*'), 'old data dir kept');
    assert.match(aside, /\/var\/lib\/etcd\.before-restore-\d{8}T\d{6}Z/);
  }
  await assertHealthyAndConsistent('restore');
  // the cluster keeps working and restarts cleanly (configs back to the inventory's, state existing)
  must(await ssh(hosts[0]!.address, 'systemctl restart quorumd'), 'restart a restored member');
  await assertHealthyAndConsistent('restore + restart');
});

test('replace-member after wiping a member\'s data dir: rebuilt, no acknowledged write lost', { timeout: 300_000 }, async () => {
  const acked: string[] = [];
  await withClient(hosts[0]!, async (c) => {
    for (let i = 0; i < 10; i++) { await c.put(`replace/${i}`, `x${i}`); acked.push(`replace/${i}=x${i}`); }
  });
  must(await ssh(hosts[1]!.address, 'systemctl stop quorumd && rm -rf /var/lib/etcd'), 'wipe etcd-02');
  await drill('replace-member', async () => {
    const r = await q(['runbook', 'replace-member', '-i', inventory, '--member', 'etcd-02']);
    must(r, 'runbook replace-member');
    assert.match(r.stdout, /fact: etcd-02: not answering/);
    assert.match(r.stdout, /add etcd-02 back as a learner/);
  });
  await assertHealthyAndConsistent('replace-member');
  const got = await contents(hosts[1]!);
  for (const a of acked) assert.ok(got.includes(a), `etcd-02 has ${a}`);
  const learners = await withClient(hosts[0]!, async (c) => (await c.memberList()).filter((m) => m.isLearner));
  assert.equal(learners.length, 0, 'promoted');
});

test('reset-member: refused while another member is down (nothing changed), accepted when all are healthy', { timeout: 300_000 }, async () => {
  const idBefore = await withClient(hosts[1]!, async (c) => (await c.status()).memberId);
  must(await ssh(hosts[2]!.address, 'systemctl stop quorumd'), 'stop etcd-03');
  const refused = await q(['runbook', 'reset-member', '-i', inventory, '--member', 'etcd-02']);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /refused, nothing was changed: etcd-03 is not healthy: wiping etcd-02 now could break the quorum/);
  assert.equal(await withClient(hosts[1]!, async (c) => (await c.status()).memberId), idBefore, 'etcd-02 untouched');
  must(await ssh(hosts[2]!.address, 'systemctl start quorumd'), 'start etcd-03');
  await assertHealthyAndConsistent('etcd-03 back');
  await drill('reset-member', async () => {
    must(await q(['runbook', 'reset-member', '-i', inventory, '--member', 'etcd-02']), 'runbook reset-member');
  });
  await assertHealthyAndConsistent('reset-member');
  assert.notEqual(await withClient(hosts[1]!, async (c) => (await c.status()).memberId), idBefore, 'etcd-02 re-bootstrapped as a new member');
  must(await ssh(hosts[1]!.address, 'ls -d /var/lib/etcd.reset-*'), 'old data dir kept');
});

test('recover-quorum after two of three members are gone for good: the survivor\'s data kept, the others rejoin', { timeout: 300_000 }, async () => {
  await withClient(hosts[0]!, async (c) => {
    for (let i = 0; i < 10; i++) await c.put(`recover/${i}`, `y${i}`);
  });
  const before = await contents(hosts[0]!);
  for (const h of hosts.slice(1)) must(await ssh(h.address, 'systemctl stop quorumd && systemctl disable quorumd 2>/dev/null; true'), `stop ${h.name}`);
  const nope = await q(['runbook', 'replace-member', '-i', inventory, '--member', 'etcd-02']);
  assert.equal(nope.code, 1, 'replace-member cannot help without a quorum');
  await drill('recover-quorum', async () => {
    const r = await q(['runbook', 'recover-quorum', '-i', inventory]);
    must(r, 'runbook recover-quorum');
    assert.match(r.stdout, /most up-to-date survivor: etcd-01/);
  });
  for (const h of hosts.slice(1)) must(await ssh(h.address, 'systemctl enable quorumd'), `re-enable ${h.name}`);
  await assertHealthyAndConsistent('recover-quorum');
  for (const h of hosts) assert.deepEqual(await contents(h), before, `${h.name} has the survivor's data`);
  const members = await withClient(hosts[0]!, async (c) => c.memberList());
  assert.deepEqual(members.map((m) => m.name).sort(), ['etcd-01', 'etcd-02', 'etcd-03']);
  assert.ok(members.every((m) => !m.isLearner));
});

test('nospace: fill a 4 MiB quota until the alarm fires; the runbook restores writes', { timeout: 300_000 }, async () => {
  const value = Buffer.alloc(256 * 1024, 'z');
  let alarmed = false;
  await withClient(hosts[0]!, async (c) => {
    for (let i = 0; i < 100 && !alarmed; i++) {
      try {
        await c.put('fill/one', value);
      } catch (e) {
        assert.match((e as Error).message, /database space exceeded/);
        alarmed = true;
      }
    }
  });
  assert.ok(alarmed, 'NOSPACE reached');
  const st = await q(['status', '-i', inventory]);
  assert.equal(st.code, 1);
  assert.match(st.stdout, /alarm:NOSPACE/);
  await drill('nospace', async () => {
    must(await q(['runbook', 'nospace', '-i', inventory]), 'runbook nospace');
  });
  await assertHealthyAndConsistent('nospace');
  await withClient(hosts[1]!, async (c) => {
    await c.put('after/nospace', 'ok');
    assert.deepEqual(await c.alarmList(), []);
  });
});
