/**
 * Figures of one benchmark run: latency percentiles (ms), throughput, the load generator's own CPU, and the
 * resident memory of server processes read from /proc/<pid>/status (Linux).
 */
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
