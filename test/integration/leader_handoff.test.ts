/**
 * Leadership changes under load on a 3-member loopback cluster (plaintext, ports 27200-27208): a writer and a
 * linearizable reader on r1 keep going while leadership is moved between r2 and r3 (MoveLeader) and while the
 * leader is stopped with SIGTERM and restarted. Requests that r1 forwards to a leader in the middle of a
 * transfer are dropped by raft and must be passed on once the new leader is known, and a stopping leader hands
 * leadership over first (leader_handoff.ts, etcd's EtcdServer.Stop): no request may fail, every acknowledged
 * write must read back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { Member, stopAll, waitFor } from './quorumd_harness.js';

const BASE_PORT = 27200;
const base = mkdtempSync(join(tmpdir(), 'quorumd-handoff-'));
const names = ['h1', 'h2', 'h3'];
let members: Member[] = [];

before(async () => {
  const peerUrl = (i: number) => `http://127.0.0.1:${BASE_PORT + 3 * i + 1}`;
  const initial = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  members = names.map((name, i) => {
    const url = `http://127.0.0.1:${BASE_PORT + 3 * i}`;
    const metrics = `http://127.0.0.1:${BASE_PORT + 3 * i + 2}`;
    return new Member(name, url, peerUrl(i), metrics, join(base, name), [
      '--name', name, '--data-dir', join(base, name),
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'handoff-test',
      '--listen-metrics-urls', metrics,
    ], join(base, `${name}.log`));
  });
  for (const m of members) m.start();
  await waitFor('a healthy cluster', async () => {
    const c = new StoreClient(members[0]!.clientUrl, undefined, { timeoutMs: 2000 });
    try {
      await c.put('ready', 'yes');
      return true;
    } finally {
      c.close();
    }
  }, 60_000, 500);
});

after(async () => {
  await stopAll();
});

async function withClient<T>(i: number, fn: (c: StoreClient) => Promise<T>): Promise<T> {
  const c = new StoreClient(members[i]!.clientUrl, undefined, { timeoutMs: 10_000 });
  try {
      return await fn(c);
  } finally {
    c.close();
  }
}

/** Index of the member that leads, as r1 sees it. */
async function leaderIndex(): Promise<number> {
  const ids = await Promise.all(members.map((_, i) => withClient(i, async (c) => (await c.status()).memberId)));
  const lead = await withClient(0, async (c) => (await c.status()).leader);
  return ids.indexOf(lead);
}

/** Make member `to` the leader (MoveLeader on the current leader). */
async function moveTo(to: number): Promise<void> {
  const id = await withClient(to, async (c) => (await c.status()).memberId);
  await waitFor(`${names[to]} leads`, async () => {
    const from = await leaderIndex();
    if (from === to) return true;
    if (from >= 0) await withClient(from, (c) => c.unary('Maintenance', 'MoveLeader', { targetID: id.toString() }));
    return false;
  }, 30_000, 200);
}

test('leadership moves and a stopping leader lose no request forwarded by a follower', { timeout: 240_000 }, async () => {
  const c = new StoreClient(members[0]!.clientUrl, undefined, { timeoutMs: 10_000 });
  const acked: string[] = [];
  const failures: string[] = [];
  let reads = 0;
  let running = true;
  const writer = (async () => {
    for (let n = 0; running; n++) {
      const key = `h/${String(n).padStart(6, '0')}`;
      try {
        await c.put(key, String(n));
        acked.push(key);
      } catch (e) {
        failures.push(`${new Date().toISOString()} put ${key}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const reader = (async () => {
    while (running) {
      try {
        await c.get('ready');
        reads++;
      } catch (e) {
        failures.push(`${new Date().toISOString()} get: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const handedOver: boolean[] = [];
  try {
    for (let round = 0; round < 6; round++) {
      await moveTo(1 + (round % 2));
      await new Promise((r) => setTimeout(r, 300));
    }
    for (let round = 0; round < 2; round++) {
      const i = 1 + (round % 2);
      await moveTo(i);
      await new Promise((r) => setTimeout(r, 300));
      await members[i]!.kill('SIGTERM');
      handedOver.push(/stopping leader: leadership transferred/.test(readFileSync(members[i]!.logPath, 'utf8')));
      members[i]!.start();
      await withClient(i, (m) => waitFor(`${names[i]} serves again`, async () => (await m.get('ready', {})) !== undefined, 60_000, 300));
    }
  } finally {
    running = false;
    await Promise.all([writer, reader]);
  }
  assert.deepEqual(failures, [], 'no failed request on r1');
  assert.deepEqual(handedOver, [true, true], 'each stopping leader handed leadership over');
  assert.ok(acked.length > 20 && reads > 20, `the clients made progress (${acked.length} writes, ${reads} reads)`);
  const all = await c.range('h/', { rangeEnd: Buffer.from('h0') });
  const got = new Set(all.kvs.map((kv) => kv.key.toString()));
  assert.deepEqual(acked.filter((k) => !got.has(k)), [], 'every acknowledged write reads back');
  c.close();
});
