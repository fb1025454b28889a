/**
 * Local benchmark clusters: n members of real etcd 3.4 (/usr/bin/etcd) or quorumd (bin/quorumd.js) on
 * loopback, started with the same etcd flag set, data dirs under one root on the same disk. Every process is
 * started here, tracked by pid, and stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { H2Conn } from './h2grpc.js';
import { rangeRequest } from './proto.js';
import { RANGE, statusAll } from './workloads.js';

export type System = 'etcd' | 'quorumd';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const ETCD_BIN = '/usr/bin/etcd';
const QUORUMD_JS = join(ROOT, 'bin', 'quorumd.js');

/** One member's addresses, data dir and process. */
export interface BenchMember { name: string; clientUrl: string; peerUrl: string; metricsUrl: string; dataDir: string; proc?: ChildProcess }

/** A cluster of `size` members of `system`; ports basePort + 3i (client), +1 (peer), +2 (metrics). */
export class BenchCluster {
  readonly members: BenchMember[];
  private readonly args: string[][];

  /** `nodeArgs`: extra node flags for quorumd members (e.g. --cpu-prof). */
  constructor(readonly system: System, readonly size: number, basePort: number, readonly root: string, private readonly nodeArgs: string[] = []) {
    const names = Array.from({ length: size }, (_, i) => `${system}${size}-m${i + 1}`);
    const peer = (i: number) => `http://127.0.0.1:${basePort + 3 * i + 1}`;
    const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
    this.members = names.map((name, i) => ({
      name, clientUrl: `http://127.0.0.1:${basePort + 3 * i}`, peerUrl: peer(i), metricsUrl: `http://127.0.0.1:${basePort + 3 * i + 2}`,
      dataDir: join(root, name),
    }));
    this.args = this.members.map((m) => [
      '--name', m.name, '--data-dir', m.dataDir, '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl, '--initial-cluster', initial,
      '--initial-cluster-token', `bench-${system}-${size}`, '--initial-cluster-state', 'new', '--listen-metrics-urls', m.metricsUrl,
    ]);
  }

  /** Remove old data dirs and start every member. */
  fresh(): void {
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
    this.start();
  }

  /** Start every member (keeping its data dir). Output goes to <root>/<name>.log. */
  start(): void {
    this.members.forEach((m, i) => {
      const log = createWriteStream(join(this.root, `${m.name}.log`), { flags: 'a' });
      const p = this.system === 'etcd'
        ? spawn(ETCD_BIN, this.args[i], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, [...this.nodeArgs, QUORUMD_JS, ...this.args[i]], { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout!.pipe(log);
      p.stderr!.pipe(log);
      m.proc = p;
    });
  }

  /** Server process IDs. */
  pids(): number[] {
    return this.members.map((m) => m.proc?.pid).filter((p): p is number => p !== undefined);
  }

  /** SIGTERM every member by pid and wait for it to exit (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      const p = m.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }));
  }

  /**
   * Wait until every member answers a linearizable Range through its own client URL. Resolves with the
   * milliseconds waited; rejects after `timeoutMs`.
   */
  async waitReady(timeoutMs = 120_000): Promise<number> {
    const t0 = performance.now();
    await Promise.all(this.members.map(async (m) => {
      for (;;) {
        if (m.proc && m.proc.exitCode !== null) throw new Error(`${m.name} exited with code ${m.proc.exitCode} (see ${this.root}/${m.name}.log)`);
        const c = new H2Conn(m.clientUrl);
        try {
          await c.ready();
          await c.unary(RANGE, rangeRequest(Buffer.from('bench/ready')));
          return;
        } catch {
          if (performance.now() - t0 > timeoutMs) throw new Error(`${m.name} not ready after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 50));
        } finally {
          c.close();
        }
      }
    }));
    return Math.round(performance.now() - t0);
  }

  /** Client URLs with the current leader first. */
  async endpointsLeaderFirst(): Promise<string[]> {
    const urls = this.members.map((m) => m.clientUrl);
    const st = await statusAll(urls);
    const li = st.findIndex((s) => s.leader !== 0n && s.leader === s.memberId);
    return li <= 0 ? urls : [urls[li], ...urls.filter((_, i) => i !== li)];
  }

  /** Stop, start again with the same data, and time until every member is ready (ms, from the first spawn). */
  async restartToReady(): Promise<number> {
    await this.stop();
    this.start();
    return this.waitReady(600_000);
  }
}
