/**
 * Request checks of the KV service, done before anything is proposed (etcd 3.4
 * server/etcdserver/api/v3rpc/key.go: checkRangeRequest, checkPutRequest, checkDeleteRequest,
 * checkTxnRequest, checkIntervals), and the lease hook used when a put names a lease.
 * Every check throws an EtcdError with etcd's gRPC code and message (errors.ts).
 */
import { errors } from './errors.js';
import type { OpSpec, PutSpec, TxnSpec } from './kv_txn.js';

/** etcd's default for --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

/** A Range/Put/DeleteRange needs a non-empty key. @throws EtcdError "etcdserver: key is not provided" */
export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw errors.emptyKey();
}

/**
 * PutRequest checks: key present; ignore_value with a value -> "etcdserver: value is provided";
 * ignore_lease with a lease -> "etcdserver: lease is provided" (all InvalidArgument).
 */
export function checkPut(p: PutSpec): void {
  checkKey(p.key);
  if (p.ignoreValue && p.value.length !== 0) throw errors.valueProvided();
  if (p.ignoreLease && p.lease !== 0n) throw errors.leaseProvided();
}

function checkOp(op: OpSpec, maxTxnOps: number): void {
  switch (op.kind) {
    case 'range':
    case 'delete':
      return checkKey(op.key);
    case 'put':
      return checkPut(op);
    case 'txn':
      return checkTxn(op, maxTxnOps);
    default:
      // an empty RequestOp: etcd answers ErrGRPCKeyNotFound
      throw errors.keyNotFound();
  }
}

/**
 * TxnRequest checks, recursively: the largest of len(compare), len(success), len(failure) must not exceed
 * `maxTxnOps` ("etcdserver: too many operations in txn request"); nested txns get maxTxnOps minus that count;
 * every compare and op needs a key.
 */
export function checkTxn(t: TxnSpec, maxTxnOps: number): void {
  const opc = Math.max(t.compare.length, t.success.length, t.failure.length);
  if (opc > maxTxnOps) throw errors.tooManyOps();
  for (const c of t.compare) checkKey(c.key);
  for (const op of t.success) checkOp(op, maxTxnOps - opc);
  for (const op of t.failure) checkOp(op, maxTxnOps - opc);
}

// Intervals over byte strings with etcd's "affine" order: an empty bound means +infinity.
interface Interval { begin: string; end: string }
function cmpAffine(a: string, b: string): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
const point = (k: string): Interval => ({ begin: k, end: k + '\0' });
const intersects = (a: Interval, b: Interval) => cmpAffine(a.begin, b.end) < 0 && cmpAffine(b.begin, a.end) < 0;
const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * etcd's duplicate-key rule for one branch of ops (and the branches of nested txns): no key may be put twice,
 * and no put may fall in a range deleted in the same txn; the success and failure branches of a nested txn may
 * put the same key (only one runs). Delete ranges are taken literally (a range_end of "\0" is an empty interval,
 * as in etcd). Returns the puts and deletes for the level above.
 * @throws EtcdError "etcdserver: duplicate key given in txn request" (InvalidArgument)
 */
export function checkIntervals(ops: OpSpec[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.kind !== 'delete') continue;
    dels.push(op.rangeEnd.length !== 0 ? { begin: latin1(op.key), end: latin1(op.rangeEnd) } : point(latin1(op.key)));
  }
  const hitsDel = (k: string) => dels.some((d) => intersects(d, point(k)));
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'txn') continue;
    const then = checkIntervals(op.success);
    const els = checkIntervals(op.failure);
    for (const k of then.puts) {
      if (puts.has(k) || hitsDel(k)) throw errors.duplicateKey();
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw errors.duplicateKey();
      if (hitsDel(k)) throw errors.duplicateKey();
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    const k = latin1(op.key);
    if (puts.has(k) || hitsDel(k)) throw errors.duplicateKey();
    puts.add(k);
  }
  return { puts, dels };
}

/** Answers whether a lease ID is currently granted (decided on the applying member, deterministically). */
export type LeaseLookup = (id: bigint) => boolean;

const lessors = new WeakMap<object, LeaseLookup>();

/**
 * The lease engineer's hook: register how `owner` (a QuorumNode) looks leases up. Until one is registered,
 * every non-zero lease is unknown ("etcdserver: requested lease not found").
 */
export function registerLeaseLookup(owner: object, lookup: LeaseLookup): void {
  lessors.set(owner, lookup);
}

/** Whether lease `id` exists for `owner` (false when no lessor is registered). */
export function leaseExists(owner: object, id: bigint): boolean {
  const f = lessors.get(owner);
  return f ? f(id) : false;
}
