/**
 * Serialises an MvccStore's whole state (every stored version, the current and compacted revisions) to
 * bytes and back, for Raft snapshots and `snapshot save`. Format (ours), little endian:
 *
 *   "QMV1" | rev u64 | compactRev u64 | count u32 | count * record | crc32c u32 (of everything before)
 *   record = main u64 | sub u32 | tombstone u8 | createRevision u64 | modRevision u64 | version u64 |
 *            lease u64 | keyLen u32 | key | valueLen u32 | value
 */
import { crc32c } from '../wal/crc32c.js';
import type { BackendRecord } from './backend.js';
import { MvccStore, type MvccState } from './kvstore.js';

const MAGIC = 0x3156_4d51; // "QMV1" read as u32 LE
const FIXED = 4 + 8 + 8 + 4;
const REC_FIXED = 8 + 4 + 1 + 8 + 8 + 8 + 8 + 4 + 4;
const TWO32 = 0x1_0000_0000;

/** Malformed or damaged MVCC snapshot bytes. */
export class MvccSnapshotError extends Error {
  override readonly name = 'MvccSnapshotError';
}

/**
 * Encodes the full state of `store` (O(stored versions) bytes). With `reserve` > 0 the image starts at offset
 * `reserve` of the returned buffer (the first `reserve` bytes are zero, for a caller's header: no copy of a
 * possibly huge image); the image is then `result.subarray(reserve)`.
 */
export function encodeMvccSnapshot(store: MvccStore, reserve = 0): Uint8Array {
  const rev = store.rev();
  const compactRev = store.compactRevision();
  // the history is streamed twice (size, then bytes): no array of every record
  let size = FIXED + 4;
  let count = 0;
  for (const r of store.records()) {
    size += REC_FIXED + r.kv.key.length + r.kv.value.length;
    count++;
  }
  const buf = new Uint8Array(reserve + size);
  const v = new DataView(buf.buffer);
  let o = reserve;
  const u32 = (n: number): void => {
    v.setUint32(o, n, true);
    o += 4;
  };
  const u64 = (n: number): void => {
    v.setUint32(o, n % TWO32, true);
    v.setUint32(o + 4, Math.floor(n / TWO32), true);
    o += 8;
  };
  const bytes = (b: Uint8Array): void => {
    u32(b.length);
    buf.set(b, o);
    o += b.length;
  };
  u32(MAGIC);
  u64(rev);
  u64(compactRev);
  u32(count);
  for (const r of store.records()) {
    u64(r.rev.main);
    u32(r.rev.sub);
    buf[o++] = r.tombstone ? 1 : 0;
    u64(r.kv.createRevision);
    u64(r.kv.modRevision);
    u64(r.kv.version);
    v.setBigUint64(o, r.kv.lease, true);
    o += 8;
    bytes(r.kv.key);
    bytes(r.kv.value);
  }
  v.setUint32(o, crc32c(buf, 0, reserve, o), true);
  return buf;
}

/**
 * Rebuilds a store from `encodeMvccSnapshot` bytes.
 * @throws MvccSnapshotError on a bad magic, CRC mismatch or truncated data.
 */
export function decodeMvccSnapshot(data: Uint8Array): MvccStore {
  return MvccStore.restore(decodeMvccState(data));
}

/**
 * The state in `encodeMvccSnapshot` bytes, without building a store (for MvccStore.replaceState / loadState, which
 * copy the bytes). The records' keys and values are views into `data`: keep `data` unchanged while using them.
 * @throws MvccSnapshotError on a bad magic, CRC mismatch or truncated data.
 */
export function decodeMvccState(data: Uint8Array): MvccState {
  const { rev, compactRev, records } = decodeMvccStream(data);
  return { rev, compactRev, records: [...records] };
}

/**
 * As decodeMvccState, but the records are decoded one at a time as they are iterated (iterate once): a restart
 * loading 1M versions keeps no array of 1M records alive (each dies young once the backend copied it). The CRC,
 * magic and header are checked at once; truncation and trailing bytes are reported while iterating.
 * `crcChecked`: the caller already checked a CRC covering all of `data` (a Raft snapshot file's, store/snap), so the
 * image's own CRC is not computed a second time (on a restart, hundreds of MB).
 * @throws MvccSnapshotError
 */
export function decodeMvccStream(data: Uint8Array, crcChecked = false): { rev: number; compactRev: number; count: number; records: Iterable<BackendRecord> } {
  if (data.length < FIXED + 4) throw new MvccSnapshotError('mvcc snapshot: too short');
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = data.length - 4;
  if (!crcChecked && v.getUint32(end, true) !== crc32c(data, 0, 0, end)) throw new MvccSnapshotError('mvcc snapshot: CRC mismatch');
  let o = 0;
  const need = (n: number): void => {
    if (o + n > end) throw new MvccSnapshotError('mvcc snapshot: truncated');
  };
  const u32 = (): number => {
    need(4);
    const n = v.getUint32(o, true);
    o += 4;
    return n;
  };
  const u64 = (): number => {
    need(8);
    const n = v.getUint32(o + 4, true) * TWO32 + v.getUint32(o, true);
    o += 8;
    return n;
  };
  const bytes = (): Uint8Array => {
    const n = u32();
    need(n);
    const out = data.subarray(o, o + n); // a view: the store's backend copies the bytes into its slabs
    o += n;
    return out;
  };
  if (u32() !== MAGIC) throw new MvccSnapshotError('mvcc snapshot: bad magic');
  const rev = u64();
  const compactRev = u64();
  const count = u32();
  function* records(): Generator<BackendRecord> {
  for (let i = 0; i < count; i++) {
    const main = u64();
    const sub = u32();
    need(1);
    const tombstone = data[o++] === 1;
    const createRevision = u64();
    const modRevision = u64();
    const version = u64();
    need(8);
    const lease = v.getBigUint64(o, true);
    o += 8;
    const key = bytes();
    const value = bytes();
    yield { rev: { main, sub }, tombstone, kv: { key, value, createRevision, modRevision, version, lease } };
  }
  if (o !== end) throw new MvccSnapshotError('mvcc snapshot: trailing bytes');
  }
  return { rev, compactRev, count, records: records() };
}
