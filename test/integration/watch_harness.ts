/**
 * Helpers of the Watch integration tests: a reference etcd 3.4 and a one-member quorumd on fixed loopback
 * ports (22000-22999), a raw Watch stream client (grpc-js over our .proto) and response normalization
 * (IDs and terms removed) for differential comparison. Processes are killed by pid in `stopServers`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { StoreClient } from '../../store/client/client.js';
import { etcdPackage, serviceClient } from '../../store/proto/load.js';
import { Member, waitFor } from './quorumd_harness.js';

const procs: ChildProcess[] = [];
const dirs: string[] = [];

/** Start etcd 3.4 with client port `port` and peer port `port + 1`; resolves when it answers Status. */
export async function startEtcd(port: number, extra: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'watch-etcd-'));
  dirs.push(dir);
  const url = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${port + 1}`;
  const p = spawn('/usr/bin/etcd', ['--data-dir', dir, '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`, ...extra],
  { stdio: 'ignore' });
  procs.push(p);
  await ready(url);
  return url;
}

/** Start a one-member quorumd with client port `port`, peer `port + 1`, metrics `port + 2`. */
export async function startQuorumd(port: number, extra: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'watch-quorumd-'));
  dirs.push(dir);
  const url = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${port + 1}`;
  const args = ['--name', 'default', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`,
    '--listen-metrics-urls', `http://127.0.0.1:${port + 2}`, ...extra];
  const m = new Member('default', url, peer, `http://127.0.0.1:${port + 2}`, join(dir, 'data'), args, join(dir, 'quorumd.log'));
  m.start();
  procs.push(m.proc!);
  await ready(url);
  return url;
}

/**
 * Start an n-member quorumd cluster; member i uses client port base + 10*i, peer +1, metrics +2.
 * Resolves with the client URLs once every member sees a leader.
 */
export async function startQuorumdCluster(base: number, n: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'watch-cluster-'));
  dirs.push(dir);
  const peer = (i: number) => `http://127.0.0.1:${base + 10 * i + 1}`;
  const initial = Array.from({ length: n }, (_, i) => `m${i}=${peer(i)}`).join(',');
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const url = `http://127.0.0.1:${base + 10 * i}`;
    const metrics = `http://127.0.0.1:${base + 10 * i + 2}`;
    const args = ['--name', `m${i}`, '--data-dir', join(dir, `m${i}`), '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i), '--initial-cluster', initial,
      '--initial-cluster-state', 'new', '--listen-metrics-urls', metrics];
    const m = new Member(`m${i}`, url, peer(i), metrics, join(dir, `m${i}`), args, join(dir, `m${i}.log`));
    m.start();
    procs.push(m.proc!);
    urls.push(url);
  }
  await Promise.all(urls.map(ready));
  return urls;
}

async function ready(url: string): Promise<void> {
  await waitFor(`${url} to answer`, async () => {
    const c = new StoreClient(url, undefined, { timeoutMs: 1000 });
    try {
      const st = await c.status();
      return st.leader !== 0n;
    } finally {
      c.close();
    }
  }, 30_000, 200);
}

/** Kill every server started here (SIGKILL by pid) and remove their data. */
export async function stopServers(): Promise<void> {
  for (const p of procs.splice(0)) {
    if (p.pid && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch { /* gone */ }
      await new Promise((r) => p.once('exit', r));
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A raw Watch stream: requests in, every response recorded in arrival order. */
export class RawWatch {
  readonly responses: Record<string, any>[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, Record<string, any>>;
  error: grpc.ServiceError | undefined;

  constructor(url: string, metadata?: Record<string, string>) {
    const Ctor = serviceClient(etcdPackage(), 'Watch');
    this.client = new Ctor(url.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata ?? {})) md.set(k, v);
    this.call = (this.client as any).Watch(md);
    this.call.on('data', (r) => this.responses.push(r));
    this.call.on('error', (e: grpc.ServiceError) => (this.error = e));
  }

  /** Send a WatchRequest wire object, e.g. `{ create_request: {...} }`. */
  send(req: Record<string, unknown>): void {
    this.call.write(req);
  }

  /** Stop reading responses (HTTP/2 flow control then pushes back on the server). */
  pause(): void {
    this.call.pause();
  }

  /** Read responses again. */
  resume(): void {
    this.call.resume();
  }

  /** Wait until at least n responses arrived (rejects after timeoutMs). */
  async waitCount(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${n} watch responses (have ${this.responses.length})`, async () => this.responses.length >= n, timeoutMs, 20);
  }

  /** Wait until `pred` holds for some response; returns it. */
  async waitFor(what: string, pred: (r: Record<string, any>) => boolean, timeoutMs = 20_000): Promise<Record<string, any>> {
    return waitFor(what, async () => this.responses.find(pred), timeoutMs, 20);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A create_request wire object with etcd's defaults. */
export function createReq(o: { key: string; rangeEnd?: Buffer | string; start?: number; prevKv?: boolean; progress?: boolean; filters?: number[]; id?: number; fragment?: boolean }): Record<string, unknown> {
  return {
    create_request: {
      key: Buffer.from(o.key), range_end: typeof o.rangeEnd === 'string' ? Buffer.from(o.rangeEnd) : (o.rangeEnd ?? Buffer.alloc(0)),
      start_revision: String(o.start ?? 0), progress_notify: !!o.progress, filters: o.filters ?? [], prev_kv: !!o.prevKv,
      watch_id: String(o.id ?? 0), fragment: !!o.fragment,
    },
  };
}

const kvNorm = (kv: Record<string, any> | null) => kv && {
  key: kv.key.toString('latin1'), value: kv.value.toString('latin1'), create_revision: kv.create_revision,
  mod_revision: kv.mod_revision, version: kv.version, lease: kv.lease,
};

/** A WatchResponse without cluster/member IDs and raft term. */
export function normalize(r: Record<string, any>): Record<string, unknown> {
  return {
    revision: r.header?.revision ?? '0', watch_id: r.watch_id, created: r.created, canceled: r.canceled,
    compact_revision: r.compact_revision, cancel_reason: r.cancel_reason, fragment: r.fragment,
    events: r.events.map((e: Record<string, any>) => ({ type: e.type, kv: kvNorm(e.kv), prev_kv: kvNorm(e.prev_kv) })),
  };
}

/** Whether a response is a periodic progress notification (timing-dependent; compared separately). */
export function isProgressNotify(r: Record<string, any>): boolean {
  return !r.created && !r.canceled && r.events.length === 0 && Number(r.watch_id) >= 0 && r.compact_revision === '0';
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
