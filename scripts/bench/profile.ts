/**
 * Profile quorumd under load: start a quorumd cluster with `node --cpu-prof`, run one workload against it
 * (main.js, in its own process), stop the members (SIGTERM: the profile is written on exit) and print the
 * top self-time functions and files of each member's profile (.cpuprofile, Chrome DevTools format).
 *
 *   node dist/scripts/bench/profile.js [--size 3] [--workload put-1000x10] [--count 30000] [--top 30]
 *
 * Ports 32300-32309. Profiles stay in --dir (default /tmp/quorum-bench-prof) for DevTools / speedscope.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchCluster } from './cluster.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] }

/** Self time by function and by file (ms), from a .cpuprofile, sorted descending. */
export function selfTimes(p: CpuProfile): { total: number; byFunction: [string, number][]; byFile: [string, number][] } {
  const interval = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length); // ms per sample
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const url = n.callFrame.url.replace(`file://${ROOT}`, '').replace(/^node:/, 'node:');
    const name = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    const ms = hits * interval;
    total += ms;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    const f = url || n.callFrame.functionName;
    file.set(f, (file.get(f) ?? 0) + ms);
  }
  const sort = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, byFunction: sort(fn), byFile: sort(file) };
}

async function main(): Promise<void> {
  const v = parseArgs({
    options: {
      size: { type: 'string', default: '3' }, workload: { type: 'string', default: 'put-1000x10' }, count: { type: 'string', default: '30000' },
      top: { type: 'string', default: '30' }, dir: { type: 'string', default: '/tmp/quorum-bench-prof' },
    },
  }).values;
  rmSync(v.dir, { recursive: true, force: true });
  mkdirSync(v.dir, { recursive: true });
  const c = new BenchCluster('quorumd', Number(v.size), 32300, join(v.dir, 'data'), ['--cpu-prof', `--cpu-prof-dir=${v.dir}`]);
  c.fresh();
  try {
    await c.waitReady();
    await new Promise((r) => setTimeout(r, 1000));
    const eps = await c.endpointsLeaderFirst();
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [join(ROOT, 'dist/scripts/bench/main.js'), '--endpoints', eps.join(','), '--workload', v.workload, '--count', v.count], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`bench exited ${code}`))));
    });
    process.stdout.write(out);
    process.stdout.write(`leader: ${eps[0]}\n`);
  } finally {
    await c.stop();
  }
  const top = Number(v.top);
  for (const f of readdirSync(v.dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const s = selfTimes(JSON.parse(readFileSync(join(v.dir, f), 'utf8')) as CpuProfile);
    process.stdout.write(`\n== ${f}: ${Math.round(s.total)} ms sampled\n-- top files (self)\n`);
    for (const [k, ms] of s.byFile.slice(0, 15)) process.stdout.write(`${(ms / s.total * 100).toFixed(1).padStart(5)}%  ${k}\n`);
    process.stdout.write('-- top functions (self)\n');
    for (const [k, ms] of s.byFunction.slice(0, top)) process.stdout.write(`${(ms / s.total * 100).toFixed(1).padStart(5)}%  ${k}\n`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`profile: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
