/**
 * Range, Txn and Compact with etcd 3.4's semantics (server/etcdserver/apply.go: Range, Txn, applyCompare,
 * compareToPath, checkRequests, Compaction):
 * - Range: with sorting or min/max revision filters everything is fetched, pruned, sorted, then cut to
 *   `limit` (`more` set when cut); `count` is the number of keys in the range before the filters; a sort target
 *   other than KEY with order NONE sorts ascending.
 * - Txn: all compares (and the compares of nested txns on the chosen branches) are evaluated against the state
 *   before the txn; puts with ignore_value/ignore_lease need the key to exist and leases must exist; range revisions
 *   must be readable; only then are the ops applied, all at ONE revision (mvcc `write`), which is only made when
 *   something changed.
 * - Compact: through Raft, so every member compacts at the same revision.
 * Requests are turned into plain "specs" once at the gRPC edge (`txnFromWire`), travel in Raft entries as JSON
 * (`specToJson`), and results are turned back into wire objects (`txnResultToWire`).
 */
import { ErrCompacted, ErrFutureRev, type MvccStore, type TxnWrite } from '../mvcc/kvstore.js';
import type { KeyValue, RangeOptions, RangeResult } from '../mvcc/types.js';
import { errors } from './errors.js';
import { leaseExists } from './kv_validate.js';
import { kvToWire } from './wire.js';

/** A RangeRequest (numbers for int64 revisions/limit, enums as numbers). */
export interface RangeSpec {
  kind: 'range'; key: Uint8Array; rangeEnd: Uint8Array; limit: number; revision: number;
  sortOrder: number; sortTarget: number; serializable: boolean; keysOnly: boolean; countOnly: boolean;
  minModRevision: number; maxModRevision: number; minCreateRevision: number; maxCreateRevision: number;
}
/** A PutRequest. */
export interface PutSpec {
  kind: 'put'; key: Uint8Array; value: Uint8Array; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean;
}
/** A DeleteRangeRequest (rangeEnd empty = one key). */
export interface DeleteSpec { kind: 'delete'; key: Uint8Array; rangeEnd: Uint8Array; prevKv: boolean }
/** An empty RequestOp (no request set). */
export interface EmptySpec { kind: 'empty' }
/** A Compare. `target`: 0 VERSION, 1 CREATE, 2 MOD, 3 VALUE, 4 LEASE; `result`: 0 EQUAL, 1 GREATER, 2 LESS, 3 NOT_EQUAL. */
export interface CompareSpec {
  result: number; target: number; key: Uint8Array; rangeEnd: Uint8Array;
  /** The target_union member that was set (undefined when none). */
  union?: 'version' | 'create_revision' | 'mod_revision' | 'value' | 'lease';
  num: bigint; value: Uint8Array;
}
/** A TxnRequest. */
export interface TxnSpec { kind: 'txn'; compare: CompareSpec[]; success: OpSpec[]; failure: OpSpec[] }
export type OpSpec = RangeSpec | PutSpec | DeleteSpec | TxnSpec | EmptySpec;

/** A range result as etcd's applier returns it; `rev` is the header revision. */
export interface RangeOut { kind: 'range'; rev: number; kvs: KeyValue[]; more: boolean; count: number }
export interface PutOut { kind: 'put'; rev: number; prev?: KeyValue }
export interface DeleteOut { kind: 'delete'; rev: number; deleted: number; prevKvs: KeyValue[] }
/** A txn result; `rev` is the header revision (0 for nested txns, as etcd leaves it). */
export interface TxnOut { kind: 'txn'; rev: number; succeeded: boolean; responses: OpOut[] }
export type OpOut = RangeOut | PutOut | DeleteOut | TxnOut;

const EMPTY = new Uint8Array(0);
const u8 = (b: Buffer | Uint8Array | null | undefined) => (b && b.length > 0 ? new Uint8Array(b) : EMPTY);
const num = (s: string | number | null | undefined) => Number(s ?? 0);

// ---- wire (proto-loader objects) -> specs --------------------------------------------------------------

