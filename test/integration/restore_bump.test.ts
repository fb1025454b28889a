/**
 * `quorumctl snapshot restore --bump-revision N --mark-compacted` (etcd 3.5's etcdutl flags) on real quorumd
 * members, and what a restore keeps (leases, auth) now that backups carry the full state image:
 * - the flags one without the other: etcd's message, exit 128;
 * - a 3-member cluster restored with --bump-revision 1000 --mark-compacted: every member at revision
 *   backup + 1000, equal HashKV with that compact revision, a read at an old revision is ErrCompacted, a watch
 *   from an old revision is cancelled with compact_revision set (Kubernetes re-lists), the next put gets a
 *   revision above backup + 1000, the lease is back with its granted TTL and its key attached;
 * - a backup taken with auth enabled restores with auth enabled and its users.
 * Ports 37000-37299 (this file's range).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { etcdctl, quorumctl, stopAll, waitFor, type Member } from './quorumd_harness.js';
import { clusterOnPorts, parseGoJson, startHealthy, statusOf, tempBase } from './maintenance_harness.js';
import { RawWatch, createReq } from './watch_harness.js';

const BUMP = 1000;
let base: string;
let members: Member[];
let snapRev = 0;
let leaseId = '';
const snapFile = () => join(base, 'backup.db');

before(async () => {
  base = tempBase('bump');
  members = clusterOnPorts(3, 37000, base, { token: 'bump-src' });
  await startHealthy(members);
  const ep = members[0]!.clientUrl;
  const grant = await etcdctl(['--endpoints', ep, 'lease', 'grant', '600']);
  assert.equal(grant.code, 0, grant.stderr);
  leaseId = /^lease ([0-9a-f]+) granted with TTL\(600s\)/.exec(grant.stdout)![1]!;
  for (const args of [['put', 'a', '1'], ['put', 'leased', 'v', '--lease', leaseId], ['put', 'a', '3'], ['put', 'b', 'x'], ['del', 'b']]) {
    const r = await etcdctl(['--endpoints', ep, ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  snapRev = (await statusOf(ep)).revision;
  const save = await quorumctl(['--endpoints', ep, 'snapshot', 'save', snapFile()]);
  assert.equal(save.code, 0, save.stderr);
});

after(async () => {
  await stopAll();
});

test('--mark-compacted without --bump-revision (and the reverse) is refused as etcd does', { timeout: 30_000 }, async () => {
  for (const flags of [['--mark-compacted'], ['--bump-revision', '10'], ['--bump-revision', '0', '--mark-compacted']]) {
    const r = await quorumctl(['snapshot', 'restore', snapFile(), '--data-dir', join(base, 'never'), ...flags]);
    assert.equal(r.code, 128, `${flags.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, 'Error: --mark-compacted required if --revision-bump > 0\n');
  }
  const bad = await quorumctl(['snapshot', 'restore', snapFile(), '--data-dir', join(base, 'never'), '--bump-revision', 'lots', '--mark-compacted']);
  assert.equal(bad.code, 128);
  assert.match(bad.stderr, /invalid argument "lots" for "--bump-revision" flag/);
  const help = await quorumctl(['snapshot', 'restore', '--help']);
  const flat = help.stdout.replace(/\s+/g, ' ');
  assert.match(flat, /--bump-revision <n> How much to increase the latest revision after restore/);
  assert.match(flat, /--mark-compacted Mark the latest revision after restore as the point of scheduled compaction \(required if --bump-revision > 0, disallowed otherwise\)/);
});

test('restore with --bump-revision 1000 --mark-compacted: revisions jump, old revisions are compacted, leases kept', { timeout: 180_000 }, async () => {
  const fresh = clusterOnPorts(3, 37100, join(base, 'restored'), { token: 'bump-restored', names: ['r1', 'r2', 'r3'] });
  const initialCluster = fresh.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  for (const m of fresh) {
    const r = await quorumctl(['snapshot', 'restore', snapFile(), '--name', m.name, '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'bump-restored', '--initial-advertise-peer-urls', m.peerUrl, '--data-dir', m.dataDir,
      '--bump-revision', String(BUMP), '--mark-compacted']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`"revision":${snapRev + BUMP},"bump-revision":${BUMP},"compact-revision":${snapRev + BUMP},"leases":1`));
  }
  await startHealthy(fresh);
  const eps = fresh.map((m) => m.clientUrl);
  const list = await etcdctl(['--endpoints', eps[0]!, 'member', 'list']);
  assert.match(list.stdout, /, started, r1, /, 'the restored membership is the new one, r1 published');
  assert.equal(list.stdout.split('\n').filter(Boolean).length, 3);
  for (const ep of eps) assert.equal((await statusOf(ep)).revision, snapRev + BUMP);
  type HashKvJson = { Endpoint: string; HashKV: { hash: number; compact_revision: number } }[];
  const hk = await quorumctl(['--endpoints', eps.join(','), 'endpoint', 'hashkv', '-w', 'json']);
  assert.equal(hk.code, 0, hk.stderr);
  const hashes = parseGoJson<HashKvJson>(hk.stdout);
  assert.equal(hashes.length, 3);
  assert.equal(new Set(hashes.map((h) => h.HashKV.hash)).size, 1, hk.stdout);
  for (const h of hashes) assert.equal(h.HashKV.compact_revision, snapRev + BUMP);
  // a read at a revision a client saw before the disaster
  const old = await etcdctl(['--endpoints', eps[1]!, 'get', 'a', '--rev', String(snapRev - 1)]);
  assert.notEqual(old.code, 0);
  assert.match(old.stderr, /etcdserver: mvcc: required revision has been compacted/);
  const cur = await etcdctl(['--endpoints', eps[1]!, 'get', '', '--prefix', '-w', 'json']);
  const kvs = parseGoJson<{ kvs: { key: string; mod_revision: number }[] }>(cur.stdout).kvs;
  assert.deepEqual(kvs.map((kv) => Buffer.from(kv.key, 'base64').toString()), ['a', 'leased']);
  // a watcher resuming from its old revision is cancelled with the compact revision (an informer re-lists)
  const w = new RawWatch(eps[2]!);
  try {
    w.send(createReq({ key: 'a', start: snapRev }));
    const cancel = await w.waitFor('watch cancelled as compacted', (r) => r.canceled === true);
    assert.equal(String(cancel.compact_revision), String(snapRev + BUMP));
  } finally {
    w.close();
  }
  // the next write is above everything a client saw
  const put = await etcdctl(['--endpoints', eps[0]!, 'put', 'after', 'restore', '-w', 'json']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(parseGoJson<{ header: { revision: number } }>(put.stdout).header.revision, snapRev + BUMP + 1);
  // the lease came back with its granted TTL, its key attached
  const ttl = await etcdctl(['--endpoints', eps[0]!, 'lease', 'timetolive', leaseId, '--keys']);
  assert.equal(ttl.code, 0, ttl.stderr);
  const m = /granted with TTL\((\d+)s\), remaining\((\d+)s\), attached keys\(\[leased\]\)/.exec(ttl.stdout);
  assert.ok(m, ttl.stdout);
  assert.equal(m[1], '600');
  assert.ok(Number(m[2]) > 500, `remaining ${m[2]}s: reset to the granted TTL on restore`);
  await waitFor('all members at the new revision', async () => (await Promise.all(eps.map(statusOf))).every((s) => s.revision === snapRev + BUMP + 1));
  const hk2 = parseGoJson<HashKvJson>((await quorumctl(['--endpoints', eps.join(','), 'endpoint', 'hashkv', '-w', 'json'])).stdout);
  assert.equal(new Set(hk2.map((h) => h.HashKV.hash)).size, 1);
  for (const mm of fresh) await mm.kill('SIGTERM');
});

test('a backup taken with auth enabled restores with auth enabled and its users', { timeout: 120_000 }, async () => {
  const ep = members[0]!.clientUrl;
  for (const args of [['user', 'add', 'root:rootpw'], ['auth', 'enable']]) {
    const r = await etcdctl(['--endpoints', ep, ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  const authFile = join(base, 'backup-auth.db');
  const save = await quorumctl(['--endpoints', ep, '--user', 'root:rootpw', 'snapshot', 'save', authFile]);
  assert.equal(save.code, 0, save.stderr);
  const [one] = clusterOnPorts(1, 37200, join(base, 'auth-restored'), { token: 'auth-restored', names: ['s1'] });
  const r = await quorumctl(['snapshot', 'restore', authFile, '--name', 's1', '--initial-cluster', `s1=${one!.peerUrl}`,
    '--initial-cluster-token', 'auth-restored', '--initial-advertise-peer-urls', one!.peerUrl, '--data-dir', one!.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /"users":1,"auth-enabled":true/);
  one!.start();
  await waitFor('restored member answers', async () => {
    const g = await etcdctl(['--endpoints', one!.clientUrl, '--user', 'root:rootpw', 'get', 'a', '--print-value-only']);
    return g.code === 0 && g.stdout === '3\n';
  }, 60_000);
  const anon = await etcdctl(['--endpoints', one!.clientUrl, 'get', 'a']);
  assert.notEqual(anon.code, 0, 'auth is enabled on the restored cluster');
  assert.match(anon.stderr, /user name is empty|permission denied/);
  const wrong = await etcdctl(['--endpoints', one!.clientUrl, '--user', 'root:nope', 'get', 'a']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /authentication failed, invalid user ID or password/);
  // the restored member restarts from its full-state snapshot (plus its WAL entries): auth and data still there
  const put = await etcdctl(['--endpoints', one!.clientUrl, '--user', 'root:rootpw', 'put', 'after', 'restart']);
  assert.equal(put.code, 0, put.stderr);
  await one!.kill('SIGTERM');
  one!.start();
  await waitFor('restarted member answers', async () => {
    const g = await etcdctl(['--endpoints', one!.clientUrl, '--user', 'root:rootpw', 'get', 'after', '--print-value-only']);
    return g.code === 0 && g.stdout === 'restart\n';
  }, 60_000);
  assert.notEqual((await etcdctl(['--endpoints', one!.clientUrl, 'get', 'a'])).code, 0, 'auth still enabled after the restart');
});
