/**
 * What a learner serves (etcd 3.4 api/v3rpc/interceptor.go, isRPCSupportedForLearner): only Maintenance.Status and
 * serializable KV.Range; every other unary call and every stream is refused with
 * UNAVAILABLE "etcdserver: rpc not supported for learner". A member that has not yet applied its own addition
 * (a joining member catching up) is treated the same way.
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdError, toGrpcError } from './errors.js';
import type { QuorumNode } from './node.js';

/** etcd's ErrGPRCNotSupportedForLearner. */
export const notSupportedForLearner = () => new EtcdError(grpc.status.UNAVAILABLE, 'etcdserver: rpc not supported for learner');

function isLearner(node: QuorumNode): boolean {
  const self = node.members.find((m) => m.id === node.memberId);
  return self === undefined || !!self.isLearner;
}

function allowed(path: string, req: unknown): boolean {
  if (path.endsWith('/Status')) return true;
  if (path === '/etcdserverpb.KV/Range') return !!(req as { serializable?: boolean }).serializable;
  return false;
}

/**
 * Wrap every handler of `impl` (for `definition`) with the learner check. Handlers missing from `impl` stay
 * missing (grpc-js answers UNIMPLEMENTED).
 */
export function learnerGuard(node: QuorumNode, definition: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(impl)) {
    const def = (definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)[name];
    if (!def || typeof fn !== 'function') {
      out[name] = fn;
      continue;
    }
    const path = def.path;
    if (!def.requestStream && !def.responseStream) {
      out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (isLearner(node) && !allowed(path, call.request)) return cb(toGrpcError(notSupportedForLearner()) as grpc.ServiceError);
        return (fn as Function)(call, cb);
      }) as grpc.UntypedHandleCall;
    } else if (def.requestStream && !def.responseStream) {
      out[name] = ((call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (isLearner(node)) return cb(toGrpcError(notSupportedForLearner()) as grpc.ServiceError);
        return (fn as Function)(call, cb);
      }) as grpc.UntypedHandleCall;
    } else {
      out[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        if (isLearner(node) && !(def.requestStream === false && allowed(path, call.request))) {
          call.emit('error', toGrpcError(notSupportedForLearner()));
          return;
        }
        return (fn as Function)(call);
      }) as grpc.UntypedHandleCall;
    }
  }
  return out;
}
