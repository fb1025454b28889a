/**
 * Entry encoding v2: a compact binary layout for the hot client requests inside Raft entries (put, delete, txn),
 * instead of v1's JSON with base64 bytes (request.ts). A 256-byte value is stored as its 256 raw bytes, not as 344
 * base64 characters inside a JSON string, and decoding is a few varint reads and two copies.
 *
 * Layout (all lengths and numbers are unsigned LEB128 varints, as protobuf's):
 *
 *   0x82 magic | op u8 (1 put, 2 delete, 3 txn) | flags u8 | id | op fields
 *   flags: bit 0 prevKv (put/delete only), bit 1 compact id; other bits must be 0
 *   id:    compact id: 6 raw bytes (12 lowercase hex digits) + varint counter  = "<12 hex>-<counter>"
 *          otherwise:  varint length + UTF-8 bytes
 *   put:    varint keyLen, key, varint valueLen, value, varint lease (int64 as its uint64 two's complement)
 *   delete: varint keyLen, key, varint rangeEndLen, rangeEnd
 *   txn:    a txn body (entry_codec_txn.ts: compares, success and failure ops, nested txns), decoding to the
 *           same TxnSpec as v1's specFromJson(specToJson(spec)); a spec v2 cannot represent exactly (a number that
 *           is not a safe integer, an int64 out of range, nesting deeper than 64) is written as v1 instead.
 *
 * Encoding version history (ENTRY_VERSION in entry_codec_gate.ts): 2 = put, delete and txn. (During development
 * a build with put/delete only also advertised 2; it was never released, so the version was not bumped.)
 *
 * The magic 0x82 is a UTF-8 continuation byte: no JSON text (v1 entries always start with '{') can begin with it,
 * so `decodeRequest` tells the two apart by the first byte. Which encoding a proposer may use is decided by the
 * cluster-wide gate in entry_codec_gate.ts: a member that cannot decode v2 must never be sent one.
 */
import type { DeleteOp, PutOp, Request, TxnOp } from './request.js';
import { decodeTxnBody, encodeTxnBody, TxnNotRepresentable } from './entry_codec_txn.js';

/** The first byte of every v2 entry. */
export const ENTRY_V2_MAGIC = 0x82;
const OP_PUT = 1;
const OP_DELETE = 2;
const OP_TXN = 3;
const FLAG_PREV_KV = 1;
const FLAG_COMPACT_ID = 2;

/** Hex digit value of a char code ('0'-'9', 'a'-'f'), -1 otherwise. */
const hexVal = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1);

/**
 * The counter of a proposer's id "<12 lowercase hex>-<counter>" (node.ts: random prefix, counter from 1), with the
 * prefix's 6 bytes written to `prefix`; -1 when `id` has another shape (it is then stored as a string).
 */
