/**
 * Hand-written protobuf codecs for the KV service's hot messages, installed in place of proto-loader's
 * `requestDeserialize`/`responseSerialize` (grpc_server.ts). Field numbers: etcd api v3 rpc.proto (etcdserverpb)
 * and kv.proto (mvccpb). They take and give the SAME object shapes as proto-loader with store/proto/load.ts'
 * options (keepCase, int64 as decimal strings, enums as numbers, bytes as Buffer, defaults filled, oneof name
 * fields), so handlers, the auth and learner guards, the metrics interceptor and the JSON gateway (which pairs
 * them with proto-loader's requestSerialize/responseDeserialize) see no difference; int64 fields of responses
 * may also be numbers or bigints. What changes is the cost: no Long objects, no intermediate message objects.
 * Encoded responses leave zero scalars and empty bytes out (as etcd's Go code does).
 */
import type * as grpc from '@grpc/grpc-js';
import {
  bytesOf, int64, int64Size, isZero, lenField, LEN, readOneof, Reader, Sizes, subReader, uvarintSize, writeBytes, writeInt64, writeUvarint, type Int64Like,
} from './proto_codec.js';

type W = Record<string, any>;

const EMPTY = Buffer.alloc(0);

// ---- encoding helpers (one-byte tags: every field number here is below 16) ----------------------------------

/** Size of an int64 varint field (0 when zero). */
export function intField(v: Int64Like): number {
  const n = int64(v);
  return isZero(n) ? 0 : 1 + int64Size(n);
}
/** Write an int64 varint field unless zero. */
export function putInt(b: Buffer, p: number, tag: number, v: Int64Like): number {
  const n = int64(v);
  if (isZero(n)) return p;
  b[p++] = tag;
  return writeInt64(b, p, n);
}
/** Size of a bytes field (0 when empty). */
export function bytesField(v: unknown): number {
  const n = bytesOf(v).length;
  return n === 0 ? 0 : lenField(n);
}
/** Write a bytes field unless empty. */
export function putBytes(b: Buffer, p: number, tag: number, v: unknown): number {
  const u = bytesOf(v);
  if (u.length === 0) return p;
  b[p++] = tag;
  p = writeUvarint(b, p, u.length);
  return writeBytes(b, p, u);
}
/** Size of a bool field. */
export const boolField = (v: unknown): number => (v ? 2 : 0);
/** Write a bool field when true. */
export function putBool(b: Buffer, p: number, tag: number, v: unknown): number {
  if (!v) return p;
  b[p++] = tag;
  b[p++] = 1;
  return p;
}

/** A message encoder: content size (recording nested sizes) and writer (taking them back in order). */
export interface MsgCodec<T = W> {
  size(s: Sizes, m: T): number;
  write(s: Sizes, b: Buffer, p: number, m: T): number;
}

/** Size of a nested message field (tag + length + content). */
export function msgField<T>(s: Sizes, c: MsgCodec<T>, m: T): number {
  const slot = s.reserve();
  return lenField(s.fill(slot, c.size(s, m)));
}
/** Write a nested message field sized by msgField. */
export function putMsg<T>(s: Sizes, b: Buffer, p: number, tag: number, c: MsgCodec<T>, m: T): number {
  b[p++] = tag;
  p = writeUvarint(b, p, s.take());
  return c.write(s, b, p, m);
}

/** The top-level serializer of a message codec. */
export function serializer<T>(c: MsgCodec<T>): (m: T) => Buffer {
  return (m: T) => {
    const s = new Sizes();
    const n = c.size(s, m ?? ({} as T));
    const b = Buffer.allocUnsafe(n);
    const end = c.write(s, b, 0, m ?? ({} as T));
    if (end !== n) throw new Error(`internal: protobuf size mismatch (${end} != ${n})`);
    return b;
  };
}

// ---- responses ------------------------------------------------------------------------------------------

