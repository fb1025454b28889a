/**
 * The Lease API's errors with etcd's gRPC codes and exact messages (etcd api/v3rpc/rpctypes/error.go), and the
 * conversion of the lessor's typed errors to them.
 */
import { status } from '@grpc/grpc-js';
import { LeaseExistsError, LeaseNotFoundError, NotPrimaryError } from '../lease/lessor.js';
import { EtcdError, errors } from './errors.js';

export const leaseErrors = {
  notFound: () => new EtcdError(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  exists: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  ttlTooLarge: () => new EtcdError(status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
};

/** Map a lessor error to its EtcdError (NotPrimary becomes "etcdserver: no leader"); other values unchanged. */
export function leaseError(e: unknown): unknown {
  if (e instanceof LeaseNotFoundError) return leaseErrors.notFound();
  if (e instanceof LeaseExistsError) return leaseErrors.exists();
  if (e instanceof NotPrimaryError) return errors.noLeader();
  return e;
}
