/**
 * Entry encoding v2 behind its cluster-wide gate (store/server/entry_codec_gate.ts), on a real 3-member quorumd
 * cluster driven by etcdctl 3.4: while one member publishes as a pre-v2 build (QUORUMD_TEST_ENTRY_V1_ONLY=1) every
 * member's WAL holds v1 entries only; once it restarts on v2 the gate opens and new puts are v2 on every member;
 * a restart replays both kinds; HashKV is equal across members; publishing as pre-v2 again closes the gate. And a committed entry that cannot be decoded
 * stops the member (exit 1, the index named in its log) instead of being skipped.
 * Ports 39200-39212 (this test's own range).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EntryType, type Entry } from '../../store/raft/types.js';
import { RecordType } from '../../store/wal/record.js';
import { scanSegment } from '../../store/wal/segment.js';
import { Wal } from '../../store/wal/wal.js';
import { computeClusterId, computeMemberId } from '../../store/server/ids.js';
import { ENTRY_V2_MAGIC } from '../../store/server/entry_codec.js';
import { decodeRequest, encodeRequest } from '../../store/server/request.js';
import { describeCluster, etcdctl, stopAll, waitFor, type Member } from './quorumd_harness.js';
import { StoreClient } from '../../store/client/client.js';

const BASE_PORT = 39200;
let members: Member[];
const eps = () => members.map((m) => m.clientUrl).join(',');

/** Every entry in a member's WAL (read-only scan of its segments; a torn tail of a running member is ignored). */
function walEntries(m: Member): Entry[] {
  const dir = join(m.dataDir, 'member', 'wal');
  const names = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
  const out: Entry[] = [];
  names.forEach((n, i) => {
    for (const r of scanSegment(readFileSync(join(dir, n)), n, i === names.length - 1).records) if (r.type === RecordType.Entry) out.push(r.entry);
  });
  return out;
}

/** The encodings ('v1' | 'v2') of the put entries for `key` in a member's WAL. */
function putEncodings(m: Member, key: string): string[] {
  return walEntries(m)
    .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
    .filter((e) => { const b = decodeRequest(e.data).body; return b.op === 'put' && Buffer.from(b.key).toString() === key; })
    .map((e) => (e.data[0] === ENTRY_V2_MAGIC ? 'v2' : 'v1'));
}

/** The encodings ('v1' | 'v2') of the txn entries whose first compare is on `key` in a member's WAL. */
function txnEncodings(m: Member, key: string): string[] {
  return walEntries(m)
    .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
    .filter((e) => { const b = decodeRequest(e.data).body; return b.op === 'txn' && Buffer.from(b.txn.compare[0]?.key ?? []).toString() === key; })
    .map((e) => (e.data[0] === ENTRY_V2_MAGIC ? 'v2' : 'v1'));
}

/** A create-if-absent txn through `m` (compare version = 0; put on success, range on failure); resolves `succeeded`. */
async function createTxn(m: Member, k: string, v: string): Promise<boolean> {
  const c = new StoreClient(m.clientUrl, undefined, { timeoutMs: 10_000 });
  try {
    const key = Buffer.from(k);
    const r = await c.unary<{ succeeded: boolean }>('KV', 'Txn', {
      compare: [{ result: 0, target: 0, key, version: '0' }],
      success: [{ request_put: { key, value: Buffer.from(v) } }],
      failure: [{ request_range: { key } }],
    });
    return r.succeeded;
  } finally {
    c.close();
  }
}

async function put(m: Member, k: string, v: string): Promise<void> {
  const r = await etcdctl(['--endpoints', m.clientUrl, 'put', k, v]);
  assert.equal(r.code, 0, r.stderr);
}

/** Waits until every member reports the same HashKV at the same revision, and returns it. */
async function equalHashes(): Promise<string> {
  return waitFor('equal HashKV on every member', async () => {
    const r = await etcdctl(['--endpoints', eps(), 'endpoint', 'hashkv', '-w', 'json']);
    if (r.code !== 0) return undefined;
    const hs = (JSON.parse(r.stdout.replace(/"hash":(\d+)/g, '"hash":"$1"')) as { HashKV: { hash: string; header: { revision: number } } }[])
      .map((x) => `${x.HashKV.hash}@${x.HashKV.header.revision}`);
    return hs.length === 3 && new Set(hs).size === 1 ? hs[0] : undefined;
  }, 30_000);
}

