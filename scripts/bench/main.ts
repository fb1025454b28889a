/**
 * quorum bench: drive any etcd v3 endpoint list (quorumd or etcd) with the benchmark workloads and print
 * figures (workloads.ts). A benchmark, not a test: it asserts nothing, it measures.
 *
 *   node dist/scripts/bench/main.js --endpoints http://127.0.0.1:2379[,...] [--workload all|name[,name]]
 *     [--quick] [--long] [--count N] [--max-seconds S] [--pids 1,2,3] [--json FILE|-]
 *
 * --pids: the server processes (on this machine): RSS after the fill, and every workload's server CPU per op
 * (utime + stime from /proc/<pid>/stat over the measured phase).
 * Exit code 0 when every workload ran (errors inside a workload are counted, not fatal), 2 on bad flags,
 * 1 when a workload could not run.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { WorkloadResult } from './stats.js';
import { runWorkload, WORKLOADS, type BenchOptions } from './workloads.js';

const USAGE = `usage: node dist/scripts/bench/main.js --endpoints URL[,URL...] [--workload all|NAME[,NAME...]]
  [--quick] [--long] [--count N] [--max-seconds S] [--pids PID[,PID...]] [--json FILE|-]
workloads: ${WORKLOADS.join(', ')} (put-<inflight>x<connections> for any numbers)
`;

/** One line per result, for people. */
export function formatResult(r: WorkloadResult): string {
  const l = r.latencyMs;
  const lat = l ? ` p50=${l.p50}ms p90=${l.p90}ms p99=${l.p99}ms max=${l.max}ms` : '';
  const extra = r.extra ? ` ${Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  const err = r.errors ? ` errors=${r.errors} (${r.firstError})` : '';
  const bound = r.clientBound ? ' [load generator CPU-bound: figure is a lower bound]' : '';
  const server = r.serverCpu ? ` server-cpu=${r.serverCpu.usPerOp}µs/op (members ${r.serverCpu.membersUsPerOp.join('/')})` : '';
  return `${r.workload.padEnd(12)} ${String(r.opsPerSec).padStart(8)}/s ops=${r.ops} in ${r.seconds}s${lat} client-cpu=${r.clientCpu}${server}${extra}${err}${bound}`;
}

async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        endpoints: { type: 'string' }, workload: { type: 'string', default: 'all' }, quick: { type: 'boolean', default: false },
        long: { type: 'boolean', default: false }, count: { type: 'string' }, 'max-seconds': { type: 'string', default: '60' },
        pids: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!v.endpoints) {
    process.stderr.write(`bench: --endpoints is required\n${USAGE}`);
    return 2;
  }
  const o: BenchOptions = {
    endpoints: v.endpoints.split(',').filter(Boolean), quick: v.quick, long: v.long,
    count: v.count ? Number(v.count) : undefined, maxSeconds: Number(v['max-seconds']),
    pids: v.pids ? v.pids.split(',').map(Number) : undefined,
  };
  const names = v.workload === 'all' ? [...WORKLOADS] : v.workload.split(',');
  const results: WorkloadResult[] = [];
  for (const name of names) {
    try {
      const r = await runWorkload(name, o);
      results.push(r);
      if (v.json !== '-') process.stdout.write(`${formatResult(r)}\n`);
    } catch (e) {
      process.stderr.write(`bench: ${name}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (v.json === '-') process.stdout.write(`${JSON.stringify(results)}\n`);
  else if (v.json) writeFileSync(v.json, `${JSON.stringify(results, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
