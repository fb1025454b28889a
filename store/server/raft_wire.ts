/**
 * Hand-written protobuf codec for the peer transport's `quorum.raft.MessageBatch` (store/proto/raftpb.proto):
 * Raft messages (store/raft/types.ts) straight to bytes and back, without proto-loader objects, decimal strings
 * or `Long`. The bytes are plain proto3 wire format for the schema in raftpb.proto (field numbers and types
 * below), so a peer running the proto-loader path (older builds) reads what this writes and vice versa:
 * - uint64 member IDs (`from`, `to`, `cluster_id`, snapshot voters/learners) are bigint, full 64 bits;
 * - uint64 terms/indexes/commit/reject_hint are JS numbers (Raft keeps them below 2^53; a larger value on the
 *   wire loses precision exactly as `Number("…")` did in the old path);
 * - fields equal to their proto3 default are not written (the old encoder wrote some of them; both decode the
 *   same); `repeated uint64` is written packed and read packed or unpacked; unknown fields are skipped.
 *
 * Memory: a decoded batch's entry data and contexts are copied into ONE fresh block per batch (not one
 * allocation per entry, and not views of the gRPC receive buffer, which may be a slice of node's shared 8 KiB
 * Buffer pool or carry other messages' bytes and would stay pinned while the entries sit in the Raft log).
 * Snapshot data stays a view of the received message buffer (it is nearly all of that buffer).
 */
import type { Entry, Message, MessageType, Snapshot } from '../raft/types.js';

/** A MessageBatch: who sends to whom in which cluster, and the Raft messages in send order. */
export interface RaftBatch {
  clusterId: bigint;
  from: bigint;
  to: bigint;
  messages: Message[];
}

/** Thrown for bytes that are not a valid MessageBatch (truncated, bad wire type). */
export class RaftWireError extends Error {
  override readonly name = 'RaftWireError';
}

// ---- encoding --------------------------------------------------------------------------------------------

const TWO32 = 2 ** 32;

/** Bytes of the varint of a non-negative integer below 2^53. */
function vsize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let s = 5;
  n = Math.floor(n / 0x800000000);
  while (n > 0) {
    s++;
    n = Math.floor(n / 128);
  }
  return s;
}

/** Writes the varint of a non-negative integer below 2^53 at `p`; returns the position after it. */
function wvar(b: Uint8Array, p: number, n: number): number {
  if (n < TWO32) {
    while (n > 0x7f) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    return p;
  }
  while (n > 0x7f) {
    const low = n % 128;
    b[p++] = low | 0x80;
    n = (n - low) / 128;
  }
  b[p++] = n;
  return p;
}

/** Varint bytes of uint64 IDs (member and cluster IDs repeat in every message): a small cache. */
const idCache = new Map<bigint, Uint8Array>();

