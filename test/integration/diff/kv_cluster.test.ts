/**
 * Txn and Compact on a 3-member quorumd cluster: a txn proposed through a follower is applied atomically at one
 * revision on every member, and a compaction asked of one member reaches every member through Raft (each then
 * refuses reads below the compacted revision with etcd's error, and still serves reads at and above it).
 * Ports 21140-21148.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Member, waitFor } from '../quorumd_harness.js';
import { b, Endpoint } from './harness.js';

const members: Member[] = [];
const eps: Endpoint[] = [];
after(async () => {
  for (const e of eps) e.close();
  for (const m of members) await m.kill('SIGKILL');
});

test('txn and compaction reach every member at the same revision', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-kvc-'));
  const u = (p: number) => `http://127.0.0.1:${p}`;
  const peers = [0, 1, 2].map((i) => u(21141 + 3 * i));
  const initial = peers.map((p, i) => `m${i}=${p}`).join(',');
  for (let i = 0; i < 3; i++) {
    const client = u(21140 + 3 * i);
    const m = new Member(`m${i}`, client, peers[i]!, u(21142 + 3 * i), join(dir, `m${i}`), [
      '--name', `m${i}`, '--data-dir', join(dir, `m${i}`), '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peers[i]!, '--initial-advertise-peer-urls', peers[i]!, '--initial-cluster', initial,
      '--listen-metrics-urls', u(21142 + 3 * i),
    ], join(dir, `m${i}.log`));
    m.start();
    members.push(m);
    eps.push(new Endpoint(`m${i}`, client));
  }
  await waitFor(`cluster (logs in ${dir})`, async () => {
    await eps[0]!.raw('KV', 'Put', { key: b('ready'), value: b('1') }, 3000);
    return true;
  }, 60_000, 300);
  // find a follower to propose through
  const statuses = await Promise.all(eps.map((e) => e.raw('Maintenance', 'Status', {})));
  const leader = String(statuses[0]!.leader);
  const follower = eps[statuses.findIndex((s) => String((s.header as Record<string, unknown>).member_id) !== leader)]!;
  const txn = await follower.raw('KV', 'Txn', {
    compare: [{ key: b('k'), target: 2, result: 0, mod_revision: 0 }],
    success: [
      { request_put: { key: b('k'), value: b('1') } },
      { request_put: { key: b('k2'), value: b('2') } },
      { request_delete_range: { key: b('ready') } },
    ],
  });
  assert.equal(txn.succeeded, true);
  const txnRev = Number((txn.header as Record<string, string>).revision);
  for (let i = 0; i < 3; i++) await follower.raw('KV', 'Put', { key: b('k'), value: b(`v${i}`) });
  const read = async (e: Endpoint, revision: number) => e.call('KV', 'Range', { key: b('k'), range_end: b('l'), revision, serializable: true });
  // every member: both keys at the txn's revision, 'ready' gone at that revision
  for (const e of eps) {
    const r = await waitFor(`${e.name} applied the txn`, async () => {
      const x = (await read(e, txnRev)) as { kvs?: { key: Buffer; mod_revision: string }[] };
      return x.kvs && x.kvs.length === 2 ? x : undefined;
    }, 20_000, 100);
    assert.deepEqual(r.kvs!.map((kv) => [String(kv.key), kv.mod_revision]), [['k', String(txnRev)], ['k2', String(txnRev)]]);
  }
  // compact through a different member than the one that wrote
  const other = eps.find((e) => e !== follower)!;
  await other.raw('KV', 'Compact', { revision: txnRev + 1, physical: true });
  for (const e of eps) {
    await waitFor(`${e.name} compacted`, async () => {
      const x = (await read(e, txnRev)) as { error?: { code: number; message: string } };
      return x.error?.code === 11 && x.error.message === 'etcdserver: mvcc: required revision has been compacted';
    }, 20_000, 100);
    const ok = (await read(e, txnRev + 1)) as { kvs: { value: Buffer }[] };
    assert.deepEqual(ok.kvs.map((kv) => String(kv.value)), ['v0', '2']);
  }
  const again = await other.call('KV', 'Compact', { revision: txnRev });
  assert.deepEqual(again, { error: { code: 11, message: 'etcdserver: mvcc: required revision has been compacted' } });
});