/** RangeRequest wire object -> RangeSpec. */
export function rangeFromWire(r: Record<string, any>): RangeSpec {
  return {
    kind: 'range', key: u8(r.key), rangeEnd: u8(r.range_end), limit: num(r.limit), revision: num(r.revision),
    sortOrder: r.sort_order ?? 0, sortTarget: r.sort_target ?? 0, serializable: !!r.serializable,
    keysOnly: !!r.keys_only, countOnly: !!r.count_only,
    minModRevision: num(r.min_mod_revision), maxModRevision: num(r.max_mod_revision),
    minCreateRevision: num(r.min_create_revision), maxCreateRevision: num(r.max_create_revision),
  };
}
/** PutRequest wire object -> PutSpec. */
export function putFromWire(r: Record<string, any>): PutSpec {
  return {
    kind: 'put', key: u8(r.key), value: u8(r.value), lease: BigInt(r.lease ?? 0), prevKv: !!r.prev_kv,
    ignoreValue: !!r.ignore_value, ignoreLease: !!r.ignore_lease,
  };
}
/** DeleteRangeRequest wire object -> DeleteSpec. */
export function deleteFromWire(r: Record<string, any>): DeleteSpec {
  return { kind: 'delete', key: u8(r.key), rangeEnd: u8(r.range_end), prevKv: !!r.prev_kv };
}
function opFromWire(o: Record<string, any>): OpSpec {
  switch (o?.request) {
    case 'request_range': return rangeFromWire(o.request_range);
    case 'request_put': return putFromWire(o.request_put);
    case 'request_delete_range': return deleteFromWire(o.request_delete_range);
    case 'request_txn': return txnFromWire(o.request_txn);
    default: return { kind: 'empty' };
  }
}
/** TxnRequest wire object -> TxnSpec. */
export function txnFromWire(r: Record<string, any>): TxnSpec {
  const compare = ((r.compare ?? []) as Record<string, any>[]).map((c): CompareSpec => {
    const union = c.target_union as CompareSpec['union'];
    const spec: CompareSpec = {
      result: c.result ?? 0, target: c.target ?? 0, key: u8(c.key), rangeEnd: u8(c.range_end),
      num: 0n, value: EMPTY,
    };
    if (union) {
      spec.union = union;
      if (union === 'value') spec.value = u8(c.value);
      else spec.num = BigInt(c[union] ?? 0);
    }
    return spec;
  });
  return {
    kind: 'txn', compare,
    success: ((r.success ?? []) as Record<string, any>[]).map(opFromWire),
    failure: ((r.failure ?? []) as Record<string, any>[]).map(opFromWire),
  };
}

// ---- specs <-> JSON (for Raft entries) ---------------------------------------------------------------

/** A spec as a JSON-safe value: byte arrays as {"b": base64}, bigints as {"n": decimal}. */
export function specToJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (typeof v === 'bigint') return { n: v.toString() };
  if (Array.isArray(v)) return v.map(specToJson);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = specToJson(x);
    return o;
  }
  return v;
}
/** The inverse of specToJson. */
export function specFromJson<T>(v: unknown): T {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === 'b' && typeof o.b === 'string') return new Uint8Array(Buffer.from(o.b, 'base64'));
      if (keys.length === 1 && keys[0] === 'n' && typeof o.n === 'string') return BigInt(o.n);
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = walk(o[k]);
      return out;
    }
    return x;
  };
  return walk(v) as T;
}

// ---- execution -----------------------------------------------------------------------------------------

/** Reads used by execution: `at` > 0 reads at that revision, else the current state (incl. own writes). */
type Reader = (key: Uint8Array, rangeEnd: Uint8Array | undefined, opts: RangeOptions) => RangeResult;

const optEnd = (b: Uint8Array) => (b.length > 0 ? b : undefined);

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * etcd's Range applier on `read`; `headerRev` is the revision reported in the header.
 * @throws ErrCompacted / ErrFutureRev from the reader.
 */
export function execRange(read: Reader, r: RangeSpec, headerRev: number): RangeOut {
  const filtered = r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
  let limit = r.limit;
  if (r.sortOrder !== 0 || filtered) limit = 0;
  if (limit > 0) limit += 1;
  const rr = read(r.key, optEnd(r.rangeEnd), { limit: limit > 0 ? limit : undefined, revision: r.revision, countOnly: r.countOnly });
  let kvs = rr.kvs;
  if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => !(kv.modRevision > r.maxModRevision));
  if (r.minModRevision !== 0) kvs = kvs.filter((kv) => !(kv.modRevision < r.minModRevision));
  if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => !(kv.createRevision > r.maxCreateRevision));
  if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => !(kv.createRevision < r.minCreateRevision));
  let order = r.sortOrder;
  if (r.sortTarget !== 0 && order === 0) order = 1;
  if (order === 1 || order === 2) {
    const field = (kv: KeyValue): number | Uint8Array =>
      r.sortTarget === 1 ? kv.version : r.sortTarget === 2 ? kv.createRevision : r.sortTarget === 3 ? kv.modRevision : r.sortTarget === 4 ? kv.value : kv.key;
    const dir = order === 2 ? -1 : 1;
    kvs = [...kvs].sort((a, b) => {
      const x = field(a), y = field(b);
      return dir * (typeof x === 'number' ? x - (y as number) : cmpBytes(x, y as Uint8Array));
    });
  }
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kind: 'range', rev: headerRev, kvs, more, count: rr.count };
}

