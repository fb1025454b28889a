/**
 * Helpers shared by the gRPC services: response headers, KeyValue conversion, unary handler wrapping
 * (the one place errors are converted to gRPC status, see errors.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import type { KeyValue } from '../mvcc/types.js';
import { toGrpcError } from './errors.js';
import type { QuorumNode } from './node.js';

/** The last member's IDs as decimal strings (a bigint's toString per response is not free). */
let ids = { cluster: -1n, member: -1n, clusterS: '', memberS: '' };

/** etcd ResponseHeader as a wire object (uint64 as decimal strings). */
export function header(node: QuorumNode, revision?: number): Record<string, string> {
  let c = ids;
  if (c.cluster !== node.clusterId || c.member !== node.memberId) {
    c = ids = { cluster: node.clusterId, member: node.memberId, clusterS: node.clusterId.toString(), memberS: node.memberId.toString() };
  }
  return {
    cluster_id: c.clusterS,
    member_id: c.memberS,
    revision: String(revision ?? node.mvcc.rev()),
    raft_term: String(node.raftTerm()),
  };
}

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * mvcc KeyValue -> mvccpb.KeyValue wire object. int64 fields are numbers (a lease ID beyond 2^53 a decimal
 * string): the response serializers (kv_wire.ts, proto-loader too) take numbers without a string round trip.
 */
export function kvToWire(kv: KeyValue): Record<string, unknown> {
  return {
    key: buf(kv.key),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: buf(kv.value),
    lease: kv.lease === 0n ? 0 : kv.lease <= BigInt(Number.MAX_SAFE_INTEGER) && kv.lease >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(kv.lease) : kv.lease.toString(),
  };
}

/**
 * Wrap an async handler as a grpc-js unary handler; any throw (synchronous or a rejection) is converted once with
 * toGrpcError. The handler runs at once; the answer goes out when its promise settles (no extra promise hops).
 */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    let out: Promise<Res> | Res;
    try {
      out = fn(call.request, call);
    } catch (e) {
      cb(toGrpcError(e));
      return;
    }
    if (out instanceof Promise) out.then((res) => cb(null, res), (e) => cb(toGrpcError(e)));
    else cb(null, out);
  };
}

/** A bytes field (Buffer) or undefined when empty. */
export function optBytes(b: Buffer | undefined | null): Uint8Array | undefined {
  return b && b.length > 0 ? new Uint8Array(b) : undefined;
}
