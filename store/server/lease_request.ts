/**
 * Lease requests inside Raft entries (the lease part of request.ts's versioned JSON; IDs as decimal strings).
 * Key attachment needs no request of its own: it travels in Put entries (their `lease` field).
 */

/** Grant a lease (etcd LeaseGrantRequest). `id` 0n = the server derives one from the entry's index. TTL in s. */
export interface LeaseGrantOp { op: 'leaseGrant'; id: bigint; ttl: number }
/** Revoke a lease and delete its keys (etcd LeaseRevokeRequest; also proposed by the leader on expiry). */
export interface LeaseRevokeOp { op: 'leaseRevoke'; id: bigint }

export type LeaseOp = LeaseGrantOp | LeaseRevokeOp;

/** Whether a request body is a lease op. */
export function isLeaseOp(b: { op: string }): b is LeaseOp {
  return b.op === 'leaseGrant' || b.op === 'leaseRevoke';
}

/** The JSON fields of a lease op (merged into the request object by encodeRequest). */
export function encodeLeaseOp(b: LeaseOp): Record<string, unknown> {
  return b.op === 'leaseGrant' ? { op: b.op, leaseId: b.id.toString(), ttl: b.ttl } : { op: b.op, leaseId: b.id.toString() };
}

/** Decode the fields written by encodeLeaseOp. Throws Error on a malformed op. */
export function decodeLeaseOp(o: Record<string, unknown>): LeaseOp {
  const id = BigInt(String(o.leaseId));
  if (o.op === 'leaseGrant') return { op: 'leaseGrant', id, ttl: Number(o.ttl) };
  if (o.op === 'leaseRevoke') return { op: 'leaseRevoke', id };
  throw new Error(`request: unknown lease op ${JSON.stringify(o.op)}`);
}
