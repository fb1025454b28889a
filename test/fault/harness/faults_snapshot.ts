/**
 * Snapshot and durability faults (issue 4): members run with a small --snapshot-count so the Raft log is
 * compacted during the run (store/server/snapshot_policy.ts).
 * - snapshot-catchup-partition: a follower is cut off until the leader has taken two snapshots after the cut
 *   (its log is compacted past the follower's last entry), then healed: the follower must be caught up by
 *   MsgSnap ("applied snapshot" in its log, and its applied index jumps to the snapshot's).
 * - kill9-all-after-compaction: once every member has snapshotted and compacted, all are killed with kill -9
 *   losing whatever was not fsynced, and restarted: each must recover from its snapshot + WAL tail
 *   ("recovered from snapshot" in its log).
 * - kill9-all-lose-unsynced: every member killed, losing un-fsynced WAL writes, then restarted (no snapshots):
 *   nothing acknowledged may be lost. With QUORUMD_FAULT_ACK_BEFORE_FSYNC=1 (a broken build) it must be.
 * A harness assertion that fails (the snapshot path was not taken) throws: the run then fails as a harness error.
 */
import type { FaultCluster } from './cluster.js';
import type { Rng } from '../checker/generator.js';
import type { Fault } from './scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Small enough that a few seconds of the load produce several snapshots; the catch-up tail is shorter still. */
export const SNAPSHOT_ARGS = ['--snapshot-count', '150', '--experimental-snapshot-catchup-entries', '30'];

const leaderOr0 = (c: FaultCluster): Promise<number> => c.leaderOrFirst();

/** Polls `ok` every `everyMs` ms; throws Error naming `what` after `timeoutMs` ms (a harness error, not a violation). */
export async function waitFor(what: string, ok: () => boolean, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Picks a follower (seeded by `rng`) and cuts it off until the leader has saved two snapshots after the cut and at
 * least 1.5 s have passed: the second snapshot compacts the leader's log to (its index - 30), past everything the
 * follower holds, so on heal it must be caught up by MsgSnap (Raft §7). Under a heavy load two snapshots once took
 * ~120 ms, and the follower then caught up from entries: hence the minimum time cut off. The follower stays cut off
 * (the caller heals). Returns the leader's and the follower's member index (0-based). Polls the logs every
 * `everyMs` ms; throws (a harness error) if the two snapshots are not seen within 45 s.
 */
export async function cutOffFollowerUntilTwoSnapshots(c: FaultCluster, rng: Rng, everyMs = 250): Promise<{ leader: number; follower: number }> {
  const l = await leaderOr0(c);
  const others = [0, 1, 2].filter((i) => i !== l);
  const f = others[rng.int(others.length)]!;
  const before = c.logLines(l, 'saved snapshot').length;
  c.isolate(f);
  const cutAt = Date.now();
  await waitFor(`two snapshots on the leader f${l + 1} while f${f + 1} is cut off`, () => c.logLines(l, 'saved snapshot').length >= before + 2 && Date.now() - cutAt > 1500, 45_000, everyMs);
  return { leader: l, follower: f };
}

export const SNAPSHOT_FAULTS: Fault[] = [
  {
    name: 'snapshot-catchup-partition',
    extraArgs: SNAPSHOT_ARGS,
    inject: async (c, rng, ctx) => {
      const { follower: f } = await cutOffFollowerUntilTwoSnapshots(c, rng);
      const applied = c.logLines(f, 'applied snapshot').length;
      return async () => {
        c.heal();
        await waitFor(`f${f + 1} to install a snapshot from the leader after the partition`, () => c.logLines(f, 'applied snapshot').length > applied, 30_000);
        const line = c.logLines(f, 'applied snapshot').at(-1)!;
        ctx.log(`f${f + 1} applied snapshot ${String(line['incoming-leader-snapshot-index'])} (was at ${String(line['current-applied-index'])})`);
        if (Number(line['incoming-leader-snapshot-index']) <= Number(line['current-applied-index'])) throw new Error('the snapshot did not move the applied index');
      };
    },
  },
  {
    name: 'kill9-all-after-compaction',
    extraArgs: SNAPSHOT_ARGS,
    inject: async (c, _rng, ctx) => {
      await waitFor('a compacted log on every member', () => [0, 1, 2].every((i) => c.logLines(i, 'compacted Raft logs').length > 0), 45_000);
      const recovered = [0, 1, 2].map((i) => c.logLines(i, 'recovered from snapshot').length);
      let cut = 0;
      for (let i = 0; i < 3; i++) cut += await c.kill9(i, { loseUnsynced: true });
      ctx.log(`killed all, ${cut} un-fsynced WAL bytes lost`);
      await sleep(500);
      return async () => {
        for (let i = 0; i < 3; i++) c.restart(i);
        await waitFor('every member to recover from its snapshot', () => [0, 1, 2].every((i) => c.logLines(i, 'recovered from snapshot').length > recovered[i]!), 30_000);
      };
    },
  },
  {
    name: 'kill9-all-lose-unsynced',
    inject: async (c, _rng, ctx) => {
      let cut = 0;
      for (let i = 0; i < 3; i++) cut += await c.kill9(i, { loseUnsynced: true });
      ctx.log(`killed all, ${cut} un-fsynced WAL bytes lost`);
      await sleep(500);
      return async () => { for (let i = 0; i < 3; i++) c.restart(i); };
    },
  },
];
