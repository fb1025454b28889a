/**
 * The backend space quota (etcd server/etcdserver/quota.go, docs "Maintenance: Space quota"): a write may
 * go ahead only while `dbSize + cost < quota-backend-bytes`. Only requests that grow the store are charged:
 * Put, Txn with puts (the larger of its success and failure branches) and LeaseGrant; deletes and reads are
 * free. A negative quota disables the check (etcd's passthrough quota); 0 is etcd's default, 2 GiB
 * (already resolved by config.ts).
 *
 * Request bodies are inspected structurally (`op` fields), so request kinds added by other parts of the
 * server are classified without this module knowing their types: a body is a write when it is, or (for a Txn)
 * contains, an op named put / delete / deleteRange / txn-with-writes.
 */

/** etcd's estimate of the metadata cost of one key (quota.go kvOverhead). */
export const KV_OVERHEAD = 256;
/** etcd's estimate of the cost of one lease (quota.go leaseOverhead). */
export const LEASE_OVERHEAD = 64;

type Body = Record<string, unknown>;

const PUT_OPS = new Set(['put']);
const DELETE_OPS = new Set(['delete', 'deleteRange', 'delete_range']);
const TXN_OPS = new Set(['txn']);
const LEASE_GRANT_OPS = new Set(['leaseGrant', 'lease_grant']);

function byteLen(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === 'string') return Buffer.byteLength(v);
  return 0;
}

/** Approximate protobuf size of a PutRequest-like body: key and value with their tags/lengths, lease, flags. */
function putSize(b: Body): number {
  const k = byteLen(b.key);
  const v = byteLen(b.value);
  const lease = typeof b.lease === 'bigint' && b.lease !== 0n ? 11 : 0;
  return (k > 0 ? 2 + k + (k > 127 ? 1 : 0) : 0) + (v > 0 ? 2 + v + (v > 127 ? 1 : 0) + (v > 16383 ? 1 : 0) : 0) + lease;
}

/** The name of a request or of an op inside a Txn (`op` in Raft request bodies, `kind` in Txn op specs). */
function nameOf(b: Body): string {
  return typeof b.op === 'string' ? b.op : typeof b.kind === 'string' ? b.kind : '';
}

/** The `success` and `failure` branches of a Txn-like body (the body itself or its `txn` field). */
function branches(b: Body): Body[][] {
  const t = (typeof b.txn === 'object' && b.txn !== null ? b.txn : b) as Body;
  const out: Body[][] = [];
  for (const name of ['success', 'failure']) {
    const v = t[name];
    if (Array.isArray(v)) out.push(v.filter((x): x is Body => typeof x === 'object' && x !== null));
  }
  return out;
}

/**
 * What a request body means for the quota (etcd quota.go costPut / costTxn / LeaseGrant): its cost in bytes,
 * whether it is charged (checked against the quota at all) and whether it writes (refused while NOSPACE is
 * active; a Txn writes unless every op in it is a range, as etcd's isTxnReadonly).
 */
export function classify(body: { op: string } | Body): { charged: boolean; cost: number; writes: boolean } {
  const b = body as Body;
  const name = nameOf(b);
  if (PUT_OPS.has(name)) return { charged: true, cost: KV_OVERHEAD + putSize(b), writes: true };
  if (LEASE_GRANT_OPS.has(name)) return { charged: true, cost: LEASE_OVERHEAD + 12, writes: true };
  if (DELETE_OPS.has(name)) return { charged: false, cost: 0, writes: true };
  if (TXN_OPS.has(name)) {
    let cost = 0;
    let writes = false;
    for (const ops of branches(b)) {
      let c = 0;
      for (const op of ops) {
        const n = nameOf(op);
        if (PUT_OPS.has(n)) c += KV_OVERHEAD + putSize(op);
        if (n !== 'range' && n !== 'empty') writes = true;
      }
      cost = Math.max(cost, c);
    }
    return { charged: true, cost, writes };
  }
  return { charged: false, cost: 0, writes: false };
}

/** The space quota of one member. */
export class Quota {
  /** @param quotaBytes --quota-backend-bytes as resolved by config.ts (negative = no quota). */
  constructor(readonly quotaBytes: number) {}

  /**
   * Whether `body` fits: true for requests that are not charged; otherwise `dbSize + cost < quota`
   * (etcd backendQuota.Available). `dbSize` is the backend's total size in bytes.
   */
  available(body: { op: string }, dbSize: number): boolean {
    if (this.quotaBytes < 0) return true;
    const c = classify(body);
    if (!c.charged) return true;
    return dbSize + c.cost < this.quotaBytes;
  }
}
