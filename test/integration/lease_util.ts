/**
 * Helpers for the lease integration tests: quorumd members and a reference etcd 3.4 on FIXED loopback ports
 * from this suite's range (23000-23999), started through the shared harness's Member (killed by pid in stopAll).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Member, run, waitFor } from './quorumd_harness.js';

/** Describe quorumd members on ports base, base+1, ... (client, peer, metrics per member); not started. */
export function leaseCluster(n: number, base: number, heartbeatMs = 100): Member[] {
  const dir = mkdtempSync(join(tmpdir(), 'quorumd-lease-'));
  const names = Array.from({ length: n }, (_, i) => `l${i + 1}`);
  const port = (i: number, k: number) => base + 3 * i + k;
  const peer = (i: number) => `http://127.0.0.1:${port(i, 1)}`;
  const initial = names.map((nm, i) => `${nm}=${peer(i)}`).join(',');
  return names.map((name, i) => {
    const client = `http://127.0.0.1:${port(i, 0)}`;
    const metrics = `http://127.0.0.1:${port(i, 2)}`;
    const args = [
      '--name', name, '--data-dir', join(dir, name),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster-token', 'lease-test', '--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--listen-metrics-urls', metrics, '--heartbeat-interval', String(heartbeatMs), '--election-timeout', String(10 * heartbeatMs),
    ];
    return new Member(name, client, peer(i), metrics, join(dir, name), args, join(dir, `${name}.log`));
  });
}

/** A running reference etcd 3.4 on loopback (client port `port`, peer port `port + 1`). Kill by pid with `stop`. */
export function startEtcd(port: number): { url: string; stop: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-lease-'));
  const c = `http://127.0.0.1:${port}`;
  const p = `http://127.0.0.1:${port + 1}`;
  const proc = spawn('/usr/bin/etcd', [
    '--data-dir', join(dir, 'data'), '--listen-client-urls', c, '--advertise-client-urls', c,
    '--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', `default=${p}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dir, 'etcd.log'));
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  return {
    url: c,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, 'SIGKILL');
    },
  };
}

/** Wait until `endpoint` answers a linearizable get through etcdctl. */
export async function waitReady(endpoint: string): Promise<void> {
  await waitFor(`${endpoint} ready`, async () => (await run('/usr/bin/etcdctl', ['--endpoints', endpoint, 'get', 'x'], { ETCDCTL_API: '3' }, 10_000)).code === 0, 30_000, 200);
}
