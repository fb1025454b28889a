/**
 * Hand-encoded protobuf for the few etcd v3 messages the benchmark sends (PutRequest, RangeRequest,
 * TxnRequest, WatchRequest, StatusRequest) and a minimal field scanner for the replies it reads
 * (TxnResponse.succeeded, StatusResponse sizes/IDs, WatchResponse events). Field numbers: etcd's rpc.proto
 * and kv.proto (api v3, etcdserverpb / mvccpb). No schema loading, no object graphs: the load generator must
 * cost the client far less CPU than the server it measures.
 */

/** Protobuf wire types. */
const VARINT = 0;
const LEN = 2;

/** Bytes of a varint for a non-negative integer below 2^53. */
function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

/** A growable writer of protobuf fields. */
class Writer {
  private parts: Buffer[] = [];
  private scratch: number[] = [];
  private flushScratch(): void {
    if (this.scratch.length) {
      this.parts.push(Buffer.from(this.scratch));
      this.scratch = [];
    }
  }
  varint(n: number): this {
    while (n >= 128) {
      this.scratch.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    this.scratch.push(n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  /** A varint field (skipped when 0, as proto3 does). */
  uint(field: number, n: number): this {
    return n === 0 ? this : this.tag(field, VARINT).varint(n);
  }
  /** A length-delimited field (skipped when empty). */
  bytes(field: number, b: Uint8Array): this {
    if (b.length === 0) return this;
    this.tag(field, LEN).varint(b.length);
    this.flushScratch();
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return this;
  }
  /** A nested message field (written even when empty, so a oneof is set). */
  message(field: number, m: Buffer): this {
    this.tag(field, LEN).varint(m.length);
    this.flushScratch();
    this.parts.push(m);
    return this;
  }
  finish(): Buffer {
    this.flushScratch();
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
  }
}

/** etcdserverpb.PutRequest{key=1, value=2}. */
export function putRequest(key: Uint8Array, value: Uint8Array): Buffer {
  // the hot path: one allocation, no Writer
  const kl = key.length;
  const vl = value.length;
  const size = 1 + varintSize(kl) + kl + 1 + varintSize(vl) + vl;
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  b[o++] = 0x0a;
  o = writeVarint(b, o, kl);
  b.set(key, o);
  o += kl;
  b[o++] = 0x12;
  o = writeVarint(b, o, vl);
  b.set(value, o);
  return b;
}

function writeVarint(b: Buffer, o: number, n: number): number {
  while (n >= 128) {
    b[o++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}

/** etcdserverpb.RangeRequest{key=1, range_end=2, limit=3, serializable=7, keys_only=8}. */
export function rangeRequest(key: Uint8Array, opts: { rangeEnd?: Uint8Array; limit?: number; serializable?: boolean; keysOnly?: boolean } = {}): Buffer {
  const w = new Writer().bytes(1, key);
  if (opts.rangeEnd) w.bytes(2, opts.rangeEnd);
  w.uint(3, opts.limit ?? 0).uint(7, opts.serializable ? 1 : 0).uint(8, opts.keysOnly ? 1 : 0);
  return w.finish();
}

/**
 * A compare-and-set etcdserverpb.TxnRequest: compare (1) {result=EQUAL (0), target=VALUE (3), key=3, value=7},
 * success (2) RequestOp{request_put=2 {key, value}}.
 */
export function casTxnRequest(key: Uint8Array, expected: Uint8Array, next: Uint8Array): Buffer {
  const compare = new Writer().uint(2, 3).bytes(3, key).bytes(7, expected).finish();
  const op = new Writer().message(2, putRequest(key, next)).finish();
  return new Writer().message(1, compare).message(2, op).finish();
}

/** etcdserverpb.WatchRequest{create_request=1 {key=1, range_end=2, start_revision=3}}. */
export function watchCreateRequest(key: Uint8Array, rangeEnd?: Uint8Array, startRevision = 0): Buffer {
  const c = new Writer().bytes(1, key);
  if (rangeEnd) c.bytes(2, rangeEnd);
  c.uint(3, startRevision);
  return new Writer().message(1, c.finish()).finish();
}

/** The 5-byte gRPC length prefix (uncompressed) followed by `msg`. */
export function grpcFrame(msg: Buffer): Buffer {
  const f = Buffer.allocUnsafe(5 + msg.length);
  f[0] = 0;
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

/** One scanned field: number, wire type, its varint value (or length), and its encoded value's [start, end) in the buffer. */
export interface Field { field: number; wire: number; value: number; start: number; end: number }

/** Read a varint at `o`; returns [value, next offset]. Values above 2^53 lose precision (not read here). */
function readVarint(b: Uint8Array, o: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[o++];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, o];
    mul *= 128;
  }
}

/** Call `fn` for each top-level field of the message in b[start, end). Skips fixed32/fixed64 fields. */
export function scanFields(b: Uint8Array, start: number, end: number, fn: (f: Field) => void): void {
  let o = start;
  while (o < end) {
    let key: number;
    [key, o] = readVarint(b, o);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === VARINT) {
      const vstart = o;
      let v: number;
      [v, o] = readVarint(b, o);
      fn({ field, wire, value: v, start: vstart, end: o });
    } else if (wire === LEN) {
      let len: number;
      [len, o] = readVarint(b, o);
      fn({ field, wire, value: len, start: o, end: o + len });
      o += len;
    } else if (wire === 1) o += 8;
    else if (wire === 5) o += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** TxnResponse.succeeded (field 2). */
export function txnSucceeded(b: Uint8Array): boolean {
  let ok = false;
  scanFields(b, 0, b.length, (f) => { if (f.field === 2) ok = f.value === 1; });
  return ok;
}

/** StatusResponse: dbSize (3), leader (4), dbSizeInUse (9), header.member_id (1.2). IDs as bigint. */
export function statusFields(b: Uint8Array): { dbSize: number; dbSizeInUse: number; leader: bigint; memberId: bigint } {
  const r = { dbSize: 0, dbSizeInUse: 0, leader: 0n, memberId: 0n };
  const u64 = (s: number): bigint => {
    let v = 0n;
    let shift = 0n;
    for (let o = s; ; o++) {
      v |= BigInt(b[o] & 0x7f) << shift;
      if (b[o] < 0x80) return v;
      shift += 7n;
    }
  };
  scanFields(b, 0, b.length, (f) => {
    if (f.field === 3) r.dbSize = f.value;
    else if (f.field === 9) r.dbSizeInUse = f.value;
    else if (f.field === 4) r.leader = u64(f.start);
    else if (f.field === 1) scanFields(b, f.start, f.end, (h) => { if (h.field === 2) r.memberId = u64(h.start); });
  });
  return r;
}

/** What the benchmark needs from one WatchResponse: created, canceled, and each event's key. */
export interface WatchReply { created: boolean; canceled: boolean; keys: Buffer[] }

/** Decode WatchResponse{created=3, canceled=4, events=11 {kv=2 {key=1}}}; keys are views into `b`. */
export function watchReply(b: Buffer): WatchReply {
  const r: WatchReply = { created: false, canceled: false, keys: [] };
  scanFields(b, 0, b.length, (f) => {
    if (f.field === 3) r.created = f.value === 1;
    else if (f.field === 4) r.canceled = f.value === 1;
    else if (f.field === 11) {
      scanFields(b, f.start, f.end, (e) => {
        if (e.field !== 2) return;
        scanFields(b, e.start, e.end, (kv) => { if (kv.field === 1) r.keys.push(b.subarray(kv.start, kv.end)); });
      });
    }
  });
  return r;
}
