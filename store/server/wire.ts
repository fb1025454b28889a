/**
 * Helpers shared by the gRPC services: response headers, KeyValue conversion, unary handler wrapping
 * (the one place errors are converted to gRPC status, see errors.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import type { KeyValue } from '../mvcc/types.js';
import { toGrpcError } from './errors.js';
import type { QuorumNode } from './node.js';

/** etcd ResponseHeader as a wire object (uint64 as decimal strings). */
export function header(node: QuorumNode, revision?: number): Record<string, string> {
  return {
    cluster_id: node.clusterId.toString(),
    member_id: node.memberId.toString(),
    revision: String(revision ?? node.mvcc.rev()),
    raft_term: String(node.raftTerm()),
  };
}

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** mvcc KeyValue -> mvccpb.KeyValue wire object. */
export function kvToWire(kv: KeyValue): Record<string, unknown> {
  return {
    key: buf(kv.key),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: buf(kv.value),
    lease: kv.lease.toString(),
  };
}

/** Wrap an async handler as a grpc-js unary handler; any throw is converted once with toGrpcError. */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => cb(null, res),
        (e) => cb(toGrpcError(e)),
      );
  };
}

/** A bytes field (Buffer) or undefined when empty. */
export function optBytes(b: Buffer | undefined | null): Uint8Array | undefined {
  return b && b.length > 0 ? new Uint8Array(b) : undefined;
}