function idBytes(id: bigint): Uint8Array {
  let v = idCache.get(id);
  if (v) return v;
  if (id < 0n || id >= 1n << 64n) throw new RangeError(`raft wire: member ID ${id} is not a uint64`);
  const tmp: number[] = [];
  let x = id;
  while (x > 0x7fn) {
    tmp.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  tmp.push(Number(x));
  v = Uint8Array.from(tmp);
  if (idCache.size >= 4096) idCache.clear();
  idCache.set(id, v);
  return v;
}

function entrySize(e: Entry): number {
  let s = 0;
  if (e.term !== 0) s += 1 + vsize(e.term);
  if (e.index !== 0) s += 1 + vsize(e.index);
  if (e.type !== 0) s += 1 + vsize(e.type);
  const d = e.data.length;
  if (d !== 0) s += 1 + vsize(d) + d;
  return s;
}

function packedIdsSize(ids: readonly bigint[]): number {
  let s = 0;
  for (const id of ids) s += idBytes(id).length;
  return s;
}

function metaSize(m: Snapshot['meta']): number {
  let s = 0;
  if (m.index !== 0) s += 1 + vsize(m.index);
  if (m.term !== 0) s += 1 + vsize(m.term);
  if (m.voters.length > 0) {
    const v = packedIdsSize(m.voters);
    s += 1 + vsize(v) + v;
  }
  if (m.learners && m.learners.length > 0) {
    const l = packedIdsSize(m.learners);
    s += 1 + vsize(l) + l;
  }
  return s;
}

function snapshotSize(snap: Snapshot): number {
  const meta = metaSize(snap.meta);
  let s = 1 + vsize(meta) + meta; // meta is always written: the old decoder drops a snapshot without it
  const d = snap.data.length;
  if (d !== 0) s += 1 + vsize(d) + d;
  return s;
}

function messageSize(m: Message): number {
  let s = 0;
  if (m.type !== 0) s += 1 + vsize(m.type);
  if (m.from !== 0n) s += 1 + idBytes(m.from).length;
  if (m.to !== 0n) s += 1 + idBytes(m.to).length;
  if (m.term !== 0) s += 1 + vsize(m.term);
  if (m.logTerm !== 0) s += 1 + vsize(m.logTerm);
  if (m.index !== 0) s += 1 + vsize(m.index);
  for (const e of m.entries) {
    const es = entrySize(e);
    s += 1 + vsize(es) + es;
  }
  if (m.commit !== 0) s += 1 + vsize(m.commit);
  if (m.reject) s += 2;
  if (m.rejectHint !== 0) s += 1 + vsize(m.rejectHint);
  const c = m.context.length;
  if (c !== 0) s += 1 + vsize(c) + c;
  if (m.snapshot) {
    const ss = snapshotSize(m.snapshot);
    s += 1 + vsize(ss) + ss;
  }
  return s;
}

function wid(b: Uint8Array, p: number, tag: number, id: bigint): number {
  if (id === 0n) return p;
  const v = idBytes(id);
  b[p++] = tag;
  b.set(v, p);
  return p + v.length;
}

function wnum(b: Uint8Array, p: number, tag: number, n: number): number {
  if (n === 0) return p;
  b[p++] = tag;
  return wvar(b, p, n);
}

function wbytes(b: Uint8Array, p: number, tag: number, d: Uint8Array): number {
  if (d.length === 0) return p;
  b[p++] = tag;
  p = wvar(b, p, d.length);
  b.set(d, p);
  return p + d.length;
}

function wpackedIds(b: Uint8Array, p: number, tag: number, ids: readonly bigint[] | undefined): number {
  if (!ids || ids.length === 0) return p;
  b[p++] = tag;
  p = wvar(b, p, packedIdsSize(ids));
  for (const id of ids) {
    const v = idBytes(id);
    b.set(v, p);
    p += v.length;
  }
  return p;
}

function writeMessage(b: Uint8Array, p: number, m: Message): number {
  p = wnum(b, p, 0x08, m.type); // type = 1
  p = wid(b, p, 0x10, m.from); // from = 2
  p = wid(b, p, 0x18, m.to); // to = 3
  p = wnum(b, p, 0x20, m.term); // term = 4
  p = wnum(b, p, 0x28, m.logTerm); // log_term = 5
  p = wnum(b, p, 0x30, m.index); // index = 6
  for (const e of m.entries) {
    b[p++] = 0x3a; // entries = 7
    p = wvar(b, p, entrySize(e));
    p = wnum(b, p, 0x08, e.term);
    p = wnum(b, p, 0x10, e.index);
    p = wnum(b, p, 0x18, e.type);
    p = wbytes(b, p, 0x22, e.data);
  }
  p = wnum(b, p, 0x40, m.commit); // commit = 8
  if (m.reject) {
    b[p++] = 0x48; // reject = 9
    b[p++] = 1;
  }
  p = wnum(b, p, 0x50, m.rejectHint); // reject_hint = 10
  p = wbytes(b, p, 0x5a, m.context); // context = 11
  const snap = m.snapshot;
  if (snap) {
    b[p++] = 0x62; // snapshot = 12
    p = wvar(b, p, snapshotSize(snap));
    b[p++] = 0x0a; // Snapshot.meta = 1
    p = wvar(b, p, metaSize(snap.meta));
    p = wnum(b, p, 0x08, snap.meta.index);
    p = wnum(b, p, 0x10, snap.meta.term);
    p = wpackedIds(b, p, 0x1a, snap.meta.voters);
    p = wpackedIds(b, p, 0x22, snap.meta.learners);
    p = wbytes(b, p, 0x12, snap.data); // Snapshot.data = 2
  }
  return p;
}

const sizes: number[] = [];

/**
 * Encodes a MessageBatch (raftpb.proto field numbers) into one Buffer of exactly the encoded size.
 * Throws RangeError for an ID outside uint64.
 */
export function encodeBatch(clusterId: bigint, from: bigint, to: bigint, messages: readonly Message[]): Buffer {
  let total = 0;
  if (clusterId !== 0n) total += 1 + idBytes(clusterId).length;
  if (from !== 0n) total += 1 + idBytes(from).length;
  if (to !== 0n) total += 1 + idBytes(to).length;
  sizes.length = messages.length;
  for (let i = 0; i < messages.length; i++) {
    const s = messageSize(messages[i]);
    sizes[i] = s;
    total += 1 + vsize(s) + s;
  }
  const b = Buffer.allocUnsafe(total);
  let p = wid(b, 0, 0x08, clusterId);
  p = wid(b, p, 0x10, from);
  p = wid(b, p, 0x18, to);
  for (let i = 0; i < messages.length; i++) {
    b[p++] = 0x22; // messages = 4
    p = wvar(b, p, sizes[i]);
    p = writeMessage(b, p, messages[i]);
  }
  if (p !== total) throw new Error(`raft wire: encoded ${p} bytes, sized ${total} (encoder bug)`);
  return b;
}

// ---- decoding --------------------------------------------------------------------------------------------

/** A cursor over one protobuf buffer. */
class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  fail(what: string): never {
    throw new RaftWireError(`raft wire: malformed MessageBatch (${what} at byte ${this.pos} of ${this.buf.length})`);
  }

  /** A varint as a number (exact below 2^53). */
  num(): number {
    const b = this.buf;
    let x = b[this.pos++];
    if (x < 0x80) return x;
    let v = x & 0x7f;
    x = b[this.pos++];
    v |= (x & 0x7f) << 7;
    if (x < 0x80) return v;
    x = b[this.pos++];
    v |= (x & 0x7f) << 14;
    if (x < 0x80) return v;
    x = b[this.pos++];
    v |= (x & 0x7f) << 21;
    if (x < 0x80) return v;
    let mul = 0x10000000;
    for (let i = 4; i < 10; i++) {
      x = b[this.pos++];
      if (x === undefined) break;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
    return this.fail('varint');
  }

  /** A uint64 varint as bigint (all 64 bits). */
  id(): bigint {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let x = 0;
    for (let i = 0; i < 4; i++) {
      x = b[this.pos++];
      lo |= (x & 0x7f) << (7 * i);
      if (x < 0x80) return idOf(lo >>> 0, 0);
    }
    x = b[this.pos++];
    lo |= (x & 0x0f) << 28;
    hi = (x & 0x7f) >> 4;
    if (x < 0x80) return idOf(lo >>> 0, hi);
    for (let i = 0; i < 5; i++) {
      x = b[this.pos++];
      if (x === undefined) break;
      hi |= (x & 0x7f) << (7 * i + 3);
      if (x < 0x80) return idOf(lo >>> 0, hi >>> 0);
    }
    return this.fail('varint');
  }

  /** The end position of a length-delimited field starting here (checked against `end`). */
  len(end: number): number {
    const n = this.num();
    const e = this.pos + n;
    if (e > end) this.fail('length beyond the end');
    return e;
  }

  skip(wire: number, end: number): void {
    if (wire === 0) this.num();
    else if (wire === 2) this.pos = this.len(end);
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else this.fail(`wire type ${wire}`);
    if (this.pos > end) this.fail('field beyond the end');
  }
}

/** Recently decoded IDs (the same few member IDs arrive in every message). */
const recentLo = new Int32Array(8);
const recentHi = new Int32Array(8);
const recentId: bigint[] = new Array<bigint>(8).fill(0n);
let recentNext = 0;

function idOf(lo: number, hi: number): bigint {
  if ((lo | hi) === 0) return 0n; // the empty cache slots hold (0, 0): never looked up
  for (let i = 0; i < 8; i++) if (recentLo[i] === (lo | 0) && recentHi[i] === (hi | 0)) return recentId[i];
  const v = hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  const k = recentNext;
  recentNext = (recentNext + 1) & 7;
  recentLo[k] = lo | 0;
  recentHi[k] = hi | 0;
  recentId[k] = v;
  return v;
}

/** Bytes to copy into the batch's block once decoding is done: [owner, start, end] triples. */
interface Pending {
  owners: Array<Entry | Message>;
  starts: number[];
  ends: number[];
  total: number;
}

/** Notes input bytes [start, end) as `owner`'s data (an entry's data, a message's context); nothing when empty. */
function deferCopy(pending: Pending, owner: Entry | Message, start: number, end: number): void {
  if (end <= start) return;
  pending.owners.push(owner);
  pending.starts.push(start);
  pending.ends.push(end);
  pending.total += end - start;
}

function readIds(r: Reader, wire: number, end: number, into: bigint[]): void {
  if (wire === 2) {
    const e = r.len(end);
    while (r.pos < e) into.push(r.id());
    if (r.pos !== e) r.fail('packed uint64');
  } else if (wire === 0) into.push(r.id());
  else r.fail(`wire type ${wire} for repeated uint64`);
}

function readSnapshot(r: Reader, end: number): Snapshot | undefined {
  let meta: Snapshot['meta'] | undefined;
  let data: Uint8Array = new Uint8Array(0);
  while (r.pos < end) {
    const tag = r.num();
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f === 1 && wire === 2) {
      const me = r.len(end);
      const m: Snapshot['meta'] = { index: 0, term: 0, voters: [] };
      const learners: bigint[] = [];
      while (r.pos < me) {
        const t = r.num();
        const mf = t >>> 3;
        const mw = t & 7;
        if (mf === 1 && mw === 0) m.index = r.num();
        else if (mf === 2 && mw === 0) m.term = r.num();
        else if (mf === 3) readIds(r, mw, me, m.voters);
        else if (mf === 4) readIds(r, mw, me, learners);
        else r.skip(mw, me);
      }
      if (r.pos !== me) r.fail('snapshot meta');
      if (learners.length > 0) m.learners = learners;
      meta = m;
    } else if (f === 2 && wire === 2) {
      const de = r.len(end);
      data = r.buf.subarray(r.pos, de);
      r.pos = de;
    } else r.skip(wire, end);
  }
  return meta ? { meta, data } : undefined;
}

