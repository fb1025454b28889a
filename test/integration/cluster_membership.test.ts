/**
 * Runtime membership on a real 3-member quorumd cluster, driven by real etcdctl 3.4 (ports 24100-24199):
 * member add --learner prints etcd's start lines; a 4th quorumd started with initial-cluster-state=existing joins
 * and catches up; promote is refused ("not in sync") until it has, then succeeds; a second learner is refused;
 * member list shows 4 voters; member remove makes the removed member exit while writes continue; move-leader
 * hands leadership to another voter; with one voter down, removing a live voter is refused ("unhealthy cluster")
 * and removing the dead one is accepted (etcd's mayRemoveMember), after which writes continue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Member, etcdctl, parseStatusJson, quorumctl, stopAll, waitFor } from './quorumd_harness.js';

const BASE = 24100;
const base = mkdtempSync(join(tmpdir(), 'quorumd-members-'));
const client = (i: number) => `http://127.0.0.1:${BASE + 10 * i + 1}`;
const peer = (i: number) => `http://127.0.0.1:${BASE + 10 * i + 2}`;
const metrics = (i: number) => `http://127.0.0.1:${BASE + 10 * i + 3}`;

function member(i: number, initialCluster: string, state: 'new' | 'existing'): Member {
  const name = `infra${i + 1}`;
  const dataDir = join(base, name);
  const args = [
    '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
    '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
    '--initial-cluster-token', 'members-test', '--initial-cluster', initialCluster,
    '--initial-cluster-state', state, '--listen-metrics-urls', metrics(i),
    '--heartbeat-interval', '100', '--election-timeout', '1000',
  ];
  return new Member(name, client(i), peer(i), metrics(i), dataDir, args, join(base, `${name}.log`));
}

const members: Member[] = [];
const eps = (ms: Member[]) => ms.map((m) => m.clientUrl).join(',');
let newId = '';

/** Polls `etcdctl endpoint status -w json` on `ms` (3 members) until every one answers and one is leader; its rows. */
function statusWithLeader(ms: Member[]): Promise<ReturnType<typeof parseStatusJson>> {
  return waitFor('a leader', async () => {
    const s = await etcdctl(['--endpoints', eps(ms), 'endpoint', 'status', '-w', 'json']);
    const rows = s.code === 0 ? parseStatusJson(s.stdout) : [];
    return rows.length === 3 && rows.some((x) => x.memberId === x.leader) ? rows : undefined;
  });
}

before(async () => {
  const ic = [0, 1, 2].map((i) => `infra${i + 1}=${peer(i)}`).join(',');
  for (let i = 0; i < 3; i++) members.push(member(i, ic, 'new'));
  for (const m of members) m.start();
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps(members), 'endpoint', 'health'])).code === 0, 60_000);
  const put = await etcdctl(['--endpoints', members[0].clientUrl, 'put', 'before-join', 'v0']);
  assert.equal(put.code, 0, put.stderr);
});

after(async () => {
  await stopAll();
});

