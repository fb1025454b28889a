/**
 * Hand-written protobuf codecs for the Watch service (etcd api v3 rpc.proto WatchRequest/WatchResponse,
 * kv.proto Event), installed in place of proto-loader's (grpc_server.ts), with the same object shapes
 * (see kv_wire.ts). An Event object marked with `cacheEncoding` is encoded once and its bytes reused by every
 * response that carries it: the same event goes to every watcher of its key, so with 100 watchers one
 * revision's KeyValue is encoded once instead of 100 times.
 */
import {
  boolField, bytesField, deserializer, Header, intField, KeyValue, msgField, putBool, putInt, putMsg, serializer,
  type MethodCodecs, type MsgCodec,
} from './kv_wire.js';
import { lenField, LEN, readOneof, Reader, subReader, writeBytes, writeUvarint, type Sizes } from './proto_codec.js';

type W = Record<string, any>;

const EMPTY = Buffer.alloc(0);
const ENCODED = Symbol('encoded Event');
const CACHE = Symbol('cache the encoding');

/**
 * Mark an Event wire object as immutable so its encoding is computed once and kept on it (hidden symbol
 * properties). Returns the object. Do not change the object after marking it.
 */
export function cacheEncoding<T extends object>(ev: T): T {
  (ev as Record<symbol, unknown>)[CACHE] = true;
  return ev;
}

const eventType = (t: unknown): number => (t === 'DELETE' ? 1 : t === 'PUT' ? 0 : Number(t ?? 0));

/** mvccpb.Event, fields only. */
const EventFields: MsgCodec = {
  size: (s, e) => intField(eventType(e.type)) + (e.kv == null ? 0 : msgField(s, KeyValue, e.kv)) + (e.prev_kv == null ? 0 : msgField(s, KeyValue, e.prev_kv)),
  write(s, b, p, e) {
    p = putInt(b, p, 0x08, eventType(e.type));
    if (e.kv != null) p = putMsg(s, b, p, 0x12, KeyValue, e.kv);
    if (e.prev_kv != null) p = putMsg(s, b, p, 0x1a, KeyValue, e.prev_kv);
    return p;
  },
};
const encodeEventFields = serializer(EventFields);

/** The cached encoding of a marked event (made on first use), or undefined for an unmarked one. */
function cached(e: W): Buffer | undefined {
  const o = e as Record<symbol, unknown>;
  if (!o[CACHE]) return undefined;
  let enc = o[ENCODED] as Buffer | undefined;
  if (!enc) o[ENCODED] = enc = encodeEventFields(e);
  return enc;
}

/** mvccpb.Event: a marked event's bytes are copied, others are encoded field by field. */
export const Event: MsgCodec = {
  size(s, e) {
    const enc = cached(e);
    return enc ? enc.length : EventFields.size(s, e);
  },
  write(s, b, p, e) {
    const enc = cached(e);
    return enc ? writeBytes(b, p, enc) : EventFields.write(s, b, p, e);
  },
};

/** etcdserverpb.WatchResponse. */
export const WatchResponse: MsgCodec = {
  size(s, m) {
    let n = (m.header == null ? 0 : msgField(s, Header, m.header)) + intField(m.watch_id) + boolField(m.created) + boolField(m.canceled) +
      intField(m.compact_revision) + bytesField(m.cancel_reason ? Buffer.from(String(m.cancel_reason)) : EMPTY) + boolField(m.fragment);
    if (m.events) for (const e of m.events as W[]) n += msgField(s, Event, e ?? {});
    return n;
  },
  write(s, b, p, m) {
    if (m.header != null) p = putMsg(s, b, p, 0x0a, Header, m.header);
    p = putInt(b, p, 0x10, m.watch_id);
    p = putBool(b, p, 0x18, m.created);
    p = putBool(b, p, 0x20, m.canceled);
    p = putInt(b, p, 0x28, m.compact_revision);
    if (m.cancel_reason) {
      const r = Buffer.from(String(m.cancel_reason));
      b[p++] = 0x32;
      p = writeUvarint(b, p, r.length);
      p = writeBytes(b, p, r);
    }
    p = putBool(b, p, 0x38, m.fragment);
    if (m.events) for (const e of m.events as W[]) p = putMsg(s, b, p, 0x5a, Event, e ?? {});
    return p;
  },
};

/** Encoded size in bytes of an Event wire object (watch_fragment.ts' sizes), using the cached bytes if any. */
export function eventWireSize(s: Sizes, e: W): number {
  return lenField(Event.size(s, e));
}

// ---- requests -------------------------------------------------------------------------------------------

const sub = subReader;

/** etcdserverpb.WatchCreateRequest (filters packed or not). */
export function readWatchCreateRequest(r: Reader): W {
  const m: W = {
    filters: [], key: EMPTY, range_end: EMPTY, start_revision: '0', progress_notify: false, prev_kv: false, watch_id: '0', fragment: false,
  };
  while (r.pos < r.end) {
    const t = r.uint32();
    switch (t) {
      case 0x0a: m.key = r.bytes(); break;
      case 0x12: m.range_end = r.bytes(); break;
      case 0x18: m.start_revision = r.int64String(); break;
      case 0x20: m.progress_notify = r.bool(); break;
      case 0x28: case 0x2a: r.enums(t & 7, m.filters); break;
      case 0x30: m.prev_kv = r.bool(); break;
      case 0x38: m.watch_id = r.int64String(); break;
      case 0x40: m.fragment = r.bool(); break;
      default: r.skip(t & 7);
    }
  }
  return m;
}

/** etcdserverpb.WatchCancelRequest. */
export function readWatchCancelRequest(r: Reader): W {
  const m: W = { watch_id: '0' };
  while (r.pos < r.end) {
    const t = r.uint32();
    if (t === 0x08) m.watch_id = r.int64String();
    else r.skip(t & 7);
  }
  return m;
}

function readEmpty(r: Reader): W {
  while (r.pos < r.end) r.skip(r.uint32() & 7);
  return {};
}

const WATCH_UNION = ['create_request', 'cancel_request', 'progress_request'] as const;
const WATCH_READERS = [readWatchCreateRequest, readWatchCancelRequest, readEmpty];

/** etcdserverpb.WatchRequest: the set member of `request_union` and its name. */
export function readWatchRequest(r: Reader): W {
  return readOneof(r, WATCH_UNION, WATCH_READERS, 'request_union');
}

/** The Watch service's codecs. */
export const WATCH_CODECS: MethodCodecs = {
  Watch: { requestDeserialize: deserializer(readWatchRequest), responseSerialize: serializer(WatchResponse) },
};
