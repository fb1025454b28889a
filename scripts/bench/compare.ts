/**
 * The side-by-side run: a 1-member and a 3-member cluster of real etcd 3.4 and of quorumd (same flags, data
 * dirs under one /tmp root), every workload against both in the same run, alternating which system goes first,
 * each workload in a fresh load-generator process (main.js). Then the fill (100k keys; 1M with --long), the
 * RSS of every member, and restart-to-ready. Writes docs/benchmarks/results.md, results.json and chart.svg.
 *
 *   node dist/scripts/bench/compare.js [--quick] [--long] [--out DIR] [--sizes 1,3] [--workload a,b]
 *
 * Ports 32100-32299 on 127.0.0.1. A benchmark, not a test: figures vary with the machine's load.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchCluster, ETCD_BIN, type System } from './cluster.js';
import { markdownTable, meets, ratio, rows, svgChart, type Row, type SystemRun } from './report.js';
import { rssBytes, type WorkloadResult } from './stats.js';
import { WORKLOADS } from './workloads.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MAIN_JS = join(ROOT, 'dist', 'scripts', 'bench', 'main.js');
const BASE_PORT: Record<System, number> = { etcd: 32100, quorumd: 32200 };

/** Run main.js for one workload; resolves with its results (JSON on stdout). */
function bench(endpoints: string[], workload: string, flags: string[]): Promise<WorkloadResult[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN_JS, '--endpoints', endpoints.join(','), '--workload', workload, '--json', '-', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench ${workload} exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out) as WorkloadResult[]);
    });
  });
}

