/**
 * A full disk (issue 4). Every member's data dir is a small tmpfs of its own (`mount -t tmpfs -o size=64m`,
 * needs root; unmounted in `cleanup`, even after a harness error). Mid-load one member's filesystem is filled
 * with a filler file until ENOSPC while the load goes on:
 * - the member must stop with a fatal error that says "no space left on device" and names the file it could
 *   not write (its WAL segment, a new segment, or a snapshot file), within 30 s, else the run fails;
 * - while it is down (the filesystem still full) its data dir must be loadable read-only: every WAL segment
 *   scans (a torn tail only at the end of the last one, which the restart truncates), every snapshot file decodes;
 * - the other two keep serving (for the leader, after an election);
 * - then the filler is deleted and the member restarted: it must recover and catch up, and the usual checks
 *   hold (linearizable, no acknowledged write lost, watch guarantees, HashKV equal on every member).
 * Members run with a small --snapshot-count so the snapshot path (tmp file + rename) is in use when the disk fills.
 * disk-full-follower fills a follower; disk-full-leader fills the leader.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSnapshot } from '../../../store/snap/snapshotter.js';
import { parseSegmentName, scanSegment } from '../../../store/wal/segment.js';
import type { FaultCluster } from './cluster.js';
import type { Fault } from './scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Size of each member's data-dir filesystem. */
const FS_SIZE = '64m';
const FILLER = 'filler.bin';
const SNAPSHOT_ARGS = ['--snapshot-count', '300', '--experimental-snapshot-catchup-entries', '50'];

/** Data dirs this module mounted, per cluster (only these are unmounted). */
const mounted = new WeakMap<FaultCluster, string[]>();

/** Mount a fresh tmpfs on every member's data dir. @throws when mount fails (not root, no tmpfs). */
async function mountAll(c: FaultCluster): Promise<void> {
  const dirs: string[] = [];
  mounted.set(c, dirs);
  for (const m of c.members) {
    mkdirSync(m.dataDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_SIZE},mode=0700`, 'tmpfs', m.dataDir], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`faults_disk: cannot mount a tmpfs on ${m.dataDir} (the disk-full scenarios need root): ${(e as Error).message}`);
    }
    dirs.push(m.dataDir);
  }
}

/** Copy each data dir (without the filler) next to it for the post-mortem, then unmount it (lazily if busy). */
async function unmountAll(c: FaultCluster): Promise<void> {
  for (const dir of mounted.get(c) ?? []) {
    try {
      cpSync(dir, `${dir}.data`, { recursive: true, filter: (src) => !src.endsWith(FILLER) });
    } catch { /* best effort: the logs are outside */ }
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
  }
  mounted.delete(c);
}

/** Write a filler file in `dir` until the filesystem reports ENOSPC; returns the bytes written. */
function fill(dir: string): number {
  const fd = openSync(join(dir, FILLER), 'w', 0o600);
  let total = 0;
  try {
    for (const size of [1 << 20, 4096, 512]) {
      const buf = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          total += writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/**
 * Read-only check of a stopped member's data dir: every WAL segment scans (only the last may end torn), every
 * snapshot file decodes. Returns a one-line summary. @throws naming the file when something is corrupt.
 */
function checkDataDir(dataDir: string): string {
  const walDir = join(dataDir, 'member', 'wal');
  const segs = readdirSync(walDir).filter((n) => parseSegmentName(n)).sort();
  if (segs.length === 0) throw new Error(`no WAL segment left in ${walDir}`);
  let torn = 0;
  segs.forEach((name, i) => {
    const file = join(walDir, name);
    const buf = readFileSync(file);
    const scan = scanSegment(buf, file, i === segs.length - 1);
    if (scan.torn) torn = buf.length - scan.end;
  });
  const leftovers = readdirSync(walDir).filter((n) => n.endsWith('.tmp'));
  const snapDir = join(dataDir, 'member', 'snap');
  const snaps = existsSync(snapDir) ? readdirSync(snapDir) : [];
  for (const n of snaps.filter((x) => x.endsWith('.snap'))) decodeSnapshot(readFileSync(join(snapDir, n)), join(snapDir, n));
  const snapTmp = snaps.filter((x) => x.endsWith('.tmp'));
  return `${segs.length} WAL segments (torn tail ${torn} bytes; leftover ${leftovers.join(',') || 'none'}), ${snaps.filter((x) => x.endsWith('.snap')).length} snapshots (leftover ${snapTmp.join(',') || 'none'})`;
}

const leaderOr0 = (c: FaultCluster): Promise<number> => c.leaderOrFirst();

function diskFull(name: string, pick: 'leader' | 'follower'): Fault {
  return {
    name,
    extraArgs: SNAPSHOT_ARGS,
    // no test-only sync marker: its small rewrite after every fdatasync would hit ENOSPC before the WAL does
    env: { QUORUMD_TEST_SYNC_MARKER: '0' },
    prepare: mountAll,
    cleanup: unmountAll,
    inject: async (c, rng, ctx) => {
      const l = await leaderOr0(c);
      const others = [0, 1, 2].filter((i) => i !== l);
      const v = pick === 'leader' ? l : others[rng.int(others.length)]!;
      const m = c.members[v]!;
      const fatalBefore = c.logLines(v, 'fatal error; exiting').length;
      const filled = fill(m.dataDir);
      ctx.log(`${pick} ${m.name}: filled its filesystem with ${filled} bytes`);
      const deadline = Date.now() + 30_000;
      while (m.proc!.exitCode === null && m.proc!.signalCode === null) {
        if (Date.now() > deadline) throw new Error(`${m.name} still running 30 s after its disk filled (expected a fatal "no space left on device")`);
        await sleep(200);
      }
      await m.exited;
      const fatal = c.logLines(v, 'fatal error; exiting').slice(fatalBefore);
      const err = String(fatal[0]?.error ?? '');
      ctx.log(`${m.name} exited ${m.proc!.exitCode}: ${err}`);
      if (!/no space left on device/i.test(err) || !err.includes(m.dataDir)) {
        throw new Error(`${m.name} exited without a fatal "no space left on device" error naming a file in ${m.dataDir}: ${JSON.stringify(err)}`);
      }
      ctx.log(`${m.name} data dir while full: ${checkDataDir(m.dataDir)}`);
      return async () => {
        unlinkSync(join(m.dataDir, FILLER));
        c.restart(v);
      };
    },
  };
}

/** The disk-full faults (appended at the end of FAULTS). */
export const DISK_FAULTS: Fault[] = [diskFull('disk-full-follower', 'follower'), diskFull('disk-full-leader', 'leader')];

