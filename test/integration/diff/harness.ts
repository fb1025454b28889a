/**
 * Differential harness: one real etcd 3.4 (/usr/bin/etcd) and one single-member quorumd side by side on
 * loopback, a grpc-js client (built on store/proto) for each, and `both(service, method, req)` which sends the
 * same request to both and asserts the normalized responses are equal.
 * Normalization: every `header` keeps only `revision` (cluster_id, member_id and raft_term differ by design);
 * errors become `{ error: { code, message } }` (gRPC status code and etcd's message string).
 * Ports: `basePort` .. `basePort + 4` (etcd client, etcd peer, quorumd client, quorumd peer, quorumd metrics);
 * callers pick them from their own range. Processes are killed by pid in `close()`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../../../store/proto/load.js';
import { Member, waitFor } from '../quorumd_harness.js';

/** A unary call result: the response object, or the error as code + message. */
export type CallResult = Record<string, unknown> | { error: { code: number; message: string } };

type Service = 'KV' | 'Maintenance' | 'Cluster' | 'Lease' | 'Auth';

/** Clients for one server (etcd or quorumd), one per service. */
export class Endpoint {
  private readonly clients = new Map<Service, grpc.Client>();
  constructor(readonly name: string, readonly url: string) {}

  private client(svc: Service): grpc.Client {
    let c = this.clients.get(svc);
    if (!c) {
      const Ctor = etcdPackage()[svc] as grpc.ServiceClientConstructor;
      c = new Ctor(this.url.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
      this.clients.set(svc, c);
    }
    return c;
  }

  /** One unary call, raw (not normalized). Rejects with the grpc-js ServiceError. */
  raw(svc: Service, method: string, req: unknown, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const c = this.client(svc) as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void>;
    return new Promise((resolve, reject) => {
      c[method]!.call(c, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => (e ? reject(e) : resolve(r)));
    });
  }

  /** One unary call, normalized (see the module comment). */
  async call(svc: Service, method: string, req: unknown): Promise<CallResult> {
    try {
      return normalize(await this.raw(svc, method, req)) as Record<string, unknown>;
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (typeof err.code !== 'number') throw e;
      return { error: { code: err.code, message: err.details } };
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** Drop header.cluster_id/member_id/raft_term everywhere; Buffers become latin1 strings for readable diffs. */
export function normalize(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'header' && x && typeof x === 'object') out[k] = { revision: (x as Record<string, unknown>).revision };
      else out[k] = normalize(x);
    }
    return out;
  }
  return v;
}

/** A running etcd + quorumd pair. */
export interface Pair {
  etcd: Endpoint;
  quorum: Endpoint;
  /** Send `req` to both; assert equal normalized results; return etcd's. `label` names the step in failures. */
  both(method: string, req: unknown, label?: string, svc?: Service): Promise<CallResult>;
  /** Stop both servers (by pid) and close clients. */
  close(): Promise<void>;
}

/**
 * Start etcd and quorumd on basePort..basePort+4 with fresh data dirs; resolves once both answer a Range.
 * `etcdArgs` / `quorumdArgs` are appended to each command line (e.g. --max-txn-ops).
 */
export async function startPair(basePort: number, opts: { etcdArgs?: string[]; quorumdArgs?: string[] } = {}): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-diff-'));
  const u = (p: number) => `http://127.0.0.1:${p}`;
  const [ec, ep, qc, qp, qm] = [0, 1, 2, 3, 4].map((i) => basePort + i) as [number, number, number, number, number];
  const etcdProc: ChildProcess = spawn('/usr/bin/etcd', [
    '--name', 'default', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', u(ec), '--advertise-client-urls', u(ec),
    '--listen-peer-urls', u(ep), '--initial-advertise-peer-urls', u(ep), '--initial-cluster', `default=${u(ep)}`,
    ...(opts.etcdArgs ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const elog = createWriteStream(join(dir, 'etcd.log'));
  etcdProc.stdout!.pipe(elog);
  etcdProc.stderr!.pipe(elog);
  const member = new Member('default', u(qc), u(qp), u(qm), join(dir, 'quorumd'), [
    '--name', 'default', '--data-dir', join(dir, 'quorumd'),
    '--listen-client-urls', u(qc), '--advertise-client-urls', u(qc),
    '--listen-peer-urls', u(qp), '--initial-advertise-peer-urls', u(qp), '--initial-cluster', `default=${u(qp)}`,
    '--listen-metrics-urls', u(qm), ...(opts.quorumdArgs ?? []),
  ], join(dir, 'quorumd.log'));
  member.start();
  const etcd = new Endpoint('etcd', u(ec));
  const quorum = new Endpoint('quorumd', u(qc));
  const ready = (e: Endpoint) => waitFor(`${e.name} on ${e.url} (logs in ${dir})`, async () => {
    await e.raw('KV', 'Range', { key: Buffer.from('ready?') }, 2000);
    return true;
  }, 60_000, 200);
  try {
    await Promise.all([ready(etcd), ready(quorum)]);
  } catch (e) {
    etcdProc.kill('SIGKILL');
    await member.kill('SIGKILL');
    throw e;
  }
  return {
    etcd,
    quorum,
    async both(method, req, label, svc = 'KV') {
      const a = await etcd.call(svc, method, req);
      const b = await quorum.call(svc, method, req);
      assert.deepEqual(b, a, `${label ?? method}: quorumd differs from etcd for ${method} ${JSON.stringify(normalize(req))}`);
      return a;
    },
    async close() {
      etcd.close();
      quorum.close();
      if (etcdProc.exitCode === null && etcdProc.signalCode === null) {
        const gone = new Promise((r) => etcdProc.once('exit', r));
        process.kill(etcdProc.pid!, 'SIGKILL');
        await gone;
      }
      await member.kill('SIGKILL');
    },
  };
}

/** Bytes of a string (latin1, so test keys may hold any byte). */
export const b = (s: string): Buffer => Buffer.from(s, 'latin1');