/** etcdserverpb.ResponseHeader. */
export const Header: MsgCodec = {
  size: (_s, h) => intField(h.cluster_id) + intField(h.member_id) + intField(h.revision) + intField(h.raft_term),
  write(_s, b, p, h) {
    p = putInt(b, p, 0x08, h.cluster_id);
    p = putInt(b, p, 0x10, h.member_id);
    p = putInt(b, p, 0x18, h.revision);
    return putInt(b, p, 0x20, h.raft_term);
  },
};

/** mvccpb.KeyValue. */
export const KeyValue: MsgCodec = {
  size: (_s, kv) => bytesField(kv.key) + intField(kv.create_revision) + intField(kv.mod_revision) + intField(kv.version) +
    bytesField(kv.value) + intField(kv.lease),
  write(_s, b, p, kv) {
    p = putBytes(b, p, 0x0a, kv.key);
    p = putInt(b, p, 0x10, kv.create_revision);
    p = putInt(b, p, 0x18, kv.mod_revision);
    p = putInt(b, p, 0x20, kv.version);
    p = putBytes(b, p, 0x2a, kv.value);
    return putInt(b, p, 0x30, kv.lease);
  },
};

function repeatedSize(s: Sizes, c: MsgCodec, list: W[] | null | undefined): number {
  let n = 0;
  if (list) for (const m of list) n += msgField(s, c, m ?? {});
  return n;
}
function putRepeated(s: Sizes, b: Buffer, p: number, tag: number, c: MsgCodec, list: W[] | null | undefined): number {
  if (list) for (const m of list) p = putMsg(s, b, p, tag, c, m ?? {});
  return p;
}
const optMsgSize = (s: Sizes, c: MsgCodec, m: W | null | undefined) => (m == null ? 0 : msgField(s, c, m));
const putOptMsg = (s: Sizes, b: Buffer, p: number, tag: number, c: MsgCodec, m: W | null | undefined) =>
  m == null ? p : putMsg(s, b, p, tag, c, m);

/** etcdserverpb.RangeResponse. */
export const RangeResponse: MsgCodec = {
  size: (s, m) => optMsgSize(s, Header, m.header) + repeatedSize(s, KeyValue, m.kvs) + boolField(m.more) + intField(m.count),
  write(s, b, p, m) {
    p = putOptMsg(s, b, p, 0x0a, Header, m.header);
    p = putRepeated(s, b, p, 0x12, KeyValue, m.kvs);
    p = putBool(b, p, 0x18, m.more);
    return putInt(b, p, 0x20, m.count);
  },
};

/** etcdserverpb.PutResponse. */
export const PutResponse: MsgCodec = {
  size: (s, m) => optMsgSize(s, Header, m.header) + optMsgSize(s, KeyValue, m.prev_kv),
  write(s, b, p, m) {
    p = putOptMsg(s, b, p, 0x0a, Header, m.header);
    return putOptMsg(s, b, p, 0x12, KeyValue, m.prev_kv);
  },
};

/** etcdserverpb.DeleteRangeResponse. */
export const DeleteRangeResponse: MsgCodec = {
  size: (s, m) => optMsgSize(s, Header, m.header) + intField(m.deleted) + repeatedSize(s, KeyValue, m.prev_kvs),
  write(s, b, p, m) {
    p = putOptMsg(s, b, p, 0x0a, Header, m.header);
    p = putInt(b, p, 0x10, m.deleted);
    return putRepeated(s, b, p, 0x1a, KeyValue, m.prev_kvs);
  },
};

const RESPONSE_OPS = ['response_range', 'response_put', 'response_delete_range', 'response_txn'] as const;

/** The set member of ResponseOp's oneof `response` (index into RESPONSE_OPS), or -1. */
function responseOpMember(m: W): number {
  if (typeof m.response === 'string') {
    const i = RESPONSE_OPS.indexOf(m.response as (typeof RESPONSE_OPS)[number]);
    if (i >= 0 && m[m.response] != null) return i;
  }
  for (let i = 0; i < RESPONSE_OPS.length; i++) if (m[RESPONSE_OPS[i]!] != null) return i;
  return -1;
}