function log(s: string): void {
  process.stderr.write(`[compare ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
}

async function main(): Promise<void> {
  const v = parseArgs({
    options: {
      quick: { type: 'boolean', default: false }, long: { type: 'boolean', default: false }, out: { type: 'string', default: join(ROOT, 'docs', 'benchmarks') },
      sizes: { type: 'string', default: '1,3' }, workload: { type: 'string' }, 'data-root': { type: 'string', default: '/tmp/quorum-bench' },
    },
  }).values;
  const flags = [...(v.quick ? ['--quick'] : []), ...(v.long ? ['--long'] : [])];
  const workloads = v.workload ? v.workload.split(',') : WORKLOADS.filter((w) => w !== 'fill');
  const sizes = v.sizes.split(',').map(Number);
  const started = new Date();
  const load0 = os.loadavg();
  const runs: SystemRun[] = [];
  const clusters: BenchCluster[] = [];
  const stopAll = async () => { for (const c of clusters) await c.stop(); };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    for (const size of sizes) {
      const pair = (['etcd', 'quorumd'] as System[]).map((s) => new BenchCluster(s, size, BASE_PORT[s] + (size - 1) * 10, join(v['data-root'], `${s}-${size}`)));
      clusters.push(...pair);
      for (const c of pair) c.fresh();
      for (const c of pair) log(`${c.system} x${size} ready in ${await c.waitReady()} ms`);
      await new Promise((r) => setTimeout(r, 2000)); // let elections and startup settle
      const byRun = new Map<System, SystemRun>();
      for (const c of pair) byRun.set(c.system, { system: c.system, size, results: [], rssIdle: c.pids().map(rssBytes).filter((x): x is number => x !== undefined) });
      const eps = new Map<System, string[]>();
      for (const c of pair) eps.set(c.system, await c.endpointsLeaderFirst());
      const order = (k: number) => (k % 2 === 0 ? pair : [...pair].reverse());
      for (const [k, w] of [...workloads, 'fill'].entries()) {
        for (const c of order(k)) {
          const extra = ['--pids', c.pids().join(',')]; // RSS after the fill, server CPU per op of every workload
          log(`${c.system} x${size}: ${w}`);
          try {
            const [r] = await bench(eps.get(c.system)!, w, [...flags, ...extra]);
            byRun.get(c.system)!.results.push(r);
            const cpu = r.serverCpu ? ` server-cpu ${r.serverCpu.usPerOp} µs/op (busiest ${r.serverCpu.busiestUsPerOp})` : '';
            log(`  ${r.opsPerSec}/s${r.latencyMs ? ` p99 ${r.latencyMs.p99} ms` : ''} client-cpu ${r.clientCpu}${cpu}${r.errors ? ` errors ${r.errors}: ${r.firstError}` : ''}`);
          } catch (e) {
            log(`  failed: ${(e as Error).message}`);
          }
        }
      }
      for (const c of order(1)) {
        log(`${c.system} x${size}: restart-to-ready`);
        try {
          byRun.get(c.system)!.restartMs = await c.restartToReady();
          log(`  ${byRun.get(c.system)!.restartMs} ms`);
        } catch (e) {
          log(`  failed: ${(e as Error).message}`);
        }
      }
      for (const c of pair) await c.stop();
      for (const c of pair) rmSync(c.root, { recursive: true, force: true });
      runs.push(...byRun.values());
    }
  } finally {
    await stopAll();
  }
  const all: Row[] = sizes.flatMap((size) => rows(runs.find((r) => r.system === 'etcd' && r.size === size), runs.find((r) => r.system === 'quorumd' && r.size === size), size));
  const meta = {
    date: started.toISOString(), mode: v.long ? 'long' : v.quick ? 'quick' : 'full', cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    memTotalMiB: Math.round(os.totalmem() / 1048576), loadAvgStart: load0.map((x) => Math.round(x * 100) / 100), loadAvgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version, etcd: execFileSync(ETCD_BIN, ['--version']).toString().split('\n')[0],
  };
  mkdirSync(v.out, { recursive: true });
  writeFileSync(join(v.out, 'results.json'), `${JSON.stringify({ meta, runs, rows: all.map((r) => ({ ...r, ratio: ratio(r), meets: meets(r) })) }, null, 2)}\n`);
  writeFileSync(join(v.out, 'chart.svg'), svgChart(all, `quorumd vs etcd 3.4 (${meta.mode} mode, ${meta.date.slice(0, 10)})`));
  const missed = all.filter((r) => r.target && meets(r) === false);
  const md = [
    '# quorumd vs etcd 3.4, side by side',
    '',
    `Generated by \`node dist/scripts/bench/compare.js${v.quick ? ' --quick' : ''}${v.long ? ' --long' : ''}\` on ${meta.date} (${meta.mode} mode).`,
    `Machine: ${meta.cpus} × ${meta.cpuModel}, ${meta.memTotalMiB} MiB; load average ${meta.loadAvgStart.join(' / ')} at the start and ${meta.loadAvgEnd.join(' / ')} at the end;`,
    `Node ${meta.node}; ${meta.etcd}. Both systems ran on this machine at the same time (the idle one waiting), workloads`,
    'alternating which system goes first; the load generator (scripts/bench/main.js, node:http2 with hand-encoded protobuf)',
    'ran on the same cores. Ratios are quorumd/etcd from the same run; absolute figures depend on the machine.',
    '',
    // the load at the start tells whether other work was running (at the end the average includes the benchmark itself)
    ...(meta.loadAvgStart[0] > meta.cpus * 0.5
      ? ['**Taken on a loaded machine** (other work was running: see the load averages above). Rerun on a quiet machine before drawing conclusions.', '']
      : []),
    '¹ the load generator used ≥ 0.85 of a core in at least one of the two runs: that figure may be limited by the client.',
    '',
    '`server CPU` is the CPU time (user + system, from /proc/<pid>/stat) the servers used during the measured phase,',
    'per operation (per event delivered for watch-*), summed over every member; `server CPU busiest member` is the',
    'member that used the most (usually the leader). Unlike throughput it hardly moves with the machine\'s load.',
    'Resolution: one clock tick (10 ms) per member over the whole phase, so short (--quick) runs are coarse.',
    '',
    '![ratios](chart.svg)',
    '',
    ...sizes.flatMap((size) => [`## ${size}-member cluster`, '', markdownTable(all.filter((r) => r.size === size)), '']),
    '## Targets (3-member cluster)',
    '',
    all.every((r) => !r.target || meets(r) === undefined) ? 'No target figure was measured (the targets are on the 3-member cluster).' : missed.length === 0 ? 'Every measured target is met.' : `Missed: ${missed.map((r) => `${r.workload} ${r.metric} (${Math.round((ratio(r) ?? 0) * 100) / 100}×)`).join('; ')}. See ANALYSIS.md.`,
    '',
  ].join('\n');
  writeFileSync(join(v.out, 'results.md'), md);
  log(`wrote ${join(v.out, 'results.md')}, results.json, chart.svg`);
}

main().catch((e: Error) => {
  process.stderr.write(`compare: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
