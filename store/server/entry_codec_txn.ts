/**
 * The txn body of entry encoding v2 (entry_codec.ts, op 3): an etcd TxnRequest spec (kv_txn.ts TxnSpec) in a
 * compact binary form instead of v1's JSON with base64 bytes and {"n": decimal} bigints.
 *
 * Layout (varint = unsigned LEB128; signed = a safe-integer number: one byte with bit 0 the sign, bits 1-6 the
 * low 6 bits of the magnitude and bit 7 set when a varint of magnitude / 64 follows (exact up to 2^53 - 1, where
 * a zigzag varint computed in doubles is not); bytes = varint length + raw bytes; int64 = varint of its uint64
 * two's complement):
 *
 *   txn:     varint nCompare, compare * nCompare, varint nSuccess, op * nSuccess, varint nFailure, op * nFailure
 *   compare: u8 flags, signed result, signed target, bytes key, [bytes rangeEnd], [int64 num], [bytes value]
 *            flags bits 0-2: the target_union member set (0 none, 1 version, 2 create_revision, 3 mod_revision,
 *            4 value, 5 lease); bit 3 num != 0; bit 4 value non-empty; bit 5 rangeEnd non-empty
 *   op:      u8 kind (0 empty, 1 range, 2 put, 3 delete, 4 txn), then
 *     range:  u8 flags (bit 0 serializable, 1 keysOnly, 2 countOnly), u8 mask of the non-zero numbers (bit i =
 *             number i of limit, revision, sortOrder, sortTarget, minModRevision, maxModRevision,
 *             minCreateRevision, maxCreateRevision), bytes key, bytes rangeEnd, signed of each non-zero number
 *     put:    u8 flags (bit 0 prevKv, 1 ignoreValue, 2 ignoreLease, 3 lease != 0), bytes key, bytes value, [int64 lease]
 *     delete: u8 flags (bit 0 prevKv), bytes key, bytes rangeEnd
 *     txn:    a nested txn body (at most 64 levels deep)
 *
 * Decoding gives the TxnSpec that v1's specFromJson(specToJson(spec)) gives (every byte array a fresh copy, the
 * compare's `union` absent when none was set). Unknown kinds or flag bits, truncation and out-of-range numbers
 * throw EntryCodecError through the entry's Reader.
 */
import type { Reader } from './entry_codec.js';
import type { CompareSpec, OpSpec, RangeSpec, TxnSpec } from './kv_txn.js';

/** Thrown by the encoder for a spec v2 cannot represent exactly; the caller writes the entry as v1. */
export class TxnNotRepresentable extends Error {
  override readonly name = 'TxnNotRepresentable';
}

/** The deepest nesting of txns inside txns written as v2 (deeper ones are written as v1). */
export const MAX_TXN_DEPTH = 64;

