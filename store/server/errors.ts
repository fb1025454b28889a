/**
 * Server errors, typed, with etcd's exact gRPC codes and message strings (etcd api/v3rpc/rpctypes/error.go):
 * clients such as etcdctl, the etcd3 npm client and kube-apiserver map errors by these strings.
 * Everything inside the server throws these (or mvcc's errors); `toGrpcError` converts ONCE at the gRPC edge.
 */
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

/** An error with a gRPC status code and an etcd message string. */
export class EtcdError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

export const errors = {
  emptyKey: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  tooManyOps: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  requestTooLarge: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  compacted: () => new EtcdError(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: () => new EtcdError(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  duplicateKey: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  valueProvided: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  keyNotFound: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: key not found'),
  leaseNotFound: () => new EtcdError(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  noSpace: () => new EtcdError(status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  noLeader: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: no leader'),
  timeout: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: request timed out'),
  timeoutLeaderFail: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'),
  leaderChanged: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: leader changed'),
  stopped: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: server stopped'),
  memberNotFound: () => new EtcdError(status.NOT_FOUND, 'etcdserver: member not found'),
  unimplemented: (what: string) => new EtcdError(status.UNIMPLEMENTED, `quorumd: ${what} is not implemented yet`),
};

/**
 * Convert anything thrown inside a handler to a gRPC ServiceError (the single conversion point).
 * EtcdError keeps its code and message; mvcc's compaction/future-revision errors are recognised by class name
 * or message; anything else becomes UNKNOWN with its message.
 */
export function toGrpcError(e: unknown): Partial<ServiceError> {
  const err = classify(e);
  return { code: err.code, details: err.message, message: err.message, metadata: new Metadata() };
}

/** Map any thrown value to an EtcdError (used by toGrpcError and by tests). */
export function classify(e: unknown): EtcdError {
  if (e instanceof EtcdError) return e;
  const name = (e as { name?: string; constructor?: { name?: string } })?.constructor?.name ?? (e as Error)?.name ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  if (/Compacted/i.test(name) || msg.includes('required revision has been compacted')) return errors.compacted();
  if (/Future/i.test(name) || msg.includes('required revision is a future revision')) return errors.futureRev();
  return new EtcdError(status.UNKNOWN, msg);
}
