/**
 * WAL record codec. A record on disk is, little endian:
 *
 *   [u32 length][u32 crc32c(type + payload)][u8 type][payload]
 *
 * where `length` counts the type byte plus the payload (so it is at least 1). Payloads:
 *   Metadata  (1): memberId u64, clusterId u64
 *   HardState (2): term u64, vote u64, commit u64
 *   Entry     (3): term u64, index u64, entry type u8, data (rest of the record)
 *   Snapshot  (4): index u64, term u64, voter count u32, voters u64 * count
 * Numbers (term, index, commit) are JS numbers stored as u64; IDs are bigint.
 * The framing is ours; the record kinds mirror etcd's walpb (metadata, state, entry, snapshot).
 */
import type { Entry, EntryType, HardState, SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';

export const HEADER_BYTES = 8;

export enum RecordType {
  Metadata = 1,
  HardState = 2,
  Entry = 3,
  Snapshot = 4,
}

/** Member and cluster identity written at the start of every segment. */
export interface WalMetadata {
  memberId: bigint;
  clusterId: bigint;
}

/** A decoded record. */
export type WalRecord =
  | { type: RecordType.Metadata; meta: WalMetadata }
  | { type: RecordType.HardState; hardState: HardState }
  | { type: RecordType.Entry; entry: Entry }
  | { type: RecordType.Snapshot; snapshot: SnapshotMeta };

const TWO32 = 0x1_0000_0000;

function putU64(v: DataView, off: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`wal: not a u64 number: ${n}`);
  v.setUint32(off, n % TWO32, true);
  v.setUint32(off + 4, Math.floor(n / TWO32), true);
}

function getU64(v: DataView, off: number): number {
  return v.getUint32(off + 4, true) * TWO32 + v.getUint32(off, true);
}

/** A copy of buf[start, end) as a plain Uint8Array (segment buffers are large and short-lived). */
function copyBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(buf.subarray(start, end));
  return out;
}

/** Payload size (excluding the 8-byte header and the type byte) of a record. */
function payloadBytes(r: WalRecord): number {
  switch (r.type) {
    case RecordType.Metadata:
      return 16;
    case RecordType.HardState:
      return 24;
    case RecordType.Entry:
      return 17 + r.entry.data.length;
    case RecordType.Snapshot:
      return 20 + 8 * r.snapshot.voters.length;
  }
}

/** Total bytes a record takes on disk. */
export function recordBytes(r: WalRecord): number {
  return HEADER_BYTES + 1 + payloadBytes(r);
}

/** Writes `r` framed at `off` in `buf` (which must have room); returns the offset after it. */
function writeRecord(buf: Uint8Array, view: DataView, off: number, r: WalRecord): number {
  const len = 1 + payloadBytes(r);
  const body = off + HEADER_BYTES; // the type byte
  view.setUint32(off, len, true);
  buf[body] = r.type;
  const p = body + 1;
  switch (r.type) {
    case RecordType.Metadata:
      view.setBigUint64(p, r.meta.memberId, true);
      view.setBigUint64(p + 8, r.meta.clusterId, true);
      break;
    case RecordType.HardState:
      putU64(view, p, r.hardState.term);
      view.setBigUint64(p + 8, r.hardState.vote, true);
      putU64(view, p + 16, r.hardState.commit);
      break;
    case RecordType.Entry:
      putU64(view, p, r.entry.term);
      putU64(view, p + 8, r.entry.index);
      buf[p + 16] = r.entry.type;
      buf.set(r.entry.data, p + 17);
      break;
    case RecordType.Snapshot: {
      putU64(view, p, r.snapshot.index);
      putU64(view, p + 8, r.snapshot.term);
      view.setUint32(p + 16, r.snapshot.voters.length, true);
      r.snapshot.voters.forEach((id, i) => view.setBigUint64(p + 20 + 8 * i, id, true));
      break;
    }
  }
  view.setUint32(off + 4, crc32c(buf, 0, body, body + len), true);
  return body + len;
}

/** Encodes records back to back into one buffer (one write for the whole batch). */
export function encodeRecords(records: WalRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += recordBytes(r);
  const buf = Buffer.allocUnsafe(total);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  for (const r of records) off = writeRecord(buf, view, off, r);
  return buf;
}

/**
 * Decodes the body of a record whose frame and CRC were already checked: `buf[start]` is the type byte,
 * `len` counts type + payload. Returns undefined for an unknown type or a payload of the wrong size
 * (the caller reports corruption).
 */
export function decodeRecord(buf: Uint8Array, start: number, len: number): WalRecord | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const p = start + 1;
  const n = len - 1;
  switch (buf[start]) {
    case RecordType.Metadata:
      if (n !== 16) return undefined;
      return {
        type: RecordType.Metadata,
        meta: { memberId: view.getBigUint64(p, true), clusterId: view.getBigUint64(p + 8, true) },
      };
    case RecordType.HardState:
      if (n !== 24) return undefined;
      return {
        type: RecordType.HardState,
        hardState: { term: getU64(view, p), vote: view.getBigUint64(p + 8, true), commit: getU64(view, p + 16) },
      };
    case RecordType.Entry:
      if (n < 17) return undefined;
      return {
        type: RecordType.Entry,
        entry: {
          term: getU64(view, p),
          index: getU64(view, p + 8),
          type: buf[p + 16] as EntryType,
          data: copyBytes(buf, p + 17, start + len),
        },
      };
    case RecordType.Snapshot: {
      if (n < 20) return undefined;
      const count = view.getUint32(p + 16, true);
      if (n !== 20 + 8 * count) return undefined;
      const voters: bigint[] = [];
      for (let i = 0; i < count; i++) voters.push(view.getBigUint64(p + 20 + 8 * i, true));
      return { type: RecordType.Snapshot, snapshot: { index: getU64(view, p), term: getU64(view, p + 8), voters } };
    }
    default:
      return undefined;
  }
}
