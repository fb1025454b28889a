/**
 * HashKV, Snapshot and offline restore on quorumd:
 * - HashKV is equal on all 3 members at the same revision (current and an older one), via quorumctl and etcdctl;
 * - `snapshot save` (quorumctl, and real etcdctl against quorumd) -> `snapshot status` (revision, keys, size,
 *   hash) -> `snapshot restore` into 3 new data dirs (each with its --name, a new token and new peer URLs) ->
 *   the 3 restored members start as a NEW cluster, healthy, with the data and revision of the snapshot and the
 *   same HashKV as the original cluster at that revision;
 * - restore's errors (missing / wrong digest, existing data dir) with etcd's messages.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { hash } from '../../store/client/maintenance.js';
import { etcdctl, quorumctl, stopAll, waitFor, type Member } from './quorumd_harness.js';
import { clusterOnPorts, parseGoJson, startHealthy, statusOf, tempBase } from './maintenance_harness.js';

let base: string;
let members: Member[];
let snapRev = 0;
let snapHash = 0;
const snapFile = () => join(base, 'backup.db');

before(async () => {
  base = tempBase('snap');
  members = clusterOnPorts(3, 25300, base);
  await startHealthy(members);
  // a history with overwrites and deletes
  for (const [op, k, v] of [['put', 'a', '1'], ['put', 'b', '2'], ['put', 'a', '3'], ['del', 'b', ''], ['put', '/registry/pods/default/p1', 'spec'], ['put', 'c', '4']] as const) {
    const r = await etcdctl(['--endpoints', members[0]!.clientUrl, op, k, ...(v ? [v] : [])]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await stopAll();
});

type HashKvJson = { Endpoint: string; HashKV: { header: { revision: number }; hash: number; compact_revision: number } }[];

async function hashesAt(eps: string[], rev: number): Promise<HashKvJson> {
  const r = await quorumctl(['--endpoints', eps.join(','), 'endpoint', 'hashkv', '--rev', String(rev), '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return parseGoJson<HashKvJson>(r.stdout);
}

test('HashKV is equal on every member at the same revision', { timeout: 60_000 }, async () => {
  const eps = members.map((m) => m.clientUrl);
  const rev = (await statusOf(eps[0]!)).revision;
  // followers apply asynchronously: wait until all report the same revision
  await waitFor('all members at the same revision', async () => (await Promise.all(eps.map(statusOf))).every((s) => s.revision === rev));
  for (const at of [0, rev - 2]) {
    const list = await hashesAt(eps, at);
    assert.equal(list.length, 3);
    assert.equal(new Set(list.map((x) => x.HashKV.hash)).size, 1, JSON.stringify(list));
    for (const x of list) assert.equal(x.HashKV.compact_revision, -1);
  }
  // Maintenance.Hash (whole backend) agrees too once every member applied the same entries
  const whole = await Promise.all(eps.map(async (ep) => {
    const c = new StoreClient(ep);
    try {
      return (await hash(c)).hash;
    } finally {
      c.close();
    }
  }));
  assert.equal(new Set(whole).size, 1, JSON.stringify(whole));
  const table = await quorumctl(['--endpoints', eps[0]!, 'endpoint', 'hashkv', '--cluster', '-w', 'table']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^\+-+\+-+\+\n\|\s+ENDPOINT\s+\|\s+HASH\s+\|\n/);
  assert.equal(table.stdout.split('\n').filter((l) => l.startsWith('| http')).length, 3);
  const viaEtcdctl = await etcdctl(['--endpoints', eps.join(','), 'endpoint', 'hashkv']);
  const hashes = viaEtcdctl.stdout.split('\n').filter(Boolean).map((l) => l.split(', ')[1]);
  assert.equal(hashes.length, 3);
  assert.equal(new Set(hashes).size, 1);
  const future = await quorumctl(['--endpoints', eps[0]!, 'endpoint', 'hashkv', '--rev', String(rev + 100)]);
  assert.equal(future.code, 1);
  assert.match(future.stderr, /Failed to get the hash of endpoint .* \(etcdserver: mvcc: required revision is a future revision\)/);
});

test('snapshot save (quorumctl and etcdctl) and snapshot status', { timeout: 60_000 }, async () => {
  const ep = members[1]!.clientUrl;
  const st = await statusOf(ep);
  snapRev = st.revision;
  const save = await quorumctl(['--endpoints', ep, 'snapshot', 'save', snapFile()]);
  assert.equal(save.code, 0, save.stderr);
  assert.equal(save.stdout, `Snapshot saved at ${snapFile()}\n`);
  const size = readFileSync(snapFile()).length;
  assert.equal(size % 512, 32, 'image in 512-byte pages followed by the SHA-256');
  const etcdctlFile = join(base, 'backup-etcdctl.db');
  const save2 = await etcdctl(['--endpoints', ep, 'snapshot', 'save', etcdctlFile]);
  assert.equal(save2.code, 0, save2.stderr);
  assert.equal(save2.stdout, `Snapshot saved at ${etcdctlFile}\n`);
  const json = await quorumctl(['snapshot', 'status', snapFile(), '-w', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
  assert.deepEqual(Object.keys(s), ['hash', 'revision', 'totalKey', 'totalSize']);
  assert.equal(s.revision, snapRev);
  assert.equal(s.totalKey, 6); // 5 versions + 1 tombstone
  assert.equal(s.totalSize, size - 32);
  const json2 = await quorumctl(['snapshot', 'status', etcdctlFile, '-w', 'json']);
  assert.equal(JSON.parse(json2.stdout).revision, snapRev);
  const table = await quorumctl(['snapshot', 'status', snapFile(), '-w', 'table']);
  assert.match(table.stdout, /\|\s+HASH\s+\|\s+REVISION\s+\|\s+TOTAL KEYS\s+\|\s+TOTAL SIZE\s+\|/);
  assert.match(table.stdout, new RegExp(`\\|\\s+${s.hash.toString(16)} \\|\\s+${snapRev} \\|\\s+6 \\|`));
  const simple = await quorumctl(['snapshot', 'status', snapFile()]);
  assert.match(simple.stdout, new RegExp(`^${s.hash.toString(16)}, ${snapRev}, 6, \\d+(\\.\\d)? kB\\n$`));
  const missing = await quorumctl(['snapshot', 'status', join(base, 'nope.db')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `Error: stat ${join(base, 'nope.db')}: no such file or directory\n`);
  const list = await hashesAt([ep], snapRev);
  snapHash = list[0]!.HashKV.hash;
});

test('snapshot restore: errors with etcd\'s messages', { timeout: 60_000 }, async () => {
  const good = readFileSync(snapFile());
  const noHash = join(base, 'nohash.db');
  writeFileSync(noHash, good.subarray(0, good.length - 32));
  const r1 = await quorumctl(['snapshot', 'restore', noHash, '--data-dir', join(base, 'x1')]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /Error: snapshot missing hash but --skip-hash-check=false\n$/);
  const badHash = join(base, 'badhash.db');
  const b = Buffer.from(good);
  b[b.length - 1] ^= 0xff;
  writeFileSync(badHash, b);
  const r2 = await quorumctl(['snapshot', 'restore', badHash, '--data-dir', join(base, 'x2')]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /Error: expected sha256 \[(\d+ ){31}\d+\], got \[(\d+ ){31}\d+\]\n$/);
  const r3 = await quorumctl(['snapshot', 'restore', noHash, '--skip-hash-check', '--data-dir', join(base, 'x3')]);
  assert.equal(r3.code, 0, r3.stderr);
  const r4 = await quorumctl(['snapshot', 'restore', snapFile(), '--data-dir', join(base, 'x3')]);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, new RegExp(`Error: data-dir "${join(base, 'x3')}" exists\\n$`));
  const r5 = await quorumctl(['snapshot', 'restore', snapFile(), '--name', 'zz', '--data-dir', join(base, 'x5')]);
  assert.equal(r5.code, 1);
  assert.match(r5.stderr, /Error: couldn't find local name "zz" in the initial cluster configuration\n$/);
});

test('restore into 3 new data dirs -> a new healthy cluster at the snapshot revision with the same data', { timeout: 120_000 }, async () => {
  const restoredBase = join(base, 'restored');
  const fresh = clusterOnPorts(3, 25400, restoredBase, { token: 'restored-cluster', names: ['r1', 'r2', 'r3'] });
  const initialCluster = fresh.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  for (const m of fresh) {
    const r = await quorumctl(['snapshot', 'restore', snapFile(), '--name', m.name, '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'restored-cluster', '--initial-advertise-peer-urls', m.peerUrl, '--data-dir', m.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  }
  await startHealthy(fresh);
  const eps = fresh.map((m) => m.clientUrl);
  for (const ep of eps) {
    const s = await statusOf(ep);
    assert.equal(s.revision, snapRev);
  }
  const members2 = await etcdctl(['--endpoints', eps[0]!, 'member', 'list']);
  assert.equal(members2.stdout.split('\n').filter(Boolean).length, 3);
  assert.match(members2.stdout, /, started, r1, /);
  const oldStatus = await statusOf(members[0]!.clientUrl);
  const newStatus = await statusOf(eps[0]!);
  assert.notEqual(newStatus.memberId, oldStatus.memberId, 'a new cluster with new member IDs');
  const get = await etcdctl(['--endpoints', eps[2]!, 'get', '', '--prefix']);
  assert.equal(get.stdout, '/registry/pods/default/p1\nspec\na\n3\nc\n4\n');
  const old = await etcdctl(['--endpoints', eps[1]!, 'get', 'a', '--rev', '2', '--print-value-only']);
  assert.equal(old.stdout, '1\n', 'history before the snapshot is kept');
  const list = await hashesAt(eps, snapRev);
  for (const x of list) assert.equal(x.HashKV.hash, snapHash);
  const put = await etcdctl(['--endpoints', eps[1]!, 'put', 'after', 'restore', '-w', 'json']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(parseGoJson<{ header: { revision: number } }>(put.stdout).header.revision, snapRev + 1);
  // a restored member restarts from its snapshot plus the entries after it
  await fresh[0]!.kill('SIGTERM');
  fresh[0]!.start();
  await waitFor('restarted restored member healthy', async () => (await etcdctl(['--endpoints', eps[0]!, 'endpoint', 'health'])).code === 0, 60_000);
  const again = await etcdctl(['--endpoints', eps[0]!, 'get', '', '--prefix', '--keys-only', '--consistency', 's']);
  assert.equal(again.stdout, '/registry/pods/default/p1\n\na\n\nafter\n\nc\n\n');
  assert.equal((await statusOf(eps[0]!)).revision, snapRev + 1);
});
