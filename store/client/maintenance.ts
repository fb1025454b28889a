/**
 * etcdserverpb.Maintenance's Alarm, Defragment, Hash, HashKV and Snapshot over a StoreClient (so its endpoint,
 * TLS, auth token, deadline and StoreError rules apply), for quorumctl and the toolkit; works against quorumd
 * and etcd alike. Snapshot has no deadline unless `timeoutMs` is given (etcdctl: none unless
 * --command-timeout is set).
 */
import type * as grpc from '@grpc/grpc-js';
import { headerFromWire, StoreError, type ResponseHeader, type StoreClient } from './client.js';

/** An alarm as the wire carries it: member ID and type (1 NOSPACE, 2 CORRUPT). */
export interface Alarm { memberId: bigint; alarm: number }
/** AlarmResponse: `header` is undefined when the server sent none (etcd sends none for Alarm). */
export interface AlarmResult { header?: ResponseHeader; alarms: Alarm[] }

type WireHeader = Parameters<typeof headerFromWire>[0];

/** Alarm with `action` (0 GET, 1 ACTIVATE, 2 DEACTIVATE). */
export async function alarm(c: StoreClient, action: number, memberId = 0n, type = 0): Promise<AlarmResult> {
  const r = await c.unary<{ header: WireHeader; alarms: { memberID: string; alarm: number }[] }>('Maintenance', 'Alarm', { action, memberID: memberId.toString(), alarm: type });
  return { header: r.header ? headerFromWire(r.header) : undefined, alarms: (r.alarms ?? []).map((a) => ({ memberId: BigInt(a.memberID), alarm: a.alarm })) };
}

/**
 * etcd clientv3 AlarmDisarm with an empty member: list the active alarms, then deactivate each one;
 * resolves with the deactivated alarms (no header: clientv3 builds this response itself).
 */
export async function disarmAll(c: StoreClient): Promise<AlarmResult> {
  const list = await alarm(c, 0);
  const out: Alarm[] = [];
  for (const a of list.alarms) out.push(...(await alarm(c, 2, a.memberId, a.alarm)).alarms);
  return { alarms: out };
}

/** Defragment the member behind `c`. */
export async function defragment(c: StoreClient): Promise<{ header?: ResponseHeader }> {
  const r = await c.unary<{ header: WireHeader }>('Maintenance', 'Defragment', {});
  return { header: r.header ? headerFromWire(r.header) : undefined };
}

/** Hash of the member's whole backend. */
export async function hash(c: StoreClient): Promise<{ header: ResponseHeader; hash: number }> {
  const r = await c.unary<{ header: WireHeader; hash: number }>('Maintenance', 'Hash', {});
  return { header: headerFromWire(r.header), hash: r.hash };
}

/** HashKV at `revision` (0 = current); compactRevision is -1 when never compacted (etcd). */
export async function hashKV(c: StoreClient, revision = 0): Promise<{ header: ResponseHeader; hash: number; compactRevision: number }> {
  const r = await c.unary<{ header: WireHeader; hash: number; compact_revision: string }>('Maintenance', 'HashKV', { revision: String(revision) });
  return { header: headerFromWire(r.header), hash: r.hash, compactRevision: Number(r.compact_revision) };
}

/** Stream Snapshot: each chunk's bytes (image, then the 32-byte digest) go to `onChunk`; resolves with the byte count. */
export function snapshot(c: StoreClient, onChunk: (b: Buffer) => void, timeoutMs?: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const raw = c.rawClient('Maintenance') as unknown as Record<string, Function>;
    const opts = timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
    const stream = raw.Snapshot!.call(raw, {}, c.metadata(), opts) as grpc.ClientReadableStream<{ blob: Buffer }>;
    let total = 0;
    stream.on('data', (m) => {
      total += m.blob.length;
      onChunk(m.blob);
    });
    stream.on('error', (err: grpc.ServiceError) => reject(new StoreError(c.endpoint, err.code, err.details || err.message)));
    stream.on('end', () => resolve(total));
  });
}