const EMPTY = new Uint8Array(0);

function readEntry(r: Reader, end: number, pending: Pending): Entry {
  const e: Entry = { term: 0, index: 0, type: 0, data: EMPTY };
  while (r.pos < end) {
    const tag = r.num();
    if (tag === 0x08) e.term = r.num();
    else if (tag === 0x10) e.index = r.num();
    else if (tag === 0x18) e.type = r.num();
    else if (tag === 0x22) {
      const de = r.len(end);
      deferCopy(pending, e, r.pos, de);
      r.pos = de;
    } else r.skip(tag & 7, end);
  }
  return e;
}

function readMessage(r: Reader, end: number, pending: Pending): Message {
  const m: Message = {
    type: 0 as MessageType, from: 0n, to: 0n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, context: EMPTY,
  };
  while (r.pos < end) {
    const tag = r.num();
    switch (tag) {
      case 0x08: m.type = r.num() as MessageType; break;
      case 0x10: m.from = r.id(); break;
      case 0x18: m.to = r.id(); break;
      case 0x20: m.term = r.num(); break;
      case 0x28: m.logTerm = r.num(); break;
      case 0x30: m.index = r.num(); break;
      case 0x3a: {
        const ee = r.len(end);
        m.entries.push(readEntry(r, ee, pending));
        if (r.pos !== ee) r.fail('entry');
        break;
      }
      case 0x40: m.commit = r.num(); break;
      case 0x48: m.reject = r.num() !== 0; break;
      case 0x50: m.rejectHint = r.num(); break;
      case 0x5a: {
        const ce = r.len(end);
        deferCopy(pending, m, r.pos, ce);
        r.pos = ce;
        break;
      }
      case 0x62: {
        const se = r.len(end);
        const s = readSnapshot(r, se);
        if (r.pos !== se) r.fail('snapshot');
        if (s) m.snapshot = s;
        break;
      }
      default:
        r.skip(tag & 7, end);
    }
  }
  return m;
}

