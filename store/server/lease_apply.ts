/**
 * Applying lease entries (called from the node's applyEntry): deterministic, the same on every member.
 * etcd: etcdserver/apply.go LeaseGrant/LeaseRevoke; a revoke deletes the attached keys in one MVCC write
 * transaction (one revision, one DELETE event per key for watchers).
 */
import type { Lessor } from '../lease/lessor.js';
import type { MvccStore } from '../mvcc/kvstore.js';
import type { EtcdError } from './errors.js';
import { leaseError } from './lease_errors.js';
import type { LeaseOp } from './lease_request.js';

/** What applying a lease op produced; `rev` is the store revision afterwards (the response header's). */
export type LeaseApplyResult =
  | { op: 'leaseGrant'; rev: number; id: bigint; ttl: number }
  | { op: 'leaseRevoke'; rev: number }
  | { op: 'leaseError'; rev: number; error: EtcdError };

/**
 * Apply one lease op at Raft index `index`. Never throws for lease errors: they come back as 'leaseError'
 * results ("etcdserver: lease already exists", "etcdserver: requested lease not found") for the proposer.
 */
export function applyLeaseOp(lessor: Lessor, mvcc: MvccStore, b: LeaseOp, index: number): LeaseApplyResult {
  try {
    if (b.op === 'leaseGrant') {
      const g = lessor.grant(b.id, b.ttl, index);
      return { op: 'leaseGrant', rev: mvcc.rev(), id: g.id, ttl: g.ttl };
    }
    lessor.revoke(b.id, (keys) => {
      mvcc.write((tx) => {
        for (const k of keys) tx.deleteRange(k, undefined);
      });
    });
    return { op: 'leaseRevoke', rev: mvcc.rev() };
  } catch (e) {
    const err = leaseError(e);
    if (err instanceof Error && err.name === 'EtcdError') return { op: 'leaseError', rev: mvcc.rev(), error: err as EtcdError };
    throw e;
  }
}