/** Starts `m`, as a pre-v2 build when `v1Only` (the env switch is read by the child at spawn time). */
function startAs(m: Member, v1Only: boolean): void {
  if (v1Only) process.env.QUORUMD_TEST_ENTRY_V1_ONLY = '1';
  try {
    m.start();
  } finally {
    delete process.env.QUORUMD_TEST_ENTRY_V1_ONLY;
  }
}

before(async () => {
  members = describeCluster({
    names: ['e1', 'e2', 'e3'], port: (j) => BASE_PORT + j, base: mkdtempSync(join(tmpdir(), 'quorumd-h2-codec-')),
    token: 'entry-codec', extra: ['--snapshot-count', '25', '--experimental-snapshot-catchup-entries', '10'],
  });
  startAs(members[0]!, false);
  startAs(members[1]!, false);
  startAs(members[2]!, true);
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps(), 'endpoint', 'health'])).code === 0, 60_000);
});

after(async () => {
  await stopAll();
});

test('a member that does not advertise v2 keeps every entry v1; once it does, new puts are v2 everywhere', { timeout: 180_000 }, async () => {
  // every member has published (the pre-v2 one without entryVersion): puts through any member stay v1
  await waitFor('all published', async () => {
    const r = await etcdctl(['--endpoints', members[0]!.clientUrl, 'member', 'list']);
    return r.code === 0 && r.stdout.split('\n').filter((l) => l.includes('started')).length === 3;
  });
  for (const [i, m] of members.entries()) await put(m, `/gate/closed-${i}`, `value-${i}`);
  for (const [i, m] of members.entries()) assert.equal(await createTxn(m, `/gate/txn-closed-${i}`, `t-${i}`), true);
  for (let i = 0; i < 40; i++) await put(members[i % 3]!, `/gate/fill-${i}`, 'x'.repeat(i)); // past a snapshot
  await equalHashes();
  for (const m of members) {
    for (let i = 0; i < 3; i++) assert.deepEqual(putEncodings(m, `/gate/closed-${i}`), ['v1'], `${m.name} /gate/closed-${i}`);
    for (let i = 0; i < 3; i++) assert.deepEqual(txnEncodings(m, `/gate/txn-closed-${i}`), ['v1'], `${m.name} txn /gate/txn-closed-${i}`);
    assert.equal(walEntries(m).filter((e) => e.data[0] === ENTRY_V2_MAGIC).length, 0, `${m.name}: no v2 entry while the gate is closed`);
  }

  // the pre-v2 member restarts on a v2 build: it publishes entryVersion 2 and the gate opens on every member
  await members[2]!.kill('SIGTERM');
  startAs(members[2]!, false);
  await waitFor('the gate open on every member', async () => {
    for (const [i, m] of members.entries()) await put(m, `/gate/probe-${i}`, 'p');
    return members.every((m) => members.every((_, i) => putEncodings(m, `/gate/probe-${i}`).at(-1) === 'v2'));
  }, 60_000, 500);
  for (const [i, m] of members.entries()) await put(m, `/gate/open-${i}`, `value-${i}`);
  await equalHashes();
  // txns (entry encoding v2 since txn joined it): the same outcome as v1, a v2 entry on every member
  for (const [i, m] of members.entries()) {
    assert.equal(await createTxn(m, `/gate/txn-open-${i}`, `t-${i}`), true);
    assert.equal(await createTxn(m, `/gate/txn-open-${i}`, 'again'), false, 'the key exists: the failure branch');
  }
  await equalHashes();
  for (const m of members) {
    for (let i = 0; i < 3; i++) assert.deepEqual(putEncodings(m, `/gate/open-${i}`), ['v2'], `${m.name} /gate/open-${i}`);
    for (let i = 0; i < 3; i++) assert.deepEqual(txnEncodings(m, `/gate/txn-open-${i}`), ['v2', 'v2'], `${m.name} txn /gate/txn-open-${i}`);
    const r = await etcdctl(['--endpoints', m.clientUrl, 'get', '--consistency=s', '/gate/txn-open-2', '--print-value-only']);
    assert.equal(r.stdout, 't-2\n', `${m.name}: the txn's put applied once, the failed one not`);
  }
  const del = await etcdctl(['--endpoints', members[1]!.clientUrl, 'del', '/gate/fill-1']);
  assert.equal(del.stdout, '1\n');
});

