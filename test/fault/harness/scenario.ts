/**
 * One fault scenario run: start a 3-member (or `Fault.members`) cluster behind peer proxies, run the seeded
 * mixed load with watchers, inject one fault, heal, then check (checker/index.ts): linearizable history, no
 * acknowledged write lost (a final linearizable read-back of every key is part of the history), watch guarantees, and
 * HashKV equal on every member at the final revision. On failure: prints the seed and writes history.json
 * and timeline.html under the run's temp dir (kept); on success the dir is removed.
 */
import { rmSync } from 'node:fs';
import { StoreClient } from '../../../store/client/client.js';
import { checkHistory, type Violation } from '../checker/index.js';
import { Rng } from '../checker/generator.js';
import type { History, KvSnap } from '../checker/types.js';
import { FaultCluster } from './cluster.js';
import { PREFIX, PREFIX_END, recorded, runClient, Watcher, type Mutations, type Recorder } from './load.js';
import { writeArtifacts } from './timeline.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a fault may use besides the cluster: the recorder (to add its own recorded requests) and the watchers. */
export interface FaultContext {
  rec: Recorder;
  /** Member i as `recorded` takes it (URL, incarnation at call time). */
  member(i: number): { url: string; incarnation: () => number };
  watchers: Watcher[];
  log: (s: string) => void;
}

/** What a fault does: `inject` runs mid-load and returns how to heal. `members`: cluster size (default 3). */
export interface Fault {
  name: string;
  members?: number;
  /** Extra quorumd flags for every member (e.g. a small --snapshot-count). */
  extraArgs?: string[];
  /** Extra environment for every member (e.g. QUORUMD_TEST_SYNC_MARKER: '0'); the mutations' serverEnv wins. */
  env?: Record<string, string>;
  /** Before the members start (their data dirs are not created yet), e.g. mount a small filesystem per data dir. */
  prepare?(c: FaultCluster): Promise<void>;
  /** After every member was killed, before the run dir is removed; runs even after a harness error (faults_disk.ts). */
  cleanup?(c: FaultCluster): Promise<void>;
  inject(c: FaultCluster, rng: Rng, ctx: FaultContext): Promise<() => Promise<void>>;
}

/** Options of one run. */
export interface RunOptions { seed: number; basePort: number; durationMs: number; clients?: number; mutations?: Mutations; keepDir?: boolean; log?: (s: string) => void }

