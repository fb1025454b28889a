/**
 * Long-mode-only faults (scripts/fault/main.js --faults NAME; not in FAULTS, so CI's list and seeds do not move):
 * crashes in the middle of a snapshot catch-up (Raft §7), where the snapshot file, the WAL's snapshot record and
 * the hard state that moves the commit index are written one after the other.
 * - snapshot-catchup-kill9-follower: a follower is cut off until the leader has saved two snapshots (its log is
 *   compacted past the follower), healed, then killed 0-600 ms later (seeded) losing un-fsynced WAL bytes, and
 *   restarted: it must start again (store/wal/wal.ts open raises a commit below the snapshot record) and catch up.
 * - snapshot-catchup-kill9-leader: the same, but the leader is killed while it sends the snapshot.
 * Members run with `--snapshot-count 150 --experimental-snapshot-catchup-entries 30`.
 */
import { SNAPSHOT_ARGS, cutOffFollowerUntilTwoSnapshots, waitFor as waitForEvery } from './faults_snapshot.js';
import type { Fault } from './scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = (what: string, ok: () => boolean, timeoutMs: number): Promise<void> => waitForEvery(what, ok, timeoutMs, 100);

function catchupCrash(name: string, victim: 'follower' | 'leader'): Fault {
  return {
    name,
    extraArgs: SNAPSHOT_ARGS,
    inject: async (c, rng, ctx) => {
      const { leader: l, follower: f } = await cutOffFollowerUntilTwoSnapshots(c, rng, 100);
      const delay = rng.int(600);
      return async () => {
        const sent = c.logLines(l, 'sending database snapshot').length;
        c.heal();
        if (victim === 'leader') {
          // the follower may also catch up from entries (the leader's log kept them): then kill the leader anyway
          await waitFor('the leader to send a snapshot', () => c.logLines(l, 'sending database snapshot').length > sent, 10_000)
            .catch(() => ctx.log(`the leader f${l + 1} sent no snapshot within 10 s`));
        }
        await sleep(delay);
        const v = victim === 'leader' ? l : f;
        const cut = await c.kill9(v, { loseUnsynced: true });
        ctx.log(`killed f${v + 1} ${delay} ms into the catch-up of f${f + 1}, ${cut} un-fsynced WAL bytes lost`);
        await sleep(300);
        c.restart(v);
      };
    },
  };
}

/** Faults run only in long mode (by name). */
export const SOAK_FAULTS: Fault[] = [
  catchupCrash('snapshot-catchup-kill9-follower', 'follower'),
  catchupCrash('snapshot-catchup-kill9-leader', 'leader'),
];