test('a restart of every member replays v1 and v2 entries (and snapshots) to the same state', { timeout: 180_000 }, async () => {
  const before = await equalHashes();
  for (const m of members) await m.kill('SIGTERM');
  for (const m of members) startAs(m, false);
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps(), 'endpoint', 'health'])).code === 0, 60_000);
  assert.equal((await equalHashes()).split('@')[0], before.split('@')[0]);
  for (const m of members) {
    const r = await etcdctl(['--endpoints', m.clientUrl, 'get', '--consistency=s', '--prefix', '/gate/', '--keys-only']);
    const keys = r.stdout.split('\n').filter((l) => l !== '');
    assert.ok(keys.includes('/gate/closed-2') && keys.includes('/gate/open-2') && !keys.includes('/gate/fill-1'), `${m.name}: ${keys.join(' ')}`);
    assert.ok(keys.includes('/gate/txn-closed-2') && keys.includes('/gate/txn-open-2'), `${m.name}: ${keys.join(' ')}`);
  }
});

test('a member that publishes as a pre-v2 build again (a rollback) closes the gate for new proposals', { timeout: 120_000 }, async () => {
  await members[2]!.kill('SIGTERM');
  startAs(members[2]!, true);
  await waitFor('the gate closed on every member', async () => {
    for (const [i, m] of members.entries()) await put(m, `/gate/reclosed-${i}`, 'p');
    return members.every((m) => members.every((_, i) => putEncodings(m, `/gate/reclosed-${i}`).at(-1) === 'v1'));
  }, 60_000, 500);
  await equalHashes();
});

/** Starts a 1-member data dir whose WAL holds `entries` (all committed) and returns its exit code (or 'running') and log. */
async function startOnWal(port: number, token: string, entries: (id: bigint) => Entry[]): Promise<{ code: number | string; log: string }> {
  const [m] = describeCluster({ names: ['bad1'], port: (j) => port + j, base: mkdtempSync(join(tmpdir(), 'quorumd-h2-bad-')), token });
  const memberId = computeMemberId([m!.peerUrl], token);
  const wal = await Wal.create(join(m!.dataDir, 'member', 'wal'), { memberId, clusterId: computeClusterId([memberId]) });
  const ents = entries(memberId);
  await wal.save({ term: 1, vote: memberId, commit: ents.length }, ents);
  await wal.close();
  m!.start();
  const code = await Promise.race([m!.exited, new Promise<string>((r) => setTimeout(() => r('running'), 20_000))]);
  if (code === 'running') await m!.kill('SIGKILL');
  return { code, log: readFileSync(m!.logPath, 'utf8') };
}

test('a committed entry that cannot be decoded stops the member with exit 1, naming its index', { timeout: 60_000 }, async () => {
  const good = encodeRequest({ id: 'abcdef012345-1', body: { op: 'put', key: Buffer.from('k'), value: Buffer.from('v'), lease: 0n, prevKv: false } }, { v2: true });
  const garbled = good.subarray(0, good.length - 2); // a v2 put cut short
  const r = await startOnWal(BASE_PORT + 10, 'entry-codec-bad', () => [
    { term: 1, index: 1, type: EntryType.Normal, data: good },
    { term: 1, index: 2, type: EntryType.Normal, data: garbled },
  ]);
  assert.equal(r.code, 1, r.log);
  assert.match(r.log, /cannot decode the committed entry at index 2 \(term 1, \d+ bytes\): entry v2: truncated/);
  const cc = await startOnWal(BASE_PORT + 13, 'entry-codec-bad-cc', () => [{ term: 1, index: 1, type: EntryType.ConfChange, data: new Uint8Array([1, 2, 3]) }]);
  assert.equal(cc.code, 1, cc.log);
  assert.match(cc.log, /cannot decode the conf change entry at index 1 \(term 1\)/);
});