/** etcdserverpb.ResponseOp (a set oneof member is written even when empty). */
export const ResponseOp: MsgCodec = {
  size(s, m) {
    const i = responseOpMember(m);
    return i < 0 ? 0 : msgField(s, OP_CODECS[i]!, m[RESPONSE_OPS[i]!]);
  },
  write(s, b, p, m) {
    const i = responseOpMember(m);
    return i < 0 ? p : putMsg(s, b, p, 0x0a + 8 * i, OP_CODECS[i]!, m[RESPONSE_OPS[i]!]);
  },
};

/** etcdserverpb.TxnResponse. */
export const TxnResponse: MsgCodec = {
  size: (s, m) => optMsgSize(s, Header, m.header) + boolField(m.succeeded) + repeatedSize(s, ResponseOp, m.responses),
  write(s, b, p, m) {
    p = putOptMsg(s, b, p, 0x0a, Header, m.header);
    p = putBool(b, p, 0x10, m.succeeded);
    return putRepeated(s, b, p, 0x1a, ResponseOp, m.responses);
  },
};

const OP_CODECS: MsgCodec[] = [RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse];

// ---- requests -------------------------------------------------------------------------------------------

/** Wire sizes of requests decoded here (kv_service's --max-request-bytes check), by request object. */
const receivedSizes = new WeakMap<object, number>();

/** The encoded size of a request object this module decoded, or undefined for any other object. */
export function receivedSize(req: object): number | undefined {
  return receivedSizes.get(req);
}

const sub = subReader;

/** etcdserverpb.RangeRequest. */
export function readRangeRequest(r: Reader): W {
  const m: W = {
    key: EMPTY, range_end: EMPTY, limit: '0', revision: '0', sort_order: 0, sort_target: 0, serializable: false,
    keys_only: false, count_only: false, min_mod_revision: '0', max_mod_revision: '0', min_create_revision: '0', max_create_revision: '0',
  };
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x0a: m.key = r.bytes(); break;
      case 0x12: m.range_end = r.bytes(); break;
      case 0x18: m.limit = r.int64String(); break;
      case 0x20: m.revision = r.int64String(); break;
      case 0x28: m.sort_order = r.int32(); break;
      case 0x30: m.sort_target = r.int32(); break;
      case 0x38: m.serializable = r.bool(); break;
      case 0x40: m.keys_only = r.bool(); break;
      case 0x48: m.count_only = r.bool(); break;
      case 0x50: m.min_mod_revision = r.int64String(); break;
      case 0x58: m.max_mod_revision = r.int64String(); break;
      case 0x60: m.min_create_revision = r.int64String(); break;
      case 0x68: m.max_create_revision = r.int64String(); break;
      default: r.skip(t & 7);
    }
  }
  return m;
}

/** etcdserverpb.PutRequest. */
export function readPutRequest(r: Reader): W {
  const m: W = { key: EMPTY, value: EMPTY, lease: '0', prev_kv: false, ignore_value: false, ignore_lease: false };
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x0a: m.key = r.bytes(); break;
      case 0x12: m.value = r.bytes(); break;
      case 0x18: m.lease = r.int64String(); break;
      case 0x20: m.prev_kv = r.bool(); break;
      case 0x28: m.ignore_value = r.bool(); break;
      case 0x30: m.ignore_lease = r.bool(); break;
      default: r.skip(t & 7);
    }
  }
  return m;
}

/** etcdserverpb.DeleteRangeRequest. */
export function readDeleteRangeRequest(r: Reader): W {
  const m: W = { key: EMPTY, range_end: EMPTY, prev_kv: false };
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x0a: m.key = r.bytes(); break;
      case 0x12: m.range_end = r.bytes(); break;
      case 0x18: m.prev_kv = r.bool(); break;
      default: r.skip(t & 7);
    }
  }
  return m;
}