/**
 * Decodes a MessageBatch. Entry data and contexts are copied into one new block per batch (see the module
 * comment); snapshot data is a view of `buf`. Throws RaftWireError for malformed bytes.
 */
export function decodeBatch(buf: Uint8Array): RaftBatch {
  const r = new Reader(buf);
  const end = buf.length;
  const out: RaftBatch = { clusterId: 0n, from: 0n, to: 0n, messages: [] };
  const pending: Pending = { owners: [], starts: [], ends: [], total: 0 };
  while (r.pos < end) {
    const tag = r.num();
    if (tag === 0x08) out.clusterId = r.id();
    else if (tag === 0x10) out.from = r.id();
    else if (tag === 0x18) out.to = r.id();
    else if (tag === 0x22) {
      const me = r.len(end);
      out.messages.push(readMessage(r, me, pending));
      if (r.pos !== me) r.fail('message');
    } else r.skip(tag & 7, end);
  }
  if (r.pos !== end) r.fail('field beyond the end');
  if (pending.total > 0) {
    const block = new Uint8Array(pending.total);
    let p = 0;
    for (let i = 0; i < pending.owners.length; i++) {
      const s = pending.starts[i];
      const e = pending.ends[i];
      block.set(buf.subarray(s, e), p);
      const view = block.subarray(p, p + (e - s));
      const o = pending.owners[i];
      if ('entries' in o) o.context = view;
      else o.data = view;
      p += e - s;
    }
  }
  return out;
}

// ---- SendResponse ----------------------------------------------------------------------------------------

/** An empty SendResponse: acknowledges one batch (what every build understands). */
export const EMPTY_RESPONSE = Buffer.alloc(0);

/**
 * Encodes a SendResponse acknowledging `batches` batches (field 1, `uint64 batches`; raftpb.proto still declares
 * SendResponse empty, so proto-loader readers skip it as an unknown field). Empty for 1: a peer that predates
 * the field reads exactly what it always got. Only sent to senders that announce CUMULATIVE_ACKS_KEY.
 */
export function encodeAck(batches: number): Buffer {
  if (batches <= 1) return EMPTY_RESPONSE;
  const b = Buffer.allocUnsafe(1 + vsize(batches));
  b[0] = 0x08;
  wvar(b, 1, batches);
  return b;
}

/** Decodes a SendResponse: how many batches it acknowledges (1 when the field is absent or 0). */
export function decodeAck(buf: Uint8Array): number {
  const r = new Reader(buf);
  let n = 0;
  while (r.pos < buf.length) {
    const tag = r.num();
    if (tag === 0x08) n = r.num();
    else r.skip(tag & 7, buf.length);
  }
  return n > 0 ? n : 1;
}