/** A top-level Range against the store (linearizability is the caller's business). */
export function rangeStore(mvcc: MvccStore, r: RangeSpec): RangeOut {
  return execRange((k, e, o) => mvcc.range(k, e, o), r, mvcc.rev());
}

function compareOne(mvcc: MvccStore, c: CompareSpec): boolean {
  let kvs: KeyValue[];
  try {
    kvs = mvcc.range(c.key, optEnd(c.rangeEnd), {}).kvs;
  } catch {
    return false;
  }
  const test = (kv: KeyValue | undefined): boolean => {
    let r: number;
    if (c.target === 3) {
      const want = c.union === 'value' ? c.value : EMPTY;
      r = cmpBytes(kv ? kv.value : EMPTY, want);
    } else {
      const want = c.union === ({ 0: 'version', 1: 'create_revision', 2: 'mod_revision', 4: 'lease' } as Record<number, string>)[c.target] ? c.num : 0n;
      const have = !kv ? 0n : c.target === 0 ? BigInt(kv.version) : c.target === 1 ? BigInt(kv.createRevision) : c.target === 2 ? BigInt(kv.modRevision) : c.target === 4 ? kv.lease : 0n;
      r = have < want ? -1 : have > want ? 1 : 0;
    }
    switch (c.result) {
      case 0: return r === 0;
      case 1: return r > 0;
      case 2: return r < 0;
      case 3: return r !== 0;
      default: return true;
    }
  };
  if (kvs.length === 0) return c.target === 3 ? false : test(undefined);
  return kvs.every(test);
}

/** Which branch each txn takes: decided for the whole tree before anything is written (etcd compareToPath). */
interface Path { succeeded: boolean; nested: Path[] }

function decide(mvcc: MvccStore, t: TxnSpec): Path {
  const succeeded = t.compare.every((c) => compareOne(mvcc, c));
  const ops = succeeded ? t.success : t.failure;
  return { succeeded, nested: ops.filter((o): o is TxnSpec => o.kind === 'txn').map((o) => decide(mvcc, o)) };
}

/** True when the txn (recursively) only reads. */
export function isTxnReadOnly(t: TxnSpec): boolean {
  return [...t.success, ...t.failure].every((o) => o.kind === 'range' || o.kind === 'empty' || (o.kind === 'txn' && isTxnReadOnly(o)));
}

/** True when every op of both branches (top level only, as etcd 3.4) is a serializable range. */
export function isTxnSerializable(t: TxnSpec): boolean {
  return [...t.success, ...t.failure].every((o) => o.kind === 'range' && o.serializable);
}

function forPath(t: TxnSpec, p: Path, fn: (op: OpSpec) => void): void {
  let i = 0;
  for (const op of p.succeeded ? t.success : t.failure) {
    if (op.kind === 'txn') forPath(op, p.nested[i++]!, fn);
    else fn(op);
  }
}

/**
 * Apply a txn (etcd applierV3backend.Txn). `owner` is the node whose lessor is asked about leases.
 * Read-only txns read the current state without making a revision.
 * @throws EtcdError "etcdserver: key not found" / "etcdserver: requested lease not found"; ErrCompacted /
 *         ErrFutureRev for a range op's revision; nothing is written when it throws.
 */
export function applyTxn(mvcc: MvccStore, owner: object, t: TxnSpec): TxnOut {
  const path = decide(mvcc, t);
  const write = !isTxnReadOnly(t);
  if (write) {
    forPath(t, path, (op) => {
      if (op.kind !== 'put') return;
      if ((op.ignoreValue || op.ignoreLease) && mvcc.range(op.key, undefined, {}).kvs.length === 0) throw errors.keyNotFound();
      if (op.lease !== 0n && !leaseExists(owner, op.lease)) throw errors.leaseNotFound();
    });
  }
  const first = compactFloor(mvcc);
  forPath(t, path, (op) => {
    if (op.kind !== 'range' || op.revision === 0) return;
    if (op.revision > mvcc.rev()) throw new ErrFutureRev();
    if (op.revision < first) throw new ErrCompacted();
  });
  if (!write) {
    const out = run(t, path, (k, e, o) => mvcc.range(k, e, o), () => mvcc.rev(), undefined);
    out.rev = mvcc.rev();
    return out;
  }
  const begin = mvcc.rev();
  let changed = false;
  const out = mvcc.write((tx) =>
    run(
      t,
      path,
      (k, e, o) => (o.revision && o.revision > 0 ? mvcc.range(k, e, o) : tx.range(k, e, { ...o, revision: undefined } as Omit<RangeOptions, 'revision'>)),
      () => (changed ? begin + 1 : begin),
      { tx, markChanged: () => (changed = true) },
    ),
  );
  out.rev = changed ? begin + 1 : begin;
  return out;
}

interface Writer { tx: TxnWrite; markChanged: () => void }

