/**
 * Protobuf wire primitives for the hand-written codecs of the client-facing hot messages (kv_wire.ts,
 * watch_wire.ts): varints, int64 values in the shapes the service handlers use (number, decimal string, bigint,
 * Long-like {low, high}), length-delimited bytes, and a two-pass encoder (sizes first, then one Buffer).
 * Encoding follows https://protobuf.dev/programming-guides/encoding/ (proto3: zero scalars and empty bytes are
 * left out, as Go's generated code does; set oneof members are always written).
 */

/** Wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** An int64/uint64 field value as handlers produce it (proto-loader accepts the same). */
export type Int64Like = number | string | bigint | { low: number; high: number; unsigned?: boolean } | null | undefined;

const bigCache = new Map<string, bigint>();

/**
 * Normalize an int64/uint64 value: a number when it is a safe integer, else a bigint (two's complement is applied
 * when writing). Decimal strings longer than 15 digits (member and cluster IDs) are parsed once and cached.
 * @throws SyntaxError for a string that is not a decimal integer; TypeError for other shapes.
 */
export function int64(v: Int64Like | boolean): number | bigint {
  if (typeof v === 'number') return Number.isInteger(v) ? v : Math.trunc(v);
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') {
    if (v.length <= 15) {
      const n = +v;
      if (Number.isSafeInteger(n)) return n;
    }
    let b = bigCache.get(v);
    if (b === undefined) {
      b = BigInt(v);
      if (bigCache.size >= 256) bigCache.clear();
      bigCache.set(v, b);
    }
    return b;
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'object' && typeof v.low === 'number' && typeof v.high === 'number') {
    const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned ? u : BigInt.asIntN(64, u);
  }
  throw new TypeError(`protobuf: not an int64 value: ${String(v)}`);
}

/** True when the normalized int64 is zero (the field is left out). */
export const isZero = (v: number | bigint): boolean => v === 0 || v === 0n;

/** Bytes of a varint holding 0 <= n < 2^53. */
export function uvarintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 0x800000000) return 5;
  if (n < 0x40000000000) return 6;
  if (n < 0x2000000000000) return 7;
  return 8;
}

/** Bytes of the varint of a normalized int64 (negative: 10, as 64-bit two's complement). */
export function int64Size(v: number | bigint): number {
  if (typeof v === 'number') return v >= 0 ? uvarintSize(v) : 10;
  const u = BigInt.asUintN(64, v);
  const hi = Number(u >> 32n); // 32-bit halves: two bigint operations instead of one per 7 bits
  if (hi === 0) return uvarintSize(Number(u));
  return Math.ceil((64 - Math.clz32(hi)) / 7); // 32 + the bits of hi, 7 per byte
}