const UNIONS = ['version', 'create_revision', 'mod_revision', 'value', 'lease'] as const;
const UNION_CODE: Record<string, number> = { version: 1, create_revision: 2, mod_revision: 3, value: 4, lease: 5 };
const RANGE_NUMS = ['limit', 'revision', 'sortOrder', 'sortTarget', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A growable output buffer. */
class Writer {
  buf: Uint8Array;
  pos: number;
  constructor(head: Uint8Array, capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, head.length));
    this.buf.set(head);
    this.pos = head.length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }

  varint(n: number): void {
    this.ensure(8);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.pos++] = n;
  }

  /** A safe integer as a signed varint: first byte bit 0 sign, bits 1-6 low magnitude bits; then magnitude / 64. */
  signed(n: number): void {
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TxnNotRepresentable(`number ${String(n)}`);
    const neg = n < 0;
    const m = neg ? -n : n;
    const first = ((m % 64) << 1) | (neg ? 1 : 0);
    const rest = Math.floor(m / 64);
    if (rest === 0) this.u8(first);
    else {
      this.u8(first | 0x80);
      this.varint(rest);
    }
  }

  int64(n: bigint): void {
    if (typeof n !== 'bigint' || n < INT64_MIN || n > INT64_MAX) throw new TxnNotRepresentable(`int64 ${String(n)}`);
    this.ensure(10);
    let u = BigInt.asUintN(64, n);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  bytes(b: Uint8Array): void {
    if (!(b instanceof Uint8Array)) throw new TxnNotRepresentable('bytes');
    this.ensure(8 + b.length);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

const bit = (v: boolean, mask: number) => {
  if (typeof v !== 'boolean') throw new TxnNotRepresentable('boolean');
  return v ? mask : 0;
};

function writeCompare(w: Writer, c: CompareSpec): void {
  let flags = 0;
  if (c.union !== undefined) {
    const code = UNION_CODE[c.union];
    if (code === undefined) throw new TxnNotRepresentable(`compare union ${String(c.union)}`);
    flags = code;
  }
  if (c.num !== 0n) flags |= 8;
  if (c.value.length > 0) flags |= 16;
  if (c.rangeEnd.length > 0) flags |= 32;
  w.u8(flags);
  w.signed(c.result);
  w.signed(c.target);
  w.bytes(c.key);
  if (flags & 32) w.bytes(c.rangeEnd);
  if (flags & 8) w.int64(c.num);
  if (flags & 16) w.bytes(c.value);
}

function writeOp(w: Writer, o: OpSpec, depth: number): void {
  switch (o.kind) {
    case 'empty':
      w.u8(0);
      return;
    case 'range': {
      w.u8(1);
      w.u8(bit(o.serializable, 1) | bit(o.keysOnly, 2) | bit(o.countOnly, 4));
      let mask = 0;
      for (let i = 0; i < RANGE_NUMS.length; i++) if (o[RANGE_NUMS[i]!] !== 0) mask |= 1 << i;
      w.u8(mask);
      w.bytes(o.key);
      w.bytes(o.rangeEnd);
      for (let i = 0; i < RANGE_NUMS.length; i++) if (mask & (1 << i)) w.signed(o[RANGE_NUMS[i]!]);
      return;
    }
    case 'put':
      w.u8(2);
      w.u8(bit(o.prevKv, 1) | bit(o.ignoreValue, 2) | bit(o.ignoreLease, 4) | (o.lease !== 0n ? 8 : 0));
      w.bytes(o.key);
      w.bytes(o.value);
      if (o.lease !== 0n) w.int64(o.lease);
      return;
    case 'delete':
      w.u8(3);
      w.u8(bit(o.prevKv, 1));
      w.bytes(o.key);
      w.bytes(o.rangeEnd);
      return;
    case 'txn':
      w.u8(4);
      writeTxn(w, o, depth + 1);
      return;
    default:
      throw new TxnNotRepresentable(`op kind ${String((o as { kind: unknown }).kind)}`);
  }
}

function writeTxn(w: Writer, t: TxnSpec, depth: number): void {
  if (depth > MAX_TXN_DEPTH) throw new TxnNotRepresentable(`txn nested deeper than ${MAX_TXN_DEPTH}`);
  w.varint(t.compare.length);
  for (const c of t.compare) writeCompare(w, c);
  w.varint(t.success.length);
  for (const o of t.success) writeOp(w, o, depth);
  w.varint(t.failure.length);
  for (const o of t.failure) writeOp(w, o, depth);
}

/** About the size of `t`'s body (the buffer's first capacity; the writer grows past it when it is short). */
function sizeHint(t: TxnSpec, depth: number): number {
  if (depth > MAX_TXN_DEPTH) return 0;
  let n = 12;
  for (const c of t.compare) n += 30 + (c.key?.length ?? 0) + (c.rangeEnd?.length ?? 0) + (c.value?.length ?? 0);
  for (const list of [t.success, t.failure]) {
    for (const o of list) {
      if (o.kind === 'txn') n += 1 + sizeHint(o, depth + 1);
      else if (o.kind === 'range') n += 80 + (o.key?.length ?? 0) + (o.rangeEnd?.length ?? 0);
      else if (o.kind === 'put') n += 24 + (o.key?.length ?? 0) + (o.value?.length ?? 0);
      else if (o.kind === 'delete') n += 12 + (o.key?.length ?? 0) + (o.rangeEnd?.length ?? 0);
      else n += 1;
    }
  }
  return n;
}

/**
 * `head` (the entry's header and id) followed by the txn body of `t`.
 * @throws TxnNotRepresentable when a number is not a safe integer, an int64 is out of range, a boolean or byte
 * array has another type, a kind or union is unknown, or txns nest deeper than MAX_TXN_DEPTH.
 */
export function encodeTxnBody(head: Uint8Array, t: TxnSpec): Uint8Array {
  const w = new Writer(head, head.length + sizeHint(t, 1));
  writeTxn(w, t, 1);
  return w.buf.slice(0, w.pos);
}

// ---- decoding --------------------------------------------------------------------------------------------

function signed(r: Reader, what: string): number {
  const first = r.u8(what);
  let m = (first >> 1) & 63;
  if (first & 0x80) {
    m += r.varint(what) * 64;
    if (m > Number.MAX_SAFE_INTEGER) r.fail(`${what} out of range`);
  }
  return first & 1 && m !== 0 ? -m : m;
}

function readCompare(r: Reader): CompareSpec {
  const flags = r.u8('compare flags');
  const code = flags & 7;
  if ((flags & ~63) !== 0 || code > 5) r.fail(`unknown compare flags 0x${flags.toString(16)}`);
  const result = signed(r, 'compare result');
  const target = signed(r, 'compare target');
  const key = r.bytes('compare key');
  const rangeEnd = flags & 32 ? r.bytes('compare range end') : new Uint8Array(0);
  const num = flags & 8 ? r.bigVarint('compare number') : 0n;
  const value = flags & 16 ? r.bytes('compare value') : new Uint8Array(0);
  const c: CompareSpec = { result, target, key, rangeEnd, num, value };
  if (code !== 0) c.union = UNIONS[code - 1];
  return c;
}

function readOp(r: Reader, depth: number): OpSpec {
  const kind = r.u8('op kind');
  switch (kind) {
    case 0:
      return { kind: 'empty' };
    case 1: {
      const flags = r.u8('range flags');
      if ((flags & ~7) !== 0) r.fail(`unknown range flags 0x${flags.toString(16)}`);
      const mask = r.u8('range number mask');
      const key = r.bytes('range key');
      const rangeEnd = r.bytes('range end');
      const n = (i: number) => (mask & (1 << i) ? signed(r, `range ${RANGE_NUMS[i]}`) : 0);
      const spec: RangeSpec = {
        kind: 'range', key, rangeEnd, limit: n(0), revision: n(1), sortOrder: n(2), sortTarget: n(3),
        serializable: (flags & 1) !== 0, keysOnly: (flags & 2) !== 0, countOnly: (flags & 4) !== 0,
        minModRevision: n(4), maxModRevision: n(5), minCreateRevision: n(6), maxCreateRevision: n(7),
      };
      return spec;
    }
    case 2: {
      const flags = r.u8('put flags');
      if ((flags & ~15) !== 0) r.fail(`unknown put flags 0x${flags.toString(16)}`);
      const key = r.bytes('put key');
      const value = r.bytes('put value');
      const lease = flags & 8 ? r.bigVarint('put lease') : 0n;
      return { kind: 'put', key, value, lease, prevKv: (flags & 1) !== 0, ignoreValue: (flags & 2) !== 0, ignoreLease: (flags & 4) !== 0 };
    }
    case 3: {
      const flags = r.u8('delete flags');
      if ((flags & ~1) !== 0) r.fail(`unknown delete flags 0x${flags.toString(16)}`);
      const key = r.bytes('delete key');
      return { kind: 'delete', key, rangeEnd: r.bytes('delete range end'), prevKv: (flags & 1) !== 0 };
    }
    case 4:
      return readTxn(r, depth + 1);
    default:
      return r.fail(`unknown txn op kind ${kind}`);
  }
}

/** A count of compares or ops (each takes at least one byte, so a damaged count ends in a truncation error). */
const readCount = (r: Reader, what: string) => r.varint(what);

function readTxn(r: Reader, depth: number): TxnSpec {
  if (depth > MAX_TXN_DEPTH) r.fail(`txn nested deeper than ${MAX_TXN_DEPTH}`);
  const nc = readCount(r, 'compare count');
  const compare: CompareSpec[] = [];
  for (let i = 0; i < nc; i++) compare.push(readCompare(r));
  const ns = readCount(r, 'success count');
  const success: OpSpec[] = [];
  for (let i = 0; i < ns; i++) success.push(readOp(r, depth));
  const nf = readCount(r, 'failure count');
  const failure: OpSpec[] = [];
  for (let i = 0; i < nf; i++) failure.push(readOp(r, depth));
  return { kind: 'txn', compare, success, failure };
}

/**
 * Reads a txn body at the reader's position (after the entry's header and id).
 * @throws EntryCodecError (through `r.fail`) on truncation, unknown kinds or flag bits, out-of-range numbers or
 * nesting deeper than MAX_TXN_DEPTH.
 */
export function decodeTxnBody(r: Reader): TxnSpec {
  return readTxn(r, 1);
}
