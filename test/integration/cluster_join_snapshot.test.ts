/**
 * A member joins a cluster whose log starts at a snapshot (a cluster restored from a backup with `snapshot
 * restore`): the leader cannot send the old entries, so the learner catches up through MsgSnap carrying the MVCC
 * image (ports 24300-24399). Then it is promoted and a restart of the joined member comes back with the same data
 * and membership (member/join.json + WAL snapshot record).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Member, etcdctl, quorumctl, stopAll, waitFor } from './quorumd_harness.js';

const base = mkdtempSync(join(tmpdir(), 'quorumd-joinsnap-'));
const u = (p: number) => `http://127.0.0.1:${p}`;

function member(name: string, ports: [number, number, number], dataDir: string, initialCluster: string, state: 'new' | 'existing'): Member {
  const [c, p, m] = ports;
  return new Member(name, u(c), u(p), u(m), dataDir, [
    '--name', name, '--data-dir', dataDir, '--listen-client-urls', u(c), '--advertise-client-urls', u(c),
    '--listen-peer-urls', u(p), '--initial-advertise-peer-urls', u(p), '--initial-cluster-token', 'restored',
    '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--listen-metrics-urls', u(m),
  ], join(base, `${name}.log`));
}

after(async () => {
  await stopAll();
});

test('a learner joining a restored cluster catches up from a snapshot, is promoted, and restarts', { timeout: 180_000 }, async () => {
  // 1. a source member with data, backed up
  const src = member('src', [24301, 24302, 24303], join(base, 'src'), `src=${u(24302)}`, 'new');
  src.start();
  await waitFor('source up', async () => (await etcdctl(['--endpoints', src.clientUrl, 'put', 'k0', 'v0'])).code === 0, 30_000);
  for (let i = 1; i < 20; i++) assert.equal((await etcdctl(['--endpoints', src.clientUrl, 'put', `k${i}`, `v${i}`])).code, 0);
  const file = join(base, 'backup.db');
  const save = await quorumctl(['--endpoints', src.clientUrl, 'snapshot', 'save', file]);
  assert.equal(save.code, 0, save.stderr);
  await src.kill('SIGTERM');

  // 2. restore into a new 1-member cluster and start it
  const r1Dir = join(base, 'r1');
  const res = await quorumctl(['snapshot', 'restore', file, '--name', 'r1', '--initial-cluster', `r1=${u(24312)}`,
    '--initial-cluster-token', 'restored', '--initial-advertise-peer-urls', u(24312), '--data-dir', r1Dir]);
  assert.equal(res.code, 0, res.stderr);
  const r1 = member('r1', [24311, 24312, 24313], r1Dir, `r1=${u(24312)}`, 'new');
  r1.start();
  await waitFor('restored member up', async () => (await etcdctl(['--endpoints', r1.clientUrl, 'put', 'after-restore', 'x'])).code === 0, 30_000);

  // 3. add a learner and start it with state existing: it needs the snapshot
  const add = await etcdctl(['--endpoints', r1.clientUrl, 'member', 'add', 'r2', `--peer-urls=${u(24322)}`, '--learner']);
  assert.equal(add.code, 0, add.stderr);
  const id = /^Member +([0-9a-f]+) added/.exec(add.stdout)![1];
  const ic = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(add.stdout)![1];
  const r2 = member('r2', [24321, 24322, 24323], join(base, 'r2'), ic, 'existing');
  r2.start();
  await waitFor('the learner serves the restored data', async () => {
    const g = await etcdctl(['--endpoints', r2.clientUrl, 'get', 'k7', '--consistency=s']);
    return g.code === 0 && g.stdout === 'k7\nv7\n';
  }, 60_000);
  const after1 = await etcdctl(['--endpoints', r2.clientUrl, 'get', 'after-restore', '--consistency=s']);
  assert.equal(after1.stdout, 'after-restore\nx\n');
  await waitFor('promote', async () => (await etcdctl(['--endpoints', r1.clientUrl, 'member', 'promote', id])).code === 0, 60_000, 500);

  // 4. restart the joined member: same data, same membership, still a voter
  await r2.kill('SIGTERM');
  assert.equal((await etcdctl(['--endpoints', r1.clientUrl, 'put', 'while-down', 'y'])).code, 1, 'a 2-voter cluster needs both');
  r2.start();
  await waitFor('write with both voters', async () => (await etcdctl(['--endpoints', r1.clientUrl, 'put', 'while-down', 'y'])).code === 0, 60_000);
  const g = await waitFor('restarted member has everything', async () => {
    const x = await etcdctl(['--endpoints', r2.clientUrl, 'get', 'k', '--prefix', '--keys-only', '--consistency=s']);
    return x.stdout.split('\n').filter(Boolean).length === 20 ? x : undefined;
  });
  assert.ok(g);
  const list = await etcdctl(['--endpoints', r2.clientUrl, 'member', 'list']);
  const lines = list.stdout.trim().split('\n').sort();
  assert.equal(lines.length, 2);
  for (const l of lines) assert.match(l, /, started, r[12], http:\/\/127\.0\.0\.1:243[12]2, http:\/\/127\.0\.0\.1:243[12]1, false$/);
});
