/**
 * MVCC errors with etcd's exact messages (etcd server/storage/mvcc/kvstore.go). Clients map errors by
 * message string, so the gRPC edge passes `message` through unchanged (prefixed with "etcdserver: ").
 */

/** Base class of MVCC errors. */
export class MvccError extends Error {
  override readonly name: string = 'MvccError';
}

/** A read or compaction asked for a revision older than the compacted one (gRPC OutOfRange in etcd). */
export class ErrCompacted extends MvccError {
  override readonly name = 'ErrCompacted';
  constructor() {
    super('mvcc: required revision has been compacted');
  }
}

/** A read or compaction asked for a revision after the current one (gRPC OutOfRange in etcd). */
export class ErrFutureRev extends MvccError {
  override readonly name = 'ErrFutureRev';
  constructor() {
    super('mvcc: required revision is a future revision');
  }
}