/** Result of one run. */
export interface RunResult { name: string; seed: number; violations: Violation[]; ops: number; unknown: number; dir: string; artifacts?: { json: string; html: string } }

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what} ${last}`);
    await sleep(300);
  }
}

/** Run one scenario; never throws for a violation (see RunResult.violations), throws on harness trouble. */
export async function runScenario(fault: Fault, o: RunOptions): Promise<RunResult> {
  const log = o.log ?? (() => {});
  const rng = new Rng(o.seed);
  const n = fault.members ?? 3;
  const cluster = new FaultCluster(n, o.basePort, () => rng.next(), { extraArgs: fault.extraArgs, env: { ...fault.env, ...o.mutations?.serverEnv } });
  const rec: Recorder = { ops: [], watches: [], nextId: 0 };
  const violations: Violation[] = [];
  let stop = false;
  const watchers: Watcher[] = [];
  let completed = false;
  try {
    await fault.prepare?.(cluster);
    await cluster.start();
    log(`${fault.name} seed ${o.seed}: cluster up in ${cluster.dir}`);
    const member = (i: number) => ({ url: cluster.members[i].clientUrl, incarnation: () => cluster.members[i].incarnation });
    cluster.members.forEach((m, i) => {
      const w = new Watcher(i, m.clientUrl, i === 0 ? 1 : 0, o.mutations);
      watchers.push(w);
      rec.watches.push(w.record);
      w.open();
    });
    const nClients = o.clients ?? 4;
    const loops = Array.from({ length: nClients }, (_, c) => runClient(rec, c, o.seed, member(c % n), c % n, () => stop, o.mutations));
    await sleep(o.durationMs * 0.3);
    log(`${fault.name}: inject`);
    const heal = await fault.inject(cluster, rng, { rec, member, watchers, log });
    await sleep(o.durationMs * 0.5);
    log(`${fault.name}: heal`);
    await heal();
    await sleep(o.durationMs * 0.2);
    stop = true;
    await Promise.all(loops);
    cluster.heal();
    await cluster.waitHealthy(90_000);
    // Sentinel put (every watcher's range holds it), then the final read-back: both in the history.
    const c = new StoreClient(cluster.members[0].clientUrl, undefined, { timeoutMs: 5000 });
    const sentinel = await until('sentinel put', async () => {
      const op = await recorded(rec, 98, member(0), c, { t: 'put', key: `${PREFIX}zz-end`, value: `end-${o.seed}` });
      return op.resp?.t === 'put' ? op.resp.rev : undefined;
    }, 60_000);
    const final = await until('final read', async () => {
      const op = await recorded(rec, 99, member(0), c, { t: 'range', key: PREFIX, end: PREFIX_END });
      return op.resp?.t === 'range' ? { kvs: op.resp.kvs as KvSnap[], rev: op.resp.rev } : undefined;
    }, 60_000);
    c.close();
    // Watchers must catch up to the sentinel; those that do are "complete".
    await until('watchers caught up', async () => (watchers.every((w) => w.lastRev >= sentinel || w.record.ended) ? true : undefined), 30_000).catch((e) => log(String(e)));
    const live = new Set(watchers.filter((w) => w.lastRev >= sentinel && !w.record.ended).map((w) => w.record.id));
    for (const w of watchers) if (!live.has(w.record.id)) violations.push({ kind: 'watch-not-reliable', watch: w.record.id, detail: `watcher stopped at revision ${w.lastRev} < sentinel ${sentinel} (${w.record.ended ?? 'no end'})` });
    // HashKV on every member at the final revision.
    const hashes: string[] = [];
    for (const m of cluster.members) {
      const mc = new StoreClient(m.clientUrl, undefined, { timeoutMs: 5000 });
      try {
        await until(`${m.name} applied ${final.rev}`, async () => ((await mc.status()).revision >= final.rev ? true : undefined), 60_000);
        const h = await mc.unary<{ hash: number }>('Maintenance', 'HashKV', { revision: String(final.rev) });
        hashes.push(`${m.name}:${h.hash}`);
      } finally {
        mc.close();
      }
    }
    if (new Set(hashes.map((h) => h.split(':')[1])).size !== 1) violations.push({ kind: 'hashkv-mismatch', detail: `at revision ${final.rev}: ${hashes.join(' ')}` });
    const history: History = { seed: o.seed, ops: rec.ops, watches: rec.watches, meta: { scenario: fault.name, dir: cluster.dir, mutations: o.mutations ?? {} } };
    const report = checkHistory(history, final, live, { fullWatch: 0 });
    if (process.env.QUORUM_FAULT_DUMP) writeArtifacts(cluster.dir, history, report.lin.stuckAt ?? [], report.violations);
    violations.push(...report.violations);
    const result: RunResult = { name: fault.name, seed: o.seed, violations, ops: rec.ops.length, unknown: rec.ops.filter((x) => x.resp === undefined).length, dir: cluster.dir };
    if (violations.length > 0) {
      result.artifacts = writeArtifacts(cluster.dir, history, report.lin.stuckAt ?? [], violations);
      log(`FAIL ${fault.name} seed ${o.seed}: ${violations.length} violations; history ${result.artifacts.json}, timeline ${result.artifacts.html}`);
    }
    log(`${fault.name} seed ${o.seed}: ${result.ops} ops, ${result.unknown} unknown, ${violations.length} violations, search ${report.lin.steps} steps`);
    completed = true;
    return result;
  } catch (e) {
    log(`HARNESS ERROR ${fault.name} seed ${o.seed}: ${(e as Error).message}; members' logs kept in ${cluster.dir}`);
    throw e;
  } finally {
    stop = true;
    for (const w of watchers) w.stop();
    await cluster.stop();
    await fault.cleanup?.(cluster);
    // keep the members' logs after a violation or a harness error
    if (completed && violations.length === 0 && !o.keepDir) rmSync(cluster.dir, { recursive: true, force: true });
  }
}