function run(t: TxnSpec, p: Path, read: Reader, curRev: () => number, w: Writer | undefined): TxnOut {
  const responses: OpOut[] = [];
  let i = 0;
  for (const op of p.succeeded ? t.success : t.failure) {
    switch (op.kind) {
      case 'range':
        responses.push(execRange(read, op, curRev()));
        break;
      case 'put': {
        const prev = w!.tx.range(op.key, undefined, {}).kvs[0];
        const value = op.ignoreValue && prev ? prev.value : op.value;
        const lease = op.ignoreLease && prev ? prev.lease : op.lease;
        const r = w!.tx.put(op.key, value, lease);
        w!.markChanged();
        responses.push(op.prevKv && prev ? { kind: 'put', rev: r.rev, prev } : { kind: 'put', rev: r.rev });
        break;
      }
      case 'delete': {
        const r = w!.tx.deleteRange(op.key, optEnd(op.rangeEnd));
        if (r.deleted > 0) w!.markChanged();
        responses.push({ kind: 'delete', rev: curRev(), deleted: r.deleted, prevKvs: op.prevKv ? r.prevKvs : [] });
        break;
      }
      case 'txn': {
        const nested = run(op, p.nested[i++]!, read, curRev, w);
        nested.rev = 0;
        responses.push(nested);
        break;
      }
      default:
        break;
    }
  }
  return { kind: 'txn', rev: 0, succeeded: p.succeeded, responses };
}

// ---- results -> wire -----------------------------------------------------------------------------------

type HeaderFn = (rev: number) => Record<string, string>;
const bareHeader: HeaderFn = (rev) => ({ cluster_id: '0', member_id: '0', revision: String(rev), raft_term: '0' });

/** RangeOut -> RangeResponse wire object. */
export function rangeToWire(r: RangeOut, header: HeaderFn = bareHeader): Record<string, unknown> {
  return { header: header(r.rev), kvs: r.kvs.map(kvToWire), more: r.more, count: String(r.count) };
}

function opToWire(o: OpOut): Record<string, unknown> {
  switch (o.kind) {
    case 'range': return { response_range: rangeToWire(o) };
    case 'put': return { response_put: { header: bareHeader(o.rev), prev_kv: o.prev ? kvToWire(o.prev) : null } };
    case 'delete': return { response_delete_range: { header: bareHeader(o.rev), deleted: String(o.deleted), prev_kvs: o.prevKvs.map(kvToWire) } };
    case 'txn': return { response_txn: txnResultToWire(o) };
  }
}

/** TxnOut -> TxnResponse wire object; `header` fills the top-level header (nested ones carry only a revision). */
export function txnResultToWire(t: TxnOut, header: HeaderFn = bareHeader): Record<string, unknown> {
  return { header: header(t.rev), succeeded: t.succeeded, responses: t.responses.map(opToWire) };
}

// ---- Raft-applied KV requests ----------------------------------------------------------------------------

/** A txn travelling in a Raft entry. */
export interface TxnOp { op: 'txn'; txn: TxnSpec }
/** A compaction travelling in a Raft entry. */
export interface CompactOp { op: 'compact'; revision: number; physical: boolean }

const zeroCompacted = new WeakSet<MvccStore>();

/** etcd's compactMainRev: -1 on a store never compacted, 0 after a Compact(0), else the compacted revision. */
function compactFloor(mvcc: MvccStore): number {
  if (mvcc.compactRevision() > 0) return mvcc.compactRevision();
  return zeroCompacted.has(mvcc) ? 0 : -1;
}

/** What applying a TxnOp/CompactOp gives the proposer: a result or the error to answer with. */
export type KvApplyResult =
  | { op: 'txn'; rev: number; txn?: TxnOut; error?: Error }
  | { op: 'compact'; rev: number; error?: Error };

/** Apply a TxnOp or CompactOp on a member (called from the node's apply loop; never throws). */
export function applyKvRequest(mvcc: MvccStore, owner: object, b: TxnOp | CompactOp): KvApplyResult {
  if (b.op === 'txn') {
    try {
      const txn = applyTxn(mvcc, owner, b.txn);
      return { op: 'txn', rev: txn.rev, txn };
    } catch (e) {
      return { op: 'txn', rev: mvcc.rev(), error: e as Error };
    }
  }
  try {
    // etcd starts with compactMainRev = -1: compacting at 0 succeeds once on a never-compacted store
    if (b.revision === 0 && mvcc.compactRevision() === 0 && !zeroCompacted.has(mvcc)) zeroCompacted.add(mvcc);
    else mvcc.compact(b.revision);
    return { op: 'compact', rev: mvcc.rev() };
  } catch (e) {
    return { op: 'compact', rev: mvcc.rev(), error: e as Error };
  }
}
