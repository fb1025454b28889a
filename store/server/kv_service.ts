/**
 * etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact (etcd 3.4 server/etcdserver/api/v3rpc/key.go and
 * v3_server.go: validate first, then execute; errors converted once in wire.unary).
 * - Range and read-only Txns are served locally after a read-index barrier, unless serializable (for a Txn:
 *   when every op of both branches is a serializable range).
 * - Writes go through Raft; a request whose Raft form would exceed --max-request-bytes is refused with
 *   "etcdserver: request is too large".
 * - Puts with ignore_value/ignore_lease or a lease travel as one-op txns so the key/lease checks happen when the
 *   entry is applied, on every member alike (as etcd's applier does them).
 */
import type * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../proto/load.js';
import { errors } from './errors.js';
import {
  applyTxn, deleteFromWire, isTxnReadOnly, isTxnSerializable, putFromWire, rangeFromWire, rangeStore, rangeToWire,
  txnFromWire, txnResultToWire, type TxnSpec,
} from './kv_txn.js';
import { checkIntervals, checkKey, checkPut, checkTxn, DEFAULT_MAX_TXN_OPS } from './kv_validate.js';
import type { QuorumNode } from './node.js';
import { header, kvToWire, unary } from './wire.js';
import { receivedSize } from './kv_wire.js';

type Wire = Record<string, any>;

/** Bytes etcd's InternalRaftRequest adds around a request (op tag + length, request header with its ID). */
const RAFT_WRAP_BYTES = 20;

let serializers: Record<string, (v: unknown) => Buffer> | undefined;
/** Protobuf-encoded size of a request of KV method `method` (as received). */
function wireSize(method: string, req: Wire): number {
  if (!serializers) {
    const svc = (etcdPackage().KV as grpc.ServiceClientConstructor).service;
    serializers = Object.fromEntries(Object.entries(svc).map(([k, d]) => [k, d.requestSerialize as (v: unknown) => Buffer]));
  }
  return serializers[method]!(req).length;
}

function checkSize(node: QuorumNode, method: string, req: Wire): void {
  // the size it arrived with (kv_wire.ts deserializers), else re-encode it
  if ((receivedSize(req) ?? wireSize(method, req)) + RAFT_WRAP_BYTES > node.cfg.maxRequestBytes) throw errors.requestTooLarge();
}

/** Execute a RangeRequest wire object (after the read barrier when linearizable); returns a RangeResponse. */
export async function range(node: QuorumNode, r: Wire): Promise<Record<string, unknown>> {
  const spec = rangeFromWire(r);
  checkKey(spec.key);
  if (!spec.serializable) await node.readBarrier();
  return rangeToWire(rangeStore(node.mvcc, spec), (rev) => header(node, rev));
}

async function proposeTxn(node: QuorumNode, spec: TxnSpec) {
  const res = await node.propose({ op: 'txn', txn: spec });
  if (res.op !== 'txn') throw new Error('internal: unexpected apply result');
  if (res.error) throw res.error;
  return res.txn!;
}

/** The KV service implementation for grpc-js addService. */
export function kvService(node: QuorumNode): Record<string, unknown> {
  const maxTxnOps = node.cfg.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
  return {
    Range: unary((r: Wire) => range(node, r)),
    Put: unary(async (r: Wire) => {
      const spec = putFromWire(r);
      checkPut(spec);
      checkSize(node, 'Put', r);
      if (spec.ignoreValue || spec.ignoreLease || spec.lease !== 0n) {
        const out = await proposeTxn(node, { kind: 'txn', compare: [], success: [spec], failure: [] });
        const p = out.responses[0]!;
        if (p.kind !== 'put') throw new Error('internal: unexpected txn result');
        return { header: header(node, p.rev), prev_kv: spec.prevKv && p.prev ? kvToWire(p.prev) : null };
      }
      const res = await node.propose({ op: 'put', key: spec.key, value: spec.value, lease: 0n, prevKv: spec.prevKv });
      if (res.op !== 'put') throw new Error('internal: unexpected apply result');
      return { header: header(node, res.rev), prev_kv: spec.prevKv && res.prev ? kvToWire(res.prev) : null };
    }),
    DeleteRange: unary(async (r: Wire) => {
      const spec = deleteFromWire(r);
      checkKey(spec.key);
      checkSize(node, 'DeleteRange', r);
      const res = await node.propose({ op: 'delete', key: spec.key, rangeEnd: spec.rangeEnd, prevKv: spec.prevKv });
      if (res.op !== 'delete') throw new Error('internal: unexpected apply result');
      return { header: header(node, res.rev), deleted: String(res.deleted), prev_kvs: spec.prevKv ? res.prevKvs.map(kvToWire) : [] };
    }),
    Txn: unary(async (r: Wire) => {
      const spec = txnFromWire(r);
      checkTxn(spec, maxTxnOps);
      checkIntervals(spec.success);
      checkIntervals(spec.failure);
      if (isTxnReadOnly(spec)) {
        if (!isTxnSerializable(spec)) await node.readBarrier();
        return txnResultToWire(applyTxn(node.mvcc, node, spec), (rev) => header(node, rev));
      }
      checkSize(node, 'Txn', r);
      const out = await proposeTxn(node, spec);
      return txnResultToWire(out, (rev) => header(node, rev));
    }),
    Compact: unary(async (r: Wire) => {
      checkSize(node, 'Compact', r);
      const res = await node.propose({ op: 'compact', revision: Number(r.revision ?? 0), physical: !!r.physical });
      if (res.op !== 'compact') throw new Error('internal: unexpected apply result');
      if (res.error) throw res.error;
      return { header: header(node) };
    }),
  };
}