test('member add --learner prints etcd 3.4\'s lines (no "as learner" in 3.4); the new member joins with state existing', { timeout: 120_000 }, async () => {
  const r = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'add', 'infra4', `--peer-urls=${peer(3)}`, '--learner']);
  assert.equal(r.code, 0, r.stderr);
  const m = /^Member ([ 0-9a-f]{16}) added to cluster ([ 0-9a-f]{16})\n\nETCD_NAME="infra4"\nETCD_INITIAL_CLUSTER="([^"]+)"\nETCD_INITIAL_ADVERTISE_PEER_URLS="([^"]+)"\nETCD_INITIAL_CLUSTER_STATE="existing"\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  newId = m[1].trim();
  assert.equal(m[4], peer(3));
  const ic = m[3].split(',').sort();
  assert.deepEqual(ic, [0, 1, 2, 3].map((i) => `infra${i + 1}=${peer(i)}`).sort());

  // A learner that is not running is not in sync: promote is refused.
  const early = await etcdctl(['--endpoints', members[1].clientUrl, 'member', 'promote', newId]);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /Error: etcdserver: can only promote a learner member which is in sync with leader/);
  // Only one learner at a time.
  const second = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'add', 'infra5', `--peer-urls=${peer(4)}`, '--learner']);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /Error: etcdserver: too many learner members in cluster/);
  // The same peer URL twice.
  const dup = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'add', 'infra9', `--peer-urls=${peer(0)}`]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /Error: etcdserver: Peer URLs already exists/);

  const list = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'list']);
  assert.match(list.stdout, new RegExp(`^${newId}, unstarted, , ${peer(3)}, , true$`, 'm'));

  const m4 = member(3, m[3], 'existing');
  members.push(m4);
  m4.start();
  // A learner serves serializable reads only (etcd 3.4's interceptor).
  await waitFor('serializable read on the learner', async () => {
    const g = await etcdctl(['--endpoints', m4.clientUrl, 'get', 'before-join', '--consistency=s']);
    return g.code === 0 && g.stdout === 'before-join\nv0\n';
  }, 60_000);
  const w = await etcdctl(['--endpoints', m4.clientUrl, 'put', 'on-learner', 'x']);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /Error: etcdserver: rpc not supported for learner/);
  const promoted = await waitFor('promote succeeds once the learner caught up', async () => {
    const x = await etcdctl(['--endpoints', members[0].clientUrl, 'member', 'promote', newId]);
    if (x.code !== 0) assert.match(x.stderr, /in sync with leader|request timed out/);
    return x.code === 0 ? x : undefined;
  }, 60_000, 500);
  assert.match(promoted.stdout, new RegExp(`^Member +${newId} promoted in cluster [ 0-9a-f]{16}\n$`));

  const got = await waitFor('the new member serves the data written before it joined', async () => {
    const g = await etcdctl(['--endpoints', m4.clientUrl, 'get', 'before-join']);
    return g.code === 0 && g.stdout === 'before-join\nv0\n' ? g : undefined;
  });
  assert.ok(got);
  const list4 = await waitFor('4 started voters', async () => {
    const l = await etcdctl(['--endpoints', m4.clientUrl, 'member', 'list']);
    const lines = l.stdout.trim().split('\n');
    return lines.length === 4 && lines.every((x) => x.includes(', started, ') && x.endsWith(', false')) ? l : undefined;
  });
  assert.match(list4.stdout, new RegExp(`^${newId}, started, infra4, ${peer(3)}, ${client(3)}, false$`, 'm'));
  // quorumctl prints the same list.
  const q = await quorumctl(['--endpoints', m4.clientUrl, 'member', 'list']);
  assert.equal(q.stdout, list4.stdout);
});

