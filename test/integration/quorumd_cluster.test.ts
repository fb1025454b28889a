/**
 * A 3-member plaintext quorumd cluster started with etcd's flag set, driven by real etcdctl 3.4, the npm etcd3
 * client and quorumctl: health, cross-member reads, prefix reads, member list, status table, metrics/health
 * endpoints, leader kill -9 and catch-up after restart.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { etcdctl, makeCluster, parseStatusJson, quorumctl, stopAll, waitFor, type Member } from './quorumd_harness.js';

let members: Member[];
const eps = () => members.map((m) => m.clientUrl).join(',');

before(async () => {
  members = await makeCluster(3);
  for (const m of members) m.start();
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps(), 'endpoint', 'health'])).code === 0, 60_000);
});

after(async () => {
  await stopAll();
});

test('etcdctl endpoint health --cluster: every member healthy (simple output on stderr)', { timeout: 60_000 }, async () => {
  const r = await waitFor('health --cluster', async () => {
    const x = await etcdctl(['--endpoints', members[0].clientUrl, 'endpoint', 'health', '--cluster']);
    return x.code === 0 && x.stderr.split('\n').filter((l) => l.includes('is healthy')).length === 3 ? x : undefined;
  });
  for (const m of members) assert.match(r.stderr, new RegExp(`${m.clientUrl} is healthy: successfully committed proposal: took = [0-9.]+(ms|µs|s)`));
});

test('put on one member, get on another (etcdctl)', { timeout: 60_000 }, async () => {
  const put = await etcdctl(['--endpoints', members[0].clientUrl, 'put', '/registry/pods/default/my-nginx-pod', 'v1']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.stdout, 'OK\n');
  const get = await etcdctl(['--endpoints', members[2].clientUrl, 'get', '/registry/pods/default/my-nginx-pod']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, '/registry/pods/default/my-nginx-pod\nv1\n');
  const missing = await etcdctl(['--endpoints', members[1].clientUrl, 'get', 'no-such-key']);
  assert.equal(missing.code, 0);
  assert.equal(missing.stdout, '');
});

test('get --prefix, --print-value-only, -w json; del --prefix', { timeout: 60_000 }, async () => {
  for (const [k, v] of [['/p/a', '1'], ['/p/b', '2'], ['/p/c', '3'], ['/q/x', 'no']]) {
    assert.equal((await etcdctl(['--endpoints', members[1].clientUrl, 'put', k, v])).code, 0);
  }
  const pre = await etcdctl(['--endpoints', members[2].clientUrl, 'get', '--prefix', '/p/']);
  assert.equal(pre.stdout, '/p/a\n1\n/p/b\n2\n/p/c\n3\n');
  const vals = await etcdctl(['--endpoints', members[0].clientUrl, 'get', '--prefix', '/p/', '--print-value-only']);
  assert.equal(vals.stdout, '1\n2\n3\n');
  const lim = await etcdctl(['--endpoints', members[0].clientUrl, 'get', '--prefix', '/p/', '--limit', '2', '-w', 'json']);
  const j = JSON.parse(lim.stdout) as { kvs: { key: string }[]; more: boolean; count: number; header: { revision: number } };
  assert.deepEqual(j.kvs.map((k) => Buffer.from(k.key, 'base64').toString()), ['/p/a', '/p/b']);
  assert.equal(j.more, true);
  assert.equal(j.count, 3);
  const qget = await quorumctl(['--endpoints', members[1].clientUrl, 'get', '--prefix', '/p/', '--limit', '2', '-w', 'json']);
  assert.equal(qget.code, 0, qget.stderr);
  const qj = JSON.parse(qget.stdout) as typeof j;
  assert.deepEqual(qj.kvs.map((k) => k.key), j.kvs.map((k) => k.key));
  assert.equal(qj.count, 3);
  const del = await etcdctl(['--endpoints', members[2].clientUrl, 'del', '--prefix', '/p/']);
  assert.equal(del.stdout, '3\n');
  assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, 'get', '--prefix', '/p/'])).stdout, '');
  assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, 'get', '/q/x', '--print-value-only'])).stdout, 'no\n');
});

test('errors carry etcd codes and strings', { timeout: 30_000 }, async () => {
  const r = await etcdctl(['--endpoints', members[0].clientUrl, 'put', '', 'v']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /etcdserver: key is not provided/);
  const future = await etcdctl(['--endpoints', members[0].clientUrl, 'get', 'x', '--rev', '100000']);
  assert.notEqual(future.code, 0);
  assert.match(future.stderr, /mvcc: required revision is a future revision/);
});

test('member list shows 3 started members with client URLs (etcdctl and quorumctl)', { timeout: 60_000 }, async () => {
  const r = await waitFor('all members published', async () => {
    const x = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'list']);
    return x.code === 0 && x.stdout.split('\n').filter((l) => l.includes(', started, ')).length === 3 ? x : undefined;
  });
  for (const m of members) assert.match(r.stdout, new RegExp(`, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}, false`));
  const q = await quorumctl(['--endpoints', members[1].clientUrl, 'member', 'list']);
  assert.equal(q.stdout, r.stdout);
  const t = await etcdctl(['--endpoints', members[2].clientUrl, 'member', 'list', '-w', 'table']);
  assert.match(t.stdout, /\| +ID +\| STATUS +\| +NAME +\| +PEER ADDRS +\| +CLIENT ADDRS +\| IS LEARNER \|/);
});

test('endpoint status -w table: one leader, same term; quorumctl prints the same table shape', { timeout: 60_000 }, async () => {
  const r = await etcdctl(['--endpoints', eps(), 'endpoint', 'status', '-w', 'table']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| http'));
  assert.equal(rows.length, 3);
  const cells = rows.map((l) => l.split('|').map((c) => c.trim()));
  assert.equal(cells.filter((c) => c[5] === 'true').length, 1);
  assert.equal(new Set(cells.map((c) => c[7])).size, 1);
  const q = await quorumctl(['--endpoints', eps(), 'endpoint', 'status', '-w', 'table']);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout.split('\n')[1], r.stdout.split('\n')[1]);
  assert.equal(q.stdout.split('\n').filter((l) => l.startsWith('| http')).length, 3);
  const c = await etcdctl(['--endpoints', members[0].clientUrl, 'endpoint', 'status', '--cluster']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout.trim().split('\n').length, 3);
  assert.ok(c.stdout.split('\n')[0].endsWith(', '));
});

test('metrics and /health on listen-metrics-urls', { timeout: 30_000 }, async () => {
  const h = await fetch(`${members[0].metricsUrl}/health`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { health: 'true' });
  const text = await (await fetch(`${members[1].metricsUrl}/metrics`)).text();
  for (const name of ['etcd_server_has_leader 1', 'etcd_server_is_leader', 'etcd_server_leader_changes_seen_total', 'etcd_server_proposals_committed_total',
    'etcd_server_proposals_applied_total', 'etcd_server_proposals_pending', 'etcd_server_proposals_failed_total',
    'etcd_disk_wal_fsync_duration_seconds_bucket', 'etcd_mvcc_db_total_size_in_bytes']) {
    assert.ok(text.includes(name), name);
  }
});

test('npm etcd3 client: put, get, delete', { timeout: 60_000 }, async () => {
  const client = new Etcd3({ hosts: members.map((m) => m.clientUrl) });
  try {
    await client.put('etcd3-key').value('hello');
    assert.equal(await client.get('etcd3-key').string(), 'hello');
    await client.put('etcd3-prefix/a').value('1');
    await client.put('etcd3-prefix/b').value('2');
    assert.deepEqual(await client.getAll().prefix('etcd3-prefix/').strings(), { 'etcd3-prefix/a': '1', 'etcd3-prefix/b': '2' });
    await client.delete().key('etcd3-key');
    assert.equal(await client.get('etcd3-key').string(), null);
  } finally {
    client.close();
  }
});

test('kill -9 the leader: a new leader is elected, writes succeed, the old leader catches up on restart', { timeout: 120_000 }, async () => {
  const status = parseStatusJson((await etcdctl(['--endpoints', eps(), 'endpoint', 'status', '-w', 'json'])).stdout);
  const leaderId = status[0].leader;
  const leaderIdx = status.findIndex((s) => s.memberId === leaderId);
  assert.ok(leaderIdx >= 0, 'a leader is known');
  const old = members[leaderIdx];
  const rest = members.filter((m) => m !== old);
  await old.kill('SIGKILL');
  const restEps = rest.map((m) => m.clientUrl).join(',');
  await waitFor('a new leader', async () => {
    const r = await etcdctl(['--endpoints', restEps, 'endpoint', 'status', '-w', 'json']);
    if (r.code !== 0) return undefined;
    const s = parseStatusJson(r.stdout);
    return s.every((x) => x.leader !== '0' && x.leader !== leaderId && x.leader === s[0].leader) ? s : undefined;
  }, 60_000);
  const put = await waitFor('a write after failover', async () => {
    const r = await etcdctl(['--endpoints', rest[0].clientUrl, 'put', 'after-failover', 'yes']);
    return r.code === 0 ? r : undefined;
  }, 60_000);
  assert.equal(put.stdout, 'OK\n');
  assert.equal((await etcdctl(['--endpoints', rest[1].clientUrl, 'get', 'after-failover', '--print-value-only'])).stdout, 'yes\n');
  old.start();
  const got = await waitFor('the restarted member to catch up', async () => {
    const r = await etcdctl(['--endpoints', old.clientUrl, 'get', 'after-failover', '--consistency=s', '--print-value-only']);
    return r.code === 0 && r.stdout === 'yes\n' ? r : undefined;
  }, 60_000);
  assert.equal(got.stdout, 'yes\n');
  // its earlier data came back from its WAL too
  const early = await etcdctl(['--endpoints', old.clientUrl, 'get', '/registry/pods/default/my-nginx-pod', '--consistency=s', '--print-value-only']);
  assert.equal(early.stdout, 'v1\n');
  await waitFor('health after restart', async () => (await etcdctl(['--endpoints', eps(), 'endpoint', 'health'])).code === 0, 60_000);
});
