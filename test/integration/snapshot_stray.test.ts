/**
 * A crash between writing a snapshot file and writing its WAL record (store/server/snapshot_policy.ts persists in
 * that order, as etcd does) leaves a snapshot file newer than any snapshot the WAL names. On a real single-member
 * quorumd (ports 40100-40102) with `--max-snapshots 1`: that state is made by hand (a real snapshot file, written
 * with fsync, at a higher index than the WAL's latest snapshot record); the member must start from the WAL's
 * snapshot, remove the stray file and log it, and later purges must keep the snapshot the WAL names, so the next
 * restart recovers from it with every key intact. On the old code the stray outranked the WAL's snapshot: the
 * purge deleted the WAL's file, and the next restart refused ("the WAL starts from the snapshot at index N but
 * member/snap has no file for it").
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { decodeSnapshot, Snapshotter, snapNameIndex } from '../../store/snap/snapshotter.js';
import { describeCluster, stopAll, waitFor } from './quorumd_harness.js';

const BASE = 40100;
const base = mkdtempSync(join(tmpdir(), 'quorumd-snapstray-'));
const [m] = describeCluster({
  names: ['infra1'], port: (j) => BASE + j, base, token: 'snap-stray',
  extra: ['--snapshot-count', '20', '--experimental-snapshot-catchup-entries', '5', '--max-snapshots', '1'],
});
const snapDir = join(m!.dataDir, 'member', 'snap');
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

after(async () => {
  await stopAll();
  rmSync(base, { recursive: true, force: true });
});

/** The member's JSON log lines whose msg is `msg`. */
function logLines(msg: string): Record<string, unknown>[] {
  const needle = `"msg":${JSON.stringify(msg)}`;
  return readFileSync(m!.logPath, 'utf8').split('\n').filter((l) => l.includes(needle)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Snapshot indexes in member/snap, newest first. */
const snapIndexes = () => readdirSync(snapDir).map(snapNameIndex).filter((i) => i !== undefined);

/** Starts the member and resolves once a put through it succeeds. */
async function startServing(): Promise<void> {
  m!.start();
  const c = new StoreClient(m!.clientUrl, undefined, { timeoutMs: 3000 });
  try {
    await waitFor('the member to serve a put', async () => (await c.put('ready', 'y')).revision > 0, 60_000);
  } finally {
    c.close();
  }
}

async function putKeys(from: number, to: number): Promise<void> {
  const c = new StoreClient(m!.clientUrl, undefined, { timeoutMs: 5000 });
  try {
    for (let i = from; i < to; i++) await c.put(`k${i}`, `v${i}`);
  } finally {
    c.close();
  }
}

test('a snapshot file newer than the WAL\'s latest snapshot record is removed at start; the WAL\'s one is loaded and never purged', { timeout: 180_000 }, async () => {
  await startServing();
  await putKeys(0, 30);
  await waitFor('a snapshot', async () => logLines('saved snapshot').length > 0, 30_000);
  assert.equal(await m!.kill('SIGTERM'), 0);
  const kept = snapIndexes();
  assert.equal(kept.length, 1, `--max-snapshots 1 keeps one file: ${readdirSync(snapDir).join(',')}`);
  const walIndex = kept[0]!;

  // The crash state: a whole snapshot file (tmp, fsync, rename, fsync dir) whose WAL record was never written. A
  // follower's stray (a leader's snapshot) keeps outranking its later snapshots when no election intervenes; a
  // single member's term rises on every restart, so the stray gets a later term to sort above them too.
  const named = readdirSync(snapDir).find((n) => snapNameIndex(n) === walIndex)!;
  const real = decodeSnapshot(readFileSync(join(snapDir, named)));
  const stray = await new Snapshotter(snapDir).save({ meta: { ...real.meta, term: real.meta.term + 10, index: walIndex + 1000 }, data: real.data });
  assert.deepEqual(snapIndexes().sort((a, b) => a - b), [walIndex, walIndex + 1000]);

  await startServing();
  const recovered = logLines('recovered from snapshot').at(-1);
  assert.equal(recovered?.['snapshot-index'], walIndex, 'started from the snapshot the WAL names');
  const removed = logLines('removed snapshot file not referenced by the WAL');
  assert.deepEqual(removed.map((l) => [l['path'], l['wal-snapshot-index']]), [[stray, walIndex]], 'the stray file is logged');
  assert.equal(existsSync(stray), false, 'the stray file is gone');

  // More writes: a new snapshot, and the purge (max 1) keeps it, not an older or stray file.
  const saved = logLines('saved snapshot').length;
  await putKeys(30, 70);
  await waitFor('a snapshot after the restart', async () => logLines('saved snapshot').length > saved, 30_000);
  const lastSaved = () => Number(logLines('saved snapshot').at(-1)!['snapshot-index']);
  await waitFor('the purge after the newest snapshot', async () => snapIndexes().length === 1 && snapIndexes()[0] === lastSaved(), 10_000)
    .catch(() => undefined); // asserted below, with the file list in the message
  assert.equal(await m!.kill('SIGTERM'), 0);
  const newest = lastSaved();
  assert.ok(newest > walIndex);
  assert.deepEqual(snapIndexes(), [newest], 'max-snapshots 1 kept the newest snapshot, the one the WAL names');

  // The next restart recovers from the WAL's latest snapshot with every key intact.
  await startServing();
  assert.equal(logLines('recovered from snapshot').at(-1)?.['snapshot-index'], newest);
  const c = new StoreClient(m!.clientUrl, undefined, { timeoutMs: 5000 });
  try {
    for (let i = 0; i < 70; i++) assert.equal(dec(await c.get(`k${i}`)), `v${i}`, `k${i}`);
  } finally {
    c.close();
  }
});