test('member remove: the removed member stops; writes continue', { timeout: 120_000 }, async () => {
  assert.ok(newId, 'needs the previous test');
  const list = await etcdctl(['--endpoints', members[3].clientUrl, 'member', 'list']);
  const id1 = /^([0-9a-f]+), started, infra1,/m.exec(list.stdout)![1];
  const r = await etcdctl(['--endpoints', members[1].clientUrl, 'member', 'remove', id1]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Member +${id1} removed from cluster [ 0-9a-f]{16}\n$`));
  const code = await Promise.race([members[0].exited, new Promise<string>((res) => setTimeout(() => res('still running'), 30_000))]);
  assert.notEqual(code, 'still running');
  const again = await etcdctl(['--endpoints', members[1].clientUrl, 'member', 'remove', id1]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Error: etcdserver: member not found/);
  const rest = members.slice(1);
  await waitFor('a write after the removal', async () => (await etcdctl(['--endpoints', rest[0].clientUrl, 'put', 'after-remove', 'v1'])).code === 0, 30_000);
  const g = await waitFor('read on the joined member', async () => {
    const x = await etcdctl(['--endpoints', members[3].clientUrl, 'get', 'after-remove']);
    return x.stdout === 'after-remove\nv1\n' ? x : undefined;
  });
  assert.ok(g);
  const l3 = await etcdctl(['--endpoints', rest[0].clientUrl, 'member', 'list']);
  assert.equal(l3.stdout.trim().split('\n').length, 3);

  // Restart an original member with today's --initial-cluster and state existing (as a re-rendered config
  // does): it keeps its IDs and rebuilds the membership from its data dir.
  const m2 = members[1];
  await m2.kill('SIGTERM');
  const today = [1, 2, 3].map((i) => `infra${i + 1}=${peer(i)}`).join(',');
  const args = m2.args.map((a, i) => (m2.args[i - 1] === '--initial-cluster' ? today : a === 'new' ? 'existing' : a));
  const again2 = new Member(m2.name, m2.clientUrl, m2.peerUrl, m2.metricsUrl, m2.dataDir, args, m2.logPath);
  members[1] = again2;
  again2.start();
  const l4 = await waitFor('the restarted member lists the same members', async () => {
    const x = await etcdctl(['--endpoints', again2.clientUrl, 'member', 'list']);
    return x.code === 0 && x.stdout.trim().split('\n').length === 3 ? x : undefined;
  });
  assert.equal([...l4.stdout.trim().split('\n')].sort().join('\n'), [...l3.stdout.trim().split('\n')].sort().join('\n'));
  await waitFor('a write through the restarted member', async () => (await etcdctl(['--endpoints', again2.clientUrl, 'put', 'after-restart', 'v2'])).code === 0, 30_000);
});

test('move-leader hands leadership to another voter; a non-leader endpoint alone is refused', { timeout: 120_000 }, async () => {
  const rest = members.slice(1);
  const st = await statusWithLeader(rest);
  const leader = st.find((x) => x.memberId === x.leader)!;
  const other = st.find((x) => x.memberId !== x.leader)!;
  const target = BigInt(other.memberId).toString(16);
  const bad = await etcdctl(['--endpoints', other.endpoint, 'move-leader', target]);
  assert.equal(bad.code, 128);
  assert.match(bad.stderr, /Error: no leader endpoint given at/);
  const r = await etcdctl(['--endpoints', eps(rest), 'move-leader', target]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Leadership transferred from ${BigInt(leader.memberId).toString(16)} to ${target}\n`);
  const s2 = await etcdctl(['--endpoints', other.endpoint, 'endpoint', 'status', '-w', 'json']);
  assert.equal(parseStatusJson(s2.stdout)[0].leader, other.memberId);
  // quorumctl move-leader back.
  const back = BigInt(leader.memberId).toString(16);
  const q = await quorumctl(['--endpoints', eps(rest), 'move-leader', back]);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, `Leadership transferred from ${target} to ${back}\n`);
});

test('member remove with a voter down: a live voter is refused (unhealthy cluster), the dead one is removed', { timeout: 120_000 }, async () => {
  const rest = members.slice(1);
  const st = await statusWithLeader(rest);
  const leader = st.find((x) => x.memberId === x.leader)!;
  const [live, dead] = st.filter((x) => x.memberId !== x.leader);
  const deadMember = rest.find((m) => m.clientUrl.endsWith(dead.endpoint.replace(/^https?:\/\//, '')))!;
  await deadMember.kill('SIGKILL');
  // The leader counts a peer as down once it has not reached it for the health interval (5 s): wait past it, so
  // the refusal below is certain (before it, removing the live voter would be allowed and would succeed).
  await new Promise((r) => setTimeout(r, 7_000));
  const refused = await etcdctl(['--endpoints', leader.endpoint, 'member', 'remove', BigInt(live.memberId).toString(16)]);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /Error: etcdserver: unhealthy cluster/);
  const deadId = BigInt(dead.memberId).toString(16);
  const r = await waitFor('removing the dead member', async () => {
    const x = await etcdctl(['--endpoints', leader.endpoint, 'member', 'remove', deadId]);
    return x.code === 0 ? x : undefined;
  }, 30_000);
  assert.match(r.stdout, new RegExp(`^Member +${deadId} removed from cluster`));
  const list = await etcdctl(['--endpoints', leader.endpoint, 'member', 'list']);
  assert.equal(list.stdout.trim().split('\n').length, 2, list.stdout);
  await waitFor('a write with two members', async () => (await etcdctl(['--endpoints', leader.endpoint, 'put', 'after-dead-remove', 'v'])).code === 0, 30_000);
});
