/**
 * Sizes of WatchResponse wire objects (protobuf encoding, as etcd's generated Size()) and the splitting of a
 * large response into fragments (etcd server/etcdserver/api/v3rpc/watch.go sendFragments): when the client
 * asked for `fragment` and a response is at least max-request-bytes with two or more events, it is sent as
 * several responses, every one but the last with fragment=true; each holds at least one event.
 */

/** mvccpb.KeyValue as a wire object (see wire.kvToWire). */
export interface WireKv { key: Buffer; create_revision: string | number; mod_revision: string | number; version: string | number; value: Buffer; lease: string | number }
/** mvccpb.Event as a wire object. */
export interface WireEvent { type: number; kv: WireKv; prev_kv: WireKv | null }
/** etcdserverpb.WatchResponse as a wire object. */
export interface WireWatchResponse {
  header: Record<string, string>;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  fragment: boolean;
  events: WireEvent[];
}

/** Bytes of a varint holding `v` (64-bit two's complement for negatives, as protobuf int64). */
function varintLen(v: bigint): number {
  if (v < 0n) return 10;
  let n = 1;
  while (v >= 128n) {
    v >>= 7n;
    n++;
  }
  return n;
}

const intField = (s: string | number) => {
  const v = BigInt(s);
  return v === 0n ? 0 : 1 + varintLen(v);
};
const bytesField = (len: number) => (len === 0 ? 0 : 1 + varintLen(BigInt(len)) + len);
const msgField = (len: number) => 1 + varintLen(BigInt(len)) + len;

/** Encoded size in bytes of a KeyValue. */
export function kvSize(kv: WireKv): number {
  return bytesField(kv.key.length) + intField(kv.create_revision) + intField(kv.mod_revision) + intField(kv.version) +
    bytesField(kv.value.length) + intField(kv.lease);
}

/** Encoded size in bytes of an Event. */
export function eventSize(ev: WireEvent): number {
  return intField(ev.type) + msgField(kvSize(ev.kv)) + (ev.prev_kv ? msgField(kvSize(ev.prev_kv)) : 0);
}

/** Encoded size in bytes of a WatchResponse. */
export function watchResponseSize(r: WireWatchResponse): number {
  const h = r.header;
  const headerLen = intField(h.cluster_id ?? 0) + intField(h.member_id ?? 0) + intField(h.revision ?? 0) + intField(h.raft_term ?? 0);
  let n = msgField(headerLen) + intField(r.watch_id) + (r.created ? 2 : 0) + (r.canceled ? 2 : 0) + intField(r.compact_revision) +
    bytesField(Buffer.byteLength(r.cancel_reason)) + (r.fragment ? 2 : 0);
  for (const ev of r.events) n += 1 + varintLen(BigInt(eventSize(ev))) + eventSize(ev);
  return n;
}

/**
 * The responses to send for `r`: `[r]` when it is under `maxBytes` or has fewer than two events, else
 * fragments of consecutive events (each under maxBytes unless a single event is larger), all but the last
 * marked fragment=true.
 */
export function fragmentResponse(r: WireWatchResponse, maxBytes: number): WireWatchResponse[] {
  if (r.events.length < 2 || watchResponseSize(r) < maxBytes) return [r];
  const base = watchResponseSize({ ...r, events: [], fragment: true });
  const out: WireWatchResponse[] = [];
  let cur: WireEvent[] = [];
  let size = base;
  for (const ev of r.events) {
    const es = 1 + varintLen(BigInt(eventSize(ev))) + eventSize(ev);
    if (cur.length > 0 && size + es >= maxBytes) {
      out.push({ ...r, events: cur, fragment: true });
      cur = [];
      size = base;
    }
    cur.push(ev);
    size += es;
  }
  out.push({ ...r, events: cur, fragment: false });
  return out;
}
