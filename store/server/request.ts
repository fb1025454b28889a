/**
 * How client requests travel inside Raft entries: versioned JSON (`{"v":1,...}`), bytes as base64,
 * uint64/int64 IDs as decimal strings; or, for puts, deletes and txns once every member decodes it, the binary v2
 * layout of entry_codec.ts (first byte 0x82, gated cluster-wide by entry_codec_gate.ts). Both are decoded
 * forever (WALs, snapshots and restores keep old entries). Each request carries an id (unique per proposing
 * process) so the proposer can be woken with the result when the entry is applied.
 */
import { specFromJson, specToJson, type CompactOp, type TxnOp } from './kv_txn.js';
import { decodeLeaseOp, encodeLeaseOp, type LeaseOp } from './lease_request.js';
import type { AlarmOp } from './maintenance_state.js';
import { decodeAuthOp, encodeAuthOp, isAuthOp, type AuthOp } from './auth_request.js';
import { decodeEntryV2, hasV2Layout, isEntryV2, tryEncodeEntryV2 } from './entry_codec.js';

/** Put a key (etcd PutRequest). */
export interface PutOp { op: 'put'; key: Uint8Array; value: Uint8Array; lease: bigint; prevKv: boolean }
/** Delete a key or range (etcd DeleteRangeRequest). rangeEnd empty = single key. */
export interface DeleteOp { op: 'delete'; key: Uint8Array; rangeEnd: Uint8Array; prevKv: boolean }
/** A member publishes its name and client URLs (as etcd's publish), so every member can list them. */
export interface PublishOp {
  op: 'publish'; memberId: bigint; name: string; clientUrls: string[];
  /** The newest entry encoding the member decodes (absent: 1, as a pre-v2 build publishes; entry_codec_gate.ts). */
  entryVersion?: number;
  /** The publisher's view of the others may be stale: members on a v2 build publish themselves again. */
  refresh?: boolean;
}

export type { TxnOp, CompactOp } from './kv_txn.js';

export type { LeaseOp } from './lease_request.js';
export type { AlarmOp } from './maintenance_state.js';

export type RequestBody = PutOp | DeleteOp | PublishOp | TxnOp | CompactOp | LeaseOp | AlarmOp | AuthOp;
export interface Request { id: string; body: RequestBody }

export const REQUEST_VERSION = 1;

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/**
 * Encode a request as entry data: v2 (entry_codec.ts) when `opts.v2` (the cluster-wide gate is open:
 * entry_codec_gate.ts) and the op has a v2 layout, JSON v1 otherwise.
 */
export function encodeRequest(req: Request, opts: { v2?: boolean } = {}): Uint8Array {
  if (opts.v2 && hasV2Layout(req)) {
    const v2 = tryEncodeEntryV2(req); // undefined: a txn spec v2 cannot represent exactly (entry_codec_txn.ts)
    if (v2) return v2;
  }
  const b = req.body;
  let o: Record<string, unknown>;
  if (isAuthOp(b)) o = encodeAuthOp(b); // auth_request.ts
  else switch (b.op) {
    case 'put':
      o = { op: 'put', key: b64(b.key), value: b64(b.value), lease: b.lease.toString(), prevKv: b.prevKv };
      break;
    case 'delete':
      o = { op: 'delete', key: b64(b.key), rangeEnd: b64(b.rangeEnd), prevKv: b.prevKv };
      break;
    case 'publish':
      o = {
        op: 'publish', memberId: b.memberId.toString(), name: b.name, clientUrls: b.clientUrls,
        ...(b.entryVersion !== undefined ? { entryVersion: b.entryVersion } : {}), ...(b.refresh ? { refresh: true } : {}),
      };
      break;
    case 'txn':
      o = { op: 'txn', txn: specToJson(b.txn) };
      break;
    case 'compact':
      o = { op: 'compact', revision: b.revision, physical: b.physical };
      break;
    case 'leaseGrant':
    case 'leaseRevoke':
      o = encodeLeaseOp(b);
      break;
    case 'alarm':
      o = { op: 'alarm', action: b.action, memberId: b.memberId.toString(), alarm: b.alarm };
      break;
  }
  return new Uint8Array(Buffer.from(JSON.stringify({ v: REQUEST_VERSION, id: req.id, ...o }), 'utf8'));
}

/**
 * Decode entry data written by encodeRequest (v1 JSON or v2 binary, by the first byte).
 * Throws Error on an unknown version or op, SyntaxError on bad JSON, EntryCodecError on a damaged v2 entry.
 */
export function decodeRequest(data: Uint8Array): Request {
  if (isEntryV2(data)) return decodeEntryV2(data);
  const o = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Record<string, any>;
  if (o.v !== REQUEST_VERSION) throw new Error(`request: unsupported encoding version ${o.v}`);
  const id = String(o.id);
  if (isAuthOp(o as { op: string })) return { id, body: decodeAuthOp(o) }; // auth_request.ts
  switch (o.op) {
    case 'put':
      return { id, body: { op: 'put', key: unb64(o.key), value: unb64(o.value), lease: BigInt(o.lease), prevKv: !!o.prevKv } };
    case 'delete':
      return { id, body: { op: 'delete', key: unb64(o.key), rangeEnd: unb64(o.rangeEnd), prevKv: !!o.prevKv } };
    case 'publish':
      return {
        id,
        body: {
          op: 'publish', memberId: BigInt(o.memberId), name: String(o.name), clientUrls: (o.clientUrls as unknown[]).map(String),
          ...(typeof o.entryVersion === 'number' ? { entryVersion: o.entryVersion } : {}), ...(o.refresh === true ? { refresh: true } : {}),
        },
      };
    case 'txn':
      return { id, body: { op: 'txn', txn: specFromJson(o.txn) } };
    case 'compact':
      return { id, body: { op: 'compact', revision: Number(o.revision), physical: !!o.physical } };
    case 'leaseGrant':
    case 'leaseRevoke':
      return { id, body: decodeLeaseOp(o) };
    case 'alarm':
      return { id, body: { op: 'alarm', action: Number(o.action), memberId: BigInt(o.memberId), alarm: Number(o.alarm) } };
    default:
      throw new Error(`request: unknown op ${JSON.stringify(o.op)}`);
  }
}
