/**
 * The NOSPACE runbook end to end on a 3-member quorumd cluster with a tiny quota (--quota-backend-bytes 200000):
 * overwriting one key fills the backend with history until writes fail with etcd's "etcdserver: mvcc: database
 * space exceeded" (gRPC RESOURCE_EXHAUSTED) and the NOSPACE alarm is raised through Raft (every member lists
 * the same alarms and reports them in Status.errors); reads and deletes still work; then the runbook: get the
 * revision, compact, defragment every member (dbSize drops to dbSizeInUse), disarm, and writes work again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreClient, StoreError } from '../../store/client/client.js';
import { etcdctl, quorumctl, stopAll, waitFor, type Member } from './quorumd_harness.js';
import { clusterOnPorts, isTransient, startHealthy, statusOf, tempBase } from './maintenance_harness.js';

const QUOTA = 200_000;
let members: Member[];
let alarmLines: string[] = [];

before(async () => {
  members = clusterOnPorts(3, 25200, tempBase('nospace'), { extra: ['--quota-backend-bytes', String(QUOTA)] });
  await startHealthy(members);
});

after(async () => {
  await stopAll();
});

test('overwriting a key until the quota is passed: writes fail with etcd\'s NOSPACE error', { timeout: 120_000 }, async () => {
  const c = new StoreClient(members[0]!.clientUrl, undefined, { timeoutMs: 10_000 });
  let failure: StoreError | undefined;
  let puts = 0;
  let transient = 0;
  try {
    for (; puts < 200; puts++) {
      try {
        await c.put('big', Buffer.alloc(3000, 97 + (puts % 26)));
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        if (isTransient(e) && transient++ < 5) continue; // a slow shared machine: retry
        failure = e;
        break;
      }
    }
  } finally {
    c.close();
  }
  assert.ok(failure, 'the quota was never reached');
  assert.ok(puts > 20, `quota reached after only ${puts} puts`);
  assert.equal(failure.code, 8); // RESOURCE_EXHAUSTED
  assert.equal(failure.details, 'etcdserver: mvcc: database space exceeded');
});

test('the NOSPACE alarm is replicated: same alarm list and Status.errors on every member', { timeout: 60_000 }, async () => {
  const lists = await waitFor('alarm list on every member', async () => {
    const out = await Promise.all(members.map((m) => quorumctl(['--endpoints', m.clientUrl, 'alarm', 'list'])));
    return out.every((r) => r.code === 0 && r.stdout !== '' && r.stdout === out[0]!.stdout) ? out : undefined;
  });
  alarmLines = lists[0]!.stdout.split('\n').filter(Boolean);
  for (const l of alarmLines) assert.match(l, /^memberID:\d+ alarm:NOSPACE $/);
  const ids = new Set(members.map((m) => m.name));
  assert.ok(alarmLines.length >= 1 && alarmLines.length <= ids.size);
  const viaEtcdctl = await etcdctl(['--endpoints', members[2]!.clientUrl, 'alarm', 'list']);
  assert.equal(viaEtcdctl.stdout, lists[0]!.stdout);
  for (const m of members) {
    const s = await statusOf(m.clientUrl);
    assert.deepEqual(s.errors, alarmLines);
  }
});

test('while NOSPACE is active: put fails (etcdctl and quorumctl), get and del work', { timeout: 60_000 }, async () => {
  const put = await etcdctl(['--endpoints', members[1]!.clientUrl, 'put', 'z', '1']);
  assert.equal(put.code, 1);
  assert.match(put.stderr, /Error: etcdserver: mvcc: database space exceeded\n$/);
  const qput = await quorumctl(['--endpoints', members[1]!.clientUrl, 'put', 'z', '1']);
  assert.equal(qput.code, 1);
  assert.match(qput.stderr, /Error: etcdserver: mvcc: database space exceeded\n$/);
  const get = await etcdctl(['--endpoints', members[2]!.clientUrl, 'get', 'big', '--keys-only']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, 'big\n\n');
  const del = await etcdctl(['--endpoints', members[0]!.clientUrl, 'del', 'no-such-key']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout, '0\n');
});

test('runbook: revision -> compact -> defrag every member -> disarm -> put works', { timeout: 120_000 }, async () => {
  const rev = (await statusOf(members[0]!.clientUrl)).revision;
  const comp = await etcdctl(['--endpoints', members[0]!.clientUrl, 'compaction', String(rev)]);
  assert.equal(comp.code, 0, comp.stderr);
  assert.equal(comp.stdout, `compacted revision ${rev}\n`);
  // compaction frees history but the backend keeps its size until defragmented
  for (const m of members) {
    const s = await waitFor(`compaction applied on ${m.name}`, async () => {
      const x = await statusOf(m.clientUrl);
      return x.dbSizeInUse < QUOTA / 4 ? x : undefined;
    });
    assert.ok(s.dbSize >= QUOTA * 0.9, `dbSize ${s.dbSize} dropped before defrag`);
  }
  const defrag = await quorumctl(['--endpoints', members[0]!.clientUrl, 'defrag', '--cluster']);
  assert.equal(defrag.code, 0, defrag.stderr);
  assert.deepEqual(defrag.stdout.split('\n').filter(Boolean).sort(), members.map((m) => `Finished defragmenting etcd member[${m.clientUrl}]`).sort());
  for (const m of members) {
    const s = await statusOf(m.clientUrl);
    assert.equal(s.dbSize, s.dbSizeInUse);
    assert.ok(s.dbSize < QUOTA / 4);
    assert.deepEqual(s.errors, alarmLines, 'alarms stay until disarmed');
  }
  const stillBlocked = await etcdctl(['--endpoints', members[0]!.clientUrl, 'put', 'z', '1']);
  assert.match(stillBlocked.stderr, /database space exceeded/);
  const disarm = await quorumctl(['--endpoints', members[0]!.clientUrl, 'alarm', 'disarm']);
  assert.equal(disarm.code, 0, disarm.stderr);
  assert.deepEqual(disarm.stdout.split('\n').filter(Boolean), alarmLines);
  for (const m of members) {
    await waitFor(`no alarms on ${m.name}`, async () => (await statusOf(m.clientUrl)).errors.length === 0);
  }
  const none = await quorumctl(['--endpoints', members[2]!.clientUrl, 'alarm', 'list']);
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
  const put = await etcdctl(['--endpoints', members[1]!.clientUrl, 'put', 'z', '1']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.stdout, 'OK\n');
  const get = await etcdctl(['--endpoints', members[2]!.clientUrl, 'get', 'z', '--print-value-only']);
  assert.equal(get.stdout, '1\n');
});