/** Write varint 0 <= n < 2^53 at `p`; returns the next position. */
export function writeUvarint(b: Buffer, p: number, n: number): number {
  while (n > 0x7fffffff) {
    b[p++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  while (n >= 0x80) {
    b[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[p++] = n;
  return p;
}

/** Write a normalized int64 as a varint at `p`; returns the next position. */
export function writeInt64(b: Buffer, p: number, v: number | bigint): number {
  if (typeof v === 'number' && v >= 0) return writeUvarint(b, p, v);
  const u = BigInt.asUintN(64, BigInt(v));
  // 32-bit halves, shifted 7 bits at a time as numbers (no bigint per byte)
  let lo = Number(u & 0xffffffffn);
  let hi = Number(u >> 32n);
  while (hi !== 0 || lo >= 0x80) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[p++] = lo;
  return p;
}

const EMPTY = Buffer.alloc(0);

/** A bytes field value as handlers produce it: Buffer/Uint8Array, base64 string (as protobufjs), or nothing. */
export function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v === null || v === undefined) return EMPTY;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw new TypeError('protobuf: not a bytes value');
}

/** Copy `u` into `b` at `p`; returns the next position. */
export function writeBytes(b: Buffer, p: number, u: Uint8Array): number {
  const n = u.length;
  if (n < 16) {
    for (let i = 0; i < n; i++) b[p + i] = u[i]!;
  } else b.set(u, p);
  return p + n;
}

/** Size of a length-delimited field with a one-byte tag and `n` content bytes. */
export const lenField = (n: number): number => 1 + uvarintSize(n) + n;

/**
 * Two-pass encoding state: the size pass records each nested message's content size in pre-order
 * (`reserve`/`fill`), the write pass takes them back in the same order (`take`).
 */
export class Sizes {
  readonly list: number[] = [];
  at = 0;
  reserve(): number {
    this.list.push(0);
    return this.list.length - 1;
  }
  fill(slot: number, n: number): number {
    this.list[slot] = n;
    return n;
  }
  take(): number {
    return this.list[this.at++]!;
  }
}

/** The error a malformed message gives (grpc-js turns a deserializer throw into INTERNAL). */
export function malformed(what: string): Error {
  return new Error(`protobuf: malformed ${what}`);
}

/** A cursor over one message's bytes (or a nested message's [pos, end)). */
export class Reader {
  pos: number;
  /** Low and high 32 bits of the last varint64 read. */
  lo = 0;
  hi = 0;
  constructor(readonly buf: Buffer, pos = 0, readonly end = buf.length) {
    this.pos = pos;
  }

  private byte(): number {
    if (this.pos >= this.end) throw malformed('message (truncated)');
    return this.buf[this.pos++]!;
  }

  /** A varint's low 32 bits as an unsigned number (protobufjs uint32). */
  uint32(): number {
    let v = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 5) v |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return v >>> 0;
    }
    throw malformed('varint');
  }

  /** A varint as int32 (enums: protobufjs int32). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A 64-bit varint into `lo`/`hi`. */
  varint64(): void {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let s = 0; s < 28; s += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << s;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let s = 3; ; s += 7) {
        if (s > 31) throw malformed('varint');
        b = this.byte();
        if (s < 32) hi |= (b & 0x7f) << s;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An int64 varint as a decimal string (proto-loader `longs: String`; negative values signed). */
  int64String(): string {
    this.varint64();
    const { lo, hi } = this;
    if (hi === 0) return String(lo);
    if (hi < 0x200000) return String(hi * 4294967296 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** A length prefix, checked against the end. */
  len(): number {
    const n = this.uint32();
    if (n > this.end - this.pos) throw malformed('message (length past the end)');
    return n;
  }

  /** A bytes field: a view into the message buffer, as protobufjs returns it. */
  bytes(): Buffer {
    const n = this.len();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skip a field of wire type `wt` (groups included). */
  skip(wt: number): void {
    switch (wt) {
      case VARINT:
        this.varint64();
        return;
      case I64:
        this.advance(8);
        return;
      case LEN: {
        const n = this.len(); // before reading pos: len() advances it
        this.pos += n;
        return;
      }
      case 3:
        for (;;) {
          const t = this.uint32();
          if ((t & 7) === 4) return;
          this.skip(t & 7);
        }
      case I32:
        this.advance(4);
        return;
      default:
        throw malformed(`field (wire type ${wt})`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw malformed('message (truncated)');
    this.pos += n;
  }

  /** Read a packed or unpacked repeated enum into `out`. */
  enums(wt: number, out: number[]): void {
    if (wt === LEN) {
      const n = this.len();
      const end = this.pos + n;
      const sub = new Reader(this.buf, this.pos, end);
      while (sub.pos < end) out.push(sub.int32());
      this.pos = end;
    } else out.push(this.int32());
  }
}

/** A Reader over the next length-delimited field's bytes (its length prefix read from `r`); `r` moves past them. */
export function subReader(r: Reader): Reader {
  const n = r.len();
  const s = new Reader(r.buf, r.pos, r.pos + n);
  r.pos += n;
  return s;
}

/**
 * Reads a message whose fields 1..names.length are the message members of one oneof (etcd's RequestOp,
 * WatchRequest): returns `{ [name]: readers[i](bytes), [unionField]: name }` for the member set last (protobuf's
 * rule: a later member replaces an earlier one), `{}` when none is set. Other fields are skipped. Throws what the
 * Reader throws on truncated input.
 */
export function readOneof(r: Reader, names: readonly string[], readers: ReadonlyArray<(r: Reader) => unknown>, unionField: string): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  let member: string | undefined;
  while (r.pos < r.end) {
    const t = r.uint32();
    const f = t >>> 3;
    if ((t & 7) === LEN && f >= 1 && f <= names.length) {
      if (member !== undefined) delete m[member];
      member = names[f - 1]!;
      m[member] = readers[f - 1]!(subReader(r));
    } else r.skip(t & 7);
  }
  if (member !== undefined) m[unionField] = member;
  return m;
}