function compactId(id: string, prefix: Uint8Array): number {
  if (id.length < 14 || id.length > 28 || id.charCodeAt(12) !== 45 /* - */) return -1;
  for (let i = 0; i < 6; i++) {
    const hi = hexVal(id.charCodeAt(2 * i));
    const lo = hexVal(id.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return -1;
    prefix[i] = hi * 16 + lo;
  }
  if (id.charCodeAt(13) === 48 /* no leading zero */) return -1;
  let n = 0;
  for (let i = 13; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

const prefixScratch = new Uint8Array(6);
/** The last decoded id prefix (one proposer writes runs of entries with the same prefix). */
let lastPrefix = { bytes: new Uint8Array(6), hex: '' };

/** A v2 entry that cannot be decoded (truncated, unknown op or flags, trailing bytes). */
export class EntryCodecError extends Error {
  override readonly name = 'EntryCodecError';
}

/** True when `data` is a v2 entry (by its first byte). */
export function isEntryV2(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === ENTRY_V2_MAGIC;
}

/** True when `req` has a v2 layout (put, delete, txn); other ops stay JSON v1. */
export function hasV2Layout(req: Request): boolean {
  return req.body.op === 'put' || req.body.op === 'delete' || req.body.op === 'txn';
}

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8);

export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}

export function bigVarint(n: bigint): number[] {
  const bytes: number[] = [];
  let u = BigInt.asUintN(64, n);
  while (u >= 0x80n) {
    bytes.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  bytes.push(Number(u));
  return bytes;
}

/**
 * Encodes a put, delete or txn request as a v2 entry; undefined for a txn whose spec v2 cannot represent exactly
 * (the caller writes v1 then: request.ts).
 * @throws EntryCodecError for any other op (check `hasV2Layout` first).
 */
export function tryEncodeEntryV2(req: Request): Uint8Array | undefined {
  if (req.body.op !== 'txn') return encodeEntryV2(req);
  try {
    return encodeTxnEntry(req.id, req.body);
  } catch (e) {
    if (e instanceof TxnNotRepresentable) return undefined;
    throw e;
  }
}

/** Header + id of a txn entry, then the txn body. @throws TxnNotRepresentable (see tryEncodeEntryV2). */
function encodeTxnEntry(id: string, b: TxnOp): Uint8Array {
  const counter = compactId(id, prefixScratch);
  const m = counter >= 0;
  const idBytes = m ? undefined : Buffer.from(id, 'utf8');
  const head = new Uint8Array(3 + (m ? 6 + varintSize(counter) : varintSize(idBytes!.length) + idBytes!.length));
  head[0] = ENTRY_V2_MAGIC;
  head[1] = OP_TXN;
  head[2] = m ? FLAG_COMPACT_ID : 0;
  if (m) {
    head.set(prefixScratch, 3);
    writeVarint(head, 9, counter);
  } else {
    const p = writeVarint(head, 3, idBytes!.length);
    head.set(idBytes!, p);
  }
  return encodeTxnBody(head, b.txn);
}

/**
 * Encodes a put or delete request as a v2 entry (a txn: `tryEncodeEntryV2`).
 * @throws EntryCodecError for any other op (check `hasV2Layout` first); for a txn whose spec v2 cannot represent.
 */
export function encodeEntryV2(req: Request): Uint8Array {
  const b = req.body;
  if (b.op === 'txn') {
    const out = tryEncodeEntryV2(req);
    if (!out) throw new EntryCodecError('entry v2: this txn has a field v2 cannot represent exactly (write it as v1)');
    return out;
  }
  if (b.op !== 'put' && b.op !== 'delete') throw new EntryCodecError(`entry v2: op ${b.op} has no v2 layout`);
  const counter = compactId(req.id, prefixScratch);
  const m = counter >= 0;
  const idBytes = m ? undefined : Buffer.from(req.id, 'utf8');
  const idSize = m ? 6 + varintSize(counter) : varintSize(idBytes!.length) + idBytes!.length;
  const second = b.op === 'put' ? b.value : b.rangeEnd;
  const lease = b.op === 'put' ? (b.lease === 0n ? [0] : bigVarint(b.lease)) : [];
  const size = 3 + idSize + varintSize(b.key.length) + b.key.length + varintSize(second.length) + second.length + lease.length;
  const out = new Uint8Array(size);
  out[0] = ENTRY_V2_MAGIC;
  out[1] = b.op === 'put' ? OP_PUT : OP_DELETE;
  out[2] = (b.prevKv ? FLAG_PREV_KV : 0) | (m ? FLAG_COMPACT_ID : 0);
  let p = 3;
  if (m) {
    out.set(prefixScratch, p);
    p = writeVarint(out, p + 6, counter);
  } else {
    p = writeVarint(out, p, idBytes!.length);
    out.set(idBytes!, p);
    p += idBytes!.length;
  }
  p = writeVarint(out, p, b.key.length);
  out.set(b.key, p);
  p = writeVarint(out, p + b.key.length, second.length);
  out.set(second, p);
  p += second.length;
  for (const x of lease) out[p++] = x;
  return out;
}

/** A bounds-checked reader over one entry. */
export class Reader {
  pos = 3;
  constructor(private readonly d: Uint8Array) {}

  fail(what: string): never {
    throw new EntryCodecError(`entry v2: ${what} (${this.d.length} bytes, at byte ${this.pos})`);
  }

  varint(what: string): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.d.length) this.fail(`truncated ${what}`);
      const x = this.d[this.pos++]!;
      n += (x & 0x7f) * mul;
      if (x < 0x80) return n;
      mul *= 0x80;
    }
    return this.fail(`${what} is longer than 8 varint bytes`);
  }

  bigVarint(what: string): bigint {
    let n = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.d.length) this.fail(`truncated ${what}`);
      const x = this.d[this.pos++]!;
      n |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return BigInt.asIntN(64, BigInt.asUintN(64, n));
    }
    return this.fail(`${what} is longer than 10 varint bytes`);
  }

  /** One byte. */
  u8(what: string): number {
    if (this.pos >= this.d.length) this.fail(`truncated ${what}`);
    return this.d[this.pos++]!;
  }

  /** A length-prefixed byte string, copied into its own small buffer (never a view into the entry). */
  bytes(what: string): Uint8Array {
    const len = this.varint(`${what} length`);
    if (this.pos + len > this.d.length) this.fail(`truncated ${what}: ${len} bytes announced`);
    const out = this.d.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  id(compact: boolean): string {
    if (!compact) return Buffer.from(this.bytes('id')).toString('utf8');
    if (this.pos + 6 > this.d.length) this.fail('truncated id');
    const d = this.d;
    const p = this.pos;
    const last = lastPrefix.bytes;
    if (lastPrefix.hex === '' || d[p] !== last[0] || d[p + 1] !== last[1] || d[p + 2] !== last[2] || d[p + 3] !== last[3] || d[p + 4] !== last[4] || d[p + 5] !== last[5]) {
      const bytes = d.slice(p, p + 6);
      lastPrefix = { bytes, hex: Buffer.from(bytes.buffer, 0, 6).toString('hex') };
    }
    this.pos += 6;
    return `${lastPrefix.hex}-${this.varint('id counter')}`;
  }
}