const COMPARE_UNION = ['version', 'create_revision', 'mod_revision', 'value', 'lease'] as const;

/** etcdserverpb.Compare (the set target_union member and its name, as proto-loader's `oneofs`). */
export function readCompare(r: Reader): W {
  const m: W = { result: 0, target: 0, key: EMPTY, range_end: EMPTY };
  let union: string | undefined;
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x08: m.result = r.int32(); break;
      case 0x10: m.target = r.int32(); break;
      case 0x1a: m.key = r.bytes(); break;
      case 0x20: case 0x28: case 0x30: case 0x40: {
        if (union !== undefined) delete m[union];
        union = COMPARE_UNION[(t >>> 3) - 4]!;
        m[union] = r.int64String();
        break;
      }
      case 0x3a:
        if (union !== undefined) delete m[union];
        union = 'value';
        m.value = r.bytes();
        break;
      case 0x202: m.range_end = r.bytes(); break; // field 64
      default: r.skip(t & 7);
    }
  }
  if (union !== undefined) m.target_union = union;
  return m;
}

const REQUEST_OPS = ['request_range', 'request_put', 'request_delete_range', 'request_txn'] as const;
const REQUEST_READERS: Array<(r: Reader) => W> = [readRangeRequest, readPutRequest, readDeleteRangeRequest, (r) => readTxnRequest(r)];

/** etcdserverpb.RequestOp: `{}` when nothing is set, else the member and `request` naming it. */
export function readRequestOp(r: Reader): W {
  return readOneof(r, REQUEST_OPS, REQUEST_READERS, 'request');
}

/** etcdserverpb.TxnRequest. */
export function readTxnRequest(r: Reader): W {
  const m: W = { compare: [], success: [], failure: [] };
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x0a: m.compare.push(readCompare(sub(r))); break;
      case 0x12: m.success.push(readRequestOp(sub(r))); break;
      case 0x1a: m.failure.push(readRequestOp(sub(r))); break;
      default: r.skip(t & 7);
    }
  }
  return m;
}

/** A top-level deserializer from a message reader; records the received size for receivedSize(). */
export function deserializer(read: (r: Reader) => W): (b: Buffer) => W {
  return (b: Buffer) => {
    const m = read(new Reader(b));
    receivedSizes.set(m, b.length);
    return m;
  };
}

// ---- installation ----------------------------------------------------------------------------------------

/** Per method: a request deserializer and/or a response serializer replacing proto-loader's. */
export type MethodCodecs = Record<string, { requestDeserialize?: (b: Buffer) => unknown; responseSerialize?: (m: any) => Buffer }>;

/** The KV service's hot methods. */
export const KV_CODECS: MethodCodecs = {
  Range: { requestDeserialize: deserializer(readRangeRequest), responseSerialize: serializer(RangeResponse) },
  Put: { requestDeserialize: deserializer(readPutRequest), responseSerialize: serializer(PutResponse) },
  DeleteRange: { requestDeserialize: deserializer(readDeleteRangeRequest), responseSerialize: serializer(DeleteRangeResponse) },
  Txn: { requestDeserialize: deserializer(readTxnRequest), responseSerialize: serializer(TxnResponse) },
};

/**
 * A copy of service definition `def` with the given methods' codecs replaced (the definition from
 * proto-loader is left unchanged). Methods not named keep proto-loader's.
 */
export function withCodecs(def: grpc.ServiceDefinition, codecs: MethodCodecs): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const [name, m] of Object.entries(def)) {
    const c = codecs[name] ?? codecs[m.originalName ?? ''];
    out[name] = c ? { ...m, ...c } : m;
  }
  return out as grpc.ServiceDefinition;
}

/** Bytes of a varint (re-exported for the watch codec's size checks). */
export { uvarintSize };
