/**
 * Figures of one benchmark run: latency percentiles (ms), throughput, the load generator's own CPU, and the
 * resident memory of server processes read from /proc/<pid>/status (Linux).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Latency summary in milliseconds. */
export interface Latency { p50: number; p90: number; p99: number; max: number; mean: number }

/** The result of one workload against one endpoint list. */
export interface WorkloadResult {
  workload: string;
  /** Completed operations (requests, or events for watch workloads). */
  ops: number;
  errors: number;
  firstError?: string;
  seconds: number;
  opsPerSec: number;
  latencyMs?: Latency;
  /** The load generator's CPU over the run, in cores (1.0 = one core busy the whole time). */
  clientCpu: number;
  /** True when the generator used so much CPU that it, not the server, may have set the pace. */
  clientBound: boolean;
  /** Workload-specific figures (sizes in bytes, times in ms). */
  extra?: Record<string, number | string>;
  /** CPU the server processes used over the measured phase, per operation (when their pids were given). */
  serverCpu?: ServerCpu;
}

/**
 * Server CPU per operation over a workload's measured phase: utime + stime from /proc/<pid>/stat (clock ticks,
 * usually 1/100 s) read before and after, converted to µs and divided by the workload's ops. Insensitive to
 * the machine's load, unlike throughput. Resolution: one tick per member, i.e. `tickUs / ops` µs per op.
 */
export interface ServerCpu {
  /** µs of CPU per op, summed over every member. */
  usPerOp: number;
  /** µs of CPU per op of the member that used the most (usually the leader). */
  busiestUsPerOp: number;
  /** µs of CPU per op of each member, in the order of the pids given. */
  membersUsPerOp: number[];
  /** Clock ticks each member used over the phase. */
  ticks: number[];
  /** µs in one clock tick (10000 at the usual 100 ticks/s). */
  tickUs: number;
}

let tickUs: number | undefined;

/** µs per clock tick of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 ticks/s when it cannot be asked). */
export function clockTickUs(): number {
  if (tickUs === undefined) {
    let hz = 100;
    try {
      hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      /* no getconf: Linux's USER_HZ is 100 */
    }
    tickUs = 1e6 / hz;
  }
  return tickUs;
}

/**
 * CPU time of a whole process (every thread, live or exited) in clock ticks: utime + stime, fields 14 and 15 of
 * /proc/<pid>/stat (proc(5); counted after the ")" that ends the command name, which may hold spaces).
 * Undefined when the process is gone or the file cannot be read.
 */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14, stime field 15
    const t = Number(f[11]) + Number(f[12]);
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the server processes' CPU at construction; `perOp(ops)` turns the difference into ServerCpu. */
export class ServerCpuMeter {
  private readonly start: (number | undefined)[];
  constructor(private readonly pids: number[]) {
    this.start = pids.map(cpuTicks);
  }

  /** CPU per op since construction; undefined without pids, without ops, or when a process could not be read. */
  perOp(ops: number): ServerCpu | undefined {
    if (this.pids.length === 0 || ops <= 0) return undefined;
    const ticks = this.pids.map((pid, i) => {
      const a = this.start[i];
      const b = cpuTicks(pid);
      return a === undefined || b === undefined ? undefined : b - a;
    });
    if (ticks.some((t) => t === undefined)) return undefined;
    const us = clockTickUs();
    const r = (x: number) => Math.round(x * 10) / 10;
    const members = (ticks as number[]).map((t) => (t * us) / ops);
    return {
      usPerOp: r(members.reduce((a, b) => a + b, 0)), busiestUsPerOp: r(Math.max(...members)), membersUsPerOp: members.map(r),
      ticks: ticks as number[], tickUs: us,
    };
  }
}

/** A generator above this many cores of CPU is reported as the possible bottleneck (it is single-threaded). */
export const CLIENT_BOUND_CORES = 0.85;

/** Percentiles of the first `n` values of `lat` (sorted in place). Undefined when n is 0. */
export function summarize(lat: Float64Array, n: number): Latency | undefined {
  if (n === 0) return undefined;
  const v = lat.subarray(0, n).sort();
  const at = (q: number) => v[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += v[i];
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), max: r(v[n - 1]), mean: r(sum / n) };
}

/** Measures this process' CPU between construction and `cores()`. */
export class CpuMeter {
  private readonly start = process.cpuUsage();
  private readonly t0 = performance.now();
  /** CPU used since construction, in cores (user + system seconds / wall seconds). */
  cores(): number {
    const c = process.cpuUsage(this.start);
    const wall = (performance.now() - this.t0) / 1000;
    return wall > 0 ? Math.round(((c.user + c.system) / 1e6 / wall) * 100) / 100 : 0;
  }
}

/** VmRSS of a process in bytes (from /proc/<pid>/status), or undefined when it cannot be read. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
