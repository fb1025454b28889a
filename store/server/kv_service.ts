/**
 * etcdserverpb.KV: Range, Put, DeleteRange (etcd server/etcdserver/api/v3rpc/key.go: validate first, then
 * execute; errors converted once in wire.unary). Txn and Compact answer UNIMPLEMENTED for now.
 * Reads are linearizable (read index) unless `serializable` is set.
 */
import { status } from '@grpc/grpc-js';
import type { KeyValue } from '../mvcc/types.js';
import { EtcdError, errors } from './errors.js';
import type { QuorumNode } from './node.js';
import { header, kvToWire, optBytes, unary } from './wire.js';

interface RangeReq {
  key: Buffer; range_end: Buffer; limit: string; revision: string; sort_order: number; sort_target: number;
  serializable: boolean; keys_only: boolean; count_only: boolean; min_mod_revision: string; max_mod_revision: string;
  min_create_revision: string; max_create_revision: string;
}
interface PutReq { key: Buffer; value: Buffer; lease: string; prev_kv: boolean; ignore_value: boolean; ignore_lease: boolean }
interface DeleteReq { key: Buffer; range_end: Buffer; prev_kv: boolean }

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function sortKey(kv: KeyValue, target: number): number | Uint8Array {
  switch (target) {
    case 1: return kv.version;
    case 2: return kv.createRevision;
    case 3: return kv.modRevision;
    case 4: return kv.value;
    default: return kv.key;
  }
}

/** Execute a RangeRequest against the node (after the read barrier when linearizable). */
export async function range(node: QuorumNode, r: RangeReq): Promise<Record<string, unknown>> {
  if (!r.key || r.key.length === 0) throw errors.emptyKey();
  if (Number(r.limit) < 0) throw new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: invalid limit');
  if (!r.serializable) await node.readBarrier();
  const limit = Number(r.limit);
  const minMod = Number(r.min_mod_revision), maxMod = Number(r.max_mod_revision);
  const minCreate = Number(r.min_create_revision), maxCreate = Number(r.max_create_revision);
  const filtered = minMod > 0 || maxMod > 0 || minCreate > 0 || maxCreate > 0;
  // etcd: a sort by key ascending is the natural order; anything else needs the full set before the limit.
  const sortOrder = r.sort_order === 0 && r.sort_target !== 0 ? 1 : r.sort_order;
  const needAll = filtered || (sortOrder !== 0 && !(r.sort_target === 0 && sortOrder === 1));
  const res = node.mvcc.range(new Uint8Array(r.key), optBytes(r.range_end), {
    limit: needAll ? 0 : limit > 0 ? limit : undefined,
    revision: Number(r.revision) > 0 ? Number(r.revision) : undefined,
    keysOnly: r.keys_only,
    countOnly: r.count_only && !needAll,
  });
  let kvs = res.kvs;
  let more = res.more;
  let count = res.count;
  if (needAll) {
    if (filtered) {
      kvs = kvs.filter((kv) =>
        (minMod <= 0 || kv.modRevision >= minMod) && (maxMod <= 0 || kv.modRevision <= maxMod) &&
        (minCreate <= 0 || kv.createRevision >= minCreate) && (maxCreate <= 0 || kv.createRevision <= maxCreate));
    }
    if (sortOrder !== 0) {
      const dir = sortOrder === 2 ? -1 : 1;
      kvs = [...kvs].sort((a, b) => {
        const x = sortKey(a, r.sort_target), y = sortKey(b, r.sort_target);
        const c = typeof x === 'number' ? x - (y as number) : compareBytes(x, y as Uint8Array);
        return dir * c;
      });
    }
    if (filtered) count = kvs.length;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (r.count_only) kvs = [];
  }
  return { header: header(node, res.revision), kvs: kvs.map(kvToWire), more, count: String(count) };
}

function checkSize(node: QuorumNode, bytes: number): void {
  if (bytes > node.cfg.maxRequestBytes) throw errors.requestTooLarge();
}

/** The KV service implementation for grpc-js addService. */
export function kvService(node: QuorumNode): Record<string, unknown> {
  return {
    Range: unary((r: RangeReq) => range(node, r)),
    Put: unary(async (r: PutReq) => {
      if (!r.key || r.key.length === 0) throw errors.emptyKey();
      if (r.ignore_value || r.ignore_lease) throw errors.unimplemented('PutRequest.ignore_value/ignore_lease');
      if (BigInt(r.lease) !== 0n) throw new EtcdError(status.NOT_FOUND, 'etcdserver: requested lease not found');
      checkSize(node, r.key.length + r.value.length);
      const res = await node.propose({ op: 'put', key: new Uint8Array(r.key), value: new Uint8Array(r.value), lease: 0n, prevKv: r.prev_kv });
      if (res.op !== 'put') throw new Error('internal: unexpected apply result');
      return { header: header(node, res.rev), prev_kv: r.prev_kv && res.prev ? kvToWire(res.prev) : null };
    }),
    DeleteRange: unary(async (r: DeleteReq) => {
      if (!r.key || r.key.length === 0) throw errors.emptyKey();
      checkSize(node, r.key.length + (r.range_end?.length ?? 0));
      const res = await node.propose({ op: 'delete', key: new Uint8Array(r.key), rangeEnd: new Uint8Array(r.range_end ?? Buffer.alloc(0)), prevKv: r.prev_kv });
      if (res.op !== 'delete') throw new Error('internal: unexpected apply result');
      return { header: header(node, res.rev), deleted: String(res.deleted), prev_kvs: r.prev_kv ? res.prevKvs.map(kvToWire) : [] };
    }),
  };
}
