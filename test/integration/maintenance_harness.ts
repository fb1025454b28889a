/**
 * Helpers of the Maintenance integration tests: quorumd members and a reference etcd 3.4 on fixed loopback
 * ports of this suite's range (25000-25999), so they never collide with other suites. Processes are
 * started through quorumd_harness (tracked, killed by pid in stopAll) or here (etcd: tracked the same way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Member, describeCluster, etcdctl, waitFor } from './quorumd_harness.js';

/** A fresh temp dir for one test file. */
export function tempBase(tag: string): string {
  return mkdtempSync(join(tmpdir(), `quorum-maint-${tag}-`));
}

/**
 * An n-member quorumd cluster on ports basePort + 3i (client), +1 (peer), +2 (metrics), data under `base`.
 * Members are not started. `extra` flags are appended to every member's command line.
 */
export function clusterOnPorts(n: number, basePort: number, base: string, opts: { token?: string; names?: string[]; extra?: string[] } = {}): Member[] {
  return describeCluster({
    names: opts.names ?? Array.from({ length: n }, (_, i) => `m${i + 1}`), port: (j) => basePort + j, base,
    token: opts.token ?? 'maint-cluster', extra: opts.extra,
  });
}

/** Start members and wait until `etcdctl endpoint health` passes on all of them. */
export async function startHealthy(members: Member[]): Promise<void> {
  for (const m of members) m.start();
  const eps = members.map((m) => m.clientUrl).join(',');
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps, 'endpoint', 'health'])).code === 0, 60_000);
}

const etcdProcs = new Set<ChildProcess>();

/** A reference etcd 3.4 member on clientPort/peerPort with `extra` flags; resolves once it answers. */
export async function startEtcd(base: string, clientPort: number, peerPort: number, extra: string[] = []): Promise<{ endpoint: string; proc: ChildProcess }> {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const log = createWriteStream(join(base, 'etcd.log'));
  const proc = spawn('/usr/bin/etcd', [
    '--data-dir', join(base, 'etcd-data'), '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`, ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  etcdProcs.add(proc);
  proc.on('exit', () => etcdProcs.delete(proc));
  await waitFor('etcd healthy', async () => (await etcdctl(['--endpoints', client, 'endpoint', 'health'])).code === 0, 30_000);
  return { endpoint: client, proc };
}

/** Kill (by pid) every etcd started here. */
export function stopEtcd(): void {
  for (const p of etcdProcs) {
    if (p.pid && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  etcdProcs.clear();
}

/** etcdctl JSON with uint64 fields quoted so JSON.parse keeps them exact. */
export function parseGoJson<T>(s: string): T {
  return JSON.parse(s.replace(/("(?:member_id|cluster_id|leader|memberID|ID)":)(\d+)/g, '$1"$2"')) as T;
}

/** Status of an endpoint via etcdctl -w json. */
export async function statusOf(endpoint: string): Promise<{ revision: number; dbSize: number; dbSizeInUse: number; errors: string[]; memberId: string }> {
  const r = await etcdctl(['--endpoints', endpoint, 'endpoint', 'status', '-w', 'json']);
  if (r.code !== 0) throw new Error(`endpoint status failed: ${r.stderr}`);
  const [s] = parseGoJson<{ Status: { header: { revision: number; member_id: string }; dbSize: number; dbSizeInUse: number; errors?: string[] } }[]>(r.stdout);
  return { revision: s!.Status.header.revision, dbSize: s!.Status.dbSize, dbSizeInUse: s!.Status.dbSizeInUse, errors: s!.Status.errors ?? [], memberId: s!.Status.header.member_id };
}

/** A failure worth retrying on a loaded machine: deadline exceeded, unavailable, or etcd's "request timed out". */
export function isTransient(e: { code: number; details: string }): boolean {
  return e.code === 4 || e.code === 14 || /request timed out/.test(e.details);
}
