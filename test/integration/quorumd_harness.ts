/**
 * Test harness for quorumd processes on loopback: free ports, members started with etcd's flag set,
 * etcdctl (Debian's 3.4, ETCDCTL_API=3) and quorumctl runners, polling. Every process started here is
 * tracked and killed by pid in `stopAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../../', import.meta.url).pathname;
const QUORUMD = join(ROOT, 'bin', 'quorumd.js');
const QUORUMCTL = join(ROOT, 'bin', 'quorumctl.js');

const children = new Set<ChildProcess>();

/** n distinct free TCP ports on 127.0.0.1 (held open together so they differ, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as net.AddressInfo).port);
  }
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  return ports;
}

export interface RunResult { code: number; stdout: string; stderr: string }

/** Run a program to completion (kill after timeoutMs). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      children.delete(p);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Debian's etcdctl 3.4 with ETCDCTL_API=3. */
export function etcdctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run('/usr/bin/etcdctl', args, { ETCDCTL_API: '3', ...env });
}

/** Our quorumctl (compiled). */
export function quorumctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, [QUORUMCTL, ...args], env);
}

/** Poll `fn` until it returns a truthy value; throws the last error/result after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** TLS file paths for a cluster (same cert for client and peer in tests). */
export interface TlsPaths { ca: string; cert: string; key: string; clientCert: string; clientKey: string }

/** One member's static settings and process. */
export class Member {
  proc: ChildProcess | undefined;
  exited: Promise<number> = Promise.resolve(0);
  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly metricsUrl: string,
    readonly dataDir: string,
    readonly args: string[],
    readonly logPath: string,
  ) {}

  /** Start (or restart) the process. */
  start(extra: string[] = []): void {
    const log = createWriteStream(this.logPath, { flags: 'a' });
    const p = spawn(process.execPath, [QUORUMD, ...this.args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    children.add(p);
    this.proc = p;
    this.exited = new Promise((resolve) => p.on('exit', (code, sig) => {
      children.delete(p);
      resolve(code ?? (sig ? 128 : -1));
    }));
  }

  /** Send a signal by pid and wait for exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    process.kill(this.proc.pid!, signal);
    return this.exited;
  }
}

/** How `describeCluster` lays out its members. */
export interface ClusterLayout {
  /** Member names, in order. */
  names: string[];
  /** The j-th port of the cluster: member i has client 3i, peer 3i+1, metrics 3i+2. */
  port: (j: number) => number;
  /** Data dirs and logs go under this dir (`<base>/<name>`, `<base>/<name>.log`). */
  base: string;
  /** --initial-cluster-token. */
  token: string;
  /** --heartbeat-interval in ms (default 100); --election-timeout is 10 times it. */
  heartbeatMs?: number;
  /** Serve client and peer URLs over https with these files (server = peer cert, client cert auth on both). */
  tls?: TlsPaths;
  /** Flags appended to every member's command line. */
  extra?: string[];
}

/**
 * Describe a new cluster (etcd's flag set, `--initial-cluster-state new`, loopback URLs, metrics always http).
 * The one member-flag builder of the integration harnesses (makeCluster here, clusterOnPorts in
 * maintenance_harness.ts). Members are not started.
 */
export function describeCluster(o: ClusterLayout): Member[] {
  const scheme = o.tls ? 'https' : 'http';
  const peer = (i: number) => `${scheme}://127.0.0.1:${o.port(3 * i + 1)}`;
  const initialCluster = o.names.map((nm, i) => `${nm}=${peer(i)}`).join(',');
  const heartbeatMs = o.heartbeatMs ?? 100;
  return o.names.map((name, i) => {
    const client = `${scheme}://127.0.0.1:${o.port(3 * i)}`;
    const metrics = `http://127.0.0.1:${o.port(3 * i + 2)}`;
    const dataDir = join(o.base, name);
    const args = [
      '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster-token', o.token, '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new', '--listen-metrics-urls', metrics,
      '--heartbeat-interval', String(heartbeatMs), '--election-timeout', String(10 * heartbeatMs),
    ];
    if (o.tls) {
      const t = o.tls;
      args.push('--cert-file', t.cert, '--key-file', t.key, '--trusted-ca-file', t.ca, '--client-cert-auth',
        '--peer-cert-file', t.cert, '--peer-key-file', t.key, '--peer-trusted-ca-file', t.ca, '--peer-client-cert-auth');
    }
    args.push(...(o.extra ?? []));
    return new Member(name, client, peer(i), metrics, dataDir, args, join(o.base, `${name}.log`));
  });
}

/**
 * Describe an n-member cluster on free loopback ports (etcd's flag set, http:// unless tls), data under a
 * fresh temp dir. Members are not started.
 */
export async function makeCluster(n: number, opts: { tls?: TlsPaths; token?: string; heartbeatMs?: number } = {}): Promise<Member[]> {
  const ports = await freePorts(3 * n);
  return describeCluster({
    names: Array.from({ length: n }, (_, i) => `infra${i + 1}`), port: (j) => ports[j]!, base: mkdtempSync(join(tmpdir(), 'quorumd-it-')),
    token: opts.token ?? 'etcd-cluster-1', heartbeatMs: opts.heartbeatMs, tls: opts.tls,
  });
}

/** Kill (SIGKILL, by pid) every process this harness started that is still running. */
export async function stopAll(): Promise<void> {
  for (const p of [...children]) {
    if (p.exitCode === null && p.signalCode === null && p.pid) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}

/** Parse `endpoint status -w json` (etcdctl or quorumctl) into endpoint -> {isLeader, id} (IDs as strings). */
export function parseStatusJson(stdout: string): { endpoint: string; memberId: string; leader: string; raftTerm: number }[] {
  const text = stdout.replace(/("(?:member_id|cluster_id|leader)":)(\d+)/g, '$1"$2"');
  const arr = JSON.parse(text) as { Endpoint: string; Status: { header: { member_id: string }; leader: string; raftTerm: number } }[];
  return arr.map((e) => ({ endpoint: e.Endpoint, memberId: e.Status.header.member_id, leader: e.Status.leader, raftTerm: e.Status.raftTerm }));
}