/**
 * Decodes a v2 entry into the same Request `decodeRequest` returns for its v1 form; keys and values are fresh
 * copies (the MVCC keeps them; `data` may be a view into a larger received or read buffer).
 * @throws EntryCodecError on a bad magic, an unknown op or flag bits, truncation or trailing bytes.
 */
export function decodeEntryV2(data: Uint8Array): Request {
  const r = new Reader(data);
  if (data.length < 3 || data[0] !== ENTRY_V2_MAGIC) {
    r.pos = 0;
    r.fail(data.length < 3 ? 'truncated header' : `bad magic 0x${data[0]!.toString(16)}`);
  }
  const op = data[1]!;
  const flags = data[2]!;
  if ((flags & ~(op === OP_TXN ? FLAG_COMPACT_ID : FLAG_PREV_KV | FLAG_COMPACT_ID)) !== 0) r.fail(`unknown flag bits 0x${flags.toString(16)}`);
  const id = r.id((flags & FLAG_COMPACT_ID) !== 0);
  const prevKv = (flags & FLAG_PREV_KV) !== 0;
  let body: PutOp | DeleteOp | TxnOp;
  if (op === OP_TXN) body = { op: 'txn', txn: decodeTxnBody(r) };
  else if (op === OP_PUT) {
    const key = r.bytes('key');
    const value = r.bytes('value');
    body = { op: 'put', key, value, lease: r.bigVarint('lease'), prevKv };
  } else if (op === OP_DELETE) {
    const key = r.bytes('key');
    body = { op: 'delete', key, rangeEnd: r.bytes('range end'), prevKv };
  } else return r.fail(`unknown op ${op}`);
  if (r.pos !== data.length) r.fail(`${data.length - r.pos} trailing bytes`);
  return { id, body };
}
