/**
 * WAL segment files: naming (`%016x-%016x.wal`: sequence number, index of the first entry expected in it,
 * as etcd names them) and scanning one segment's bytes into records, telling a torn final write apart
 * from corruption.
 */
import { crc32c } from './crc32c.js';
import { WalCorruptError } from './errors.js';
import { HEADER_BYTES, decodeRecord, type WalRecord } from './record.js';

/** Sector size used to recognise a torn write (a zero-filled sector inside the final record), as etcd does. */
const SECTOR_BYTES = 512;

const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** File name of segment `seq` whose first entry index is `index`. */
export function segmentName(seq: number, index: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.wal`;
}

/** Parses a segment file name; undefined when `name` is not one. */
export function parseSegmentName(name: string): { seq: number; index: number } | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  return { seq: parseInt(m[1]!, 16), index: parseInt(m[2]!, 16) };
}

/** The result of scanning one segment. */
export interface ScanResult {
  records: WalRecord[];
  /** Offset just past the last good record. */
  end: number;
  /** True when bytes after `end` are a torn final write (only ever true for the last segment). */
  torn: boolean;
}

function allZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * A record whose CRC fails looks torn when it covers a sector-aligned run of zeros (blocks the disk never
 * wrote): a whole 512-byte sector, or the final partial sector of the file when it is at least 16 bytes.
 */
function hasZeroSector(buf: Uint8Array, start: number, end: number): boolean {
  for (let s = Math.ceil(start / SECTOR_BYTES) * SECTOR_BYTES; s < end; s += SECTOR_BYTES) {
    const e = s + SECTOR_BYTES;
    if (e <= end && allZero(buf, s, e)) return true;
    if (e > end && end === buf.length && end - s >= 16 && allZero(buf, s, end)) return true;
  }
  return false;
}

/** Upper bound on the bytes checksummed while looking for a record after a suspected torn write. */
const TAIL_SEARCH_CRC_BUDGET = 64 * 1024 * 1024;

/**
 * After a record whose length runs past the end of the last segment: is that really a torn final write, or a
 * corrupted length field with good records behind it? A torn write is the file's last write, so no complete,
 * checksummed record can start after the torn record's header. Returns the offset of the first complete,
 * valid record found after `from`, or -1 (searching at most TAIL_SEARCH_CRC_BUDGET checksummed bytes).
 */
function validRecordAfter(buf: Uint8Array, view: DataView, from: number): number {
  let budget = TAIL_SEARCH_CRC_BUDGET;
  for (let p = from; p + HEADER_BYTES + 1 <= buf.length; p++) {
    const len = view.getUint32(p, true);
    const body = p + HEADER_BYTES;
    if (len === 0 || body + len > buf.length) continue;
    budget -= len;
    if (budget < 0) return -1;
    if (crc32c(buf, 0, body, body + len) !== view.getUint32(p + 4, true)) continue;
    if (decodeRecord(buf, body, len)) return p;
  }
  return -1;
}

/**
 * Scans a segment's bytes. In the last segment (`isLast`), a record that runs past the end of the file, a
 * zero-filled tail, or a final record with a bad CRC and a zero-filled sector is a torn write: scanning stops
 * there with `torn: true` and the caller truncates. Anything else that is wrong throws WalCorruptError
 * naming `file` and the record's offset.
 */
export function scanSegment(buf: Uint8Array, file: string, isLast: boolean): ScanResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = buf.length;
  const records: WalRecord[] = [];
  let off = 0;
  const stop = (detail: string): ScanResult => {
    if (isLast) return { records, end: off, torn: true };
    throw new WalCorruptError(file, off, detail);
  };
  while (off < size) {
    if (size - off < HEADER_BYTES + 1) return stop('truncated record header');
    const len = view.getUint32(off, true);
    if (len === 0) {
      if (isLast && allZero(buf, off, size)) return { records, end: off, torn: true };
      throw new WalCorruptError(file, off, 'zero record length');
    }
    const body = off + HEADER_BYTES;
    if (body + len > size) {
      const next = isLast ? validRecordAfter(buf, view, body) : -1;
      if (next >= 0) {
        throw new WalCorruptError(file, off, `record length ${len} runs past the end of the file, but a valid record follows at offset ${next}: the length field is corrupt`);
      }
      return stop(`record of ${len} bytes runs past the end of the file`);
    }
    const want = view.getUint32(off + 4, true);
    if (crc32c(buf, 0, body, body + len) !== want) {
      if (isLast && hasZeroSector(buf, off, body + len)) return { records, end: off, torn: true };
      throw new WalCorruptError(file, off, 'CRC mismatch');
    }
    const rec = decodeRecord(buf, body, len);
    if (!rec) throw new WalCorruptError(file, off, `bad record (type ${buf[body]}, ${len} bytes)`);
    records.push(rec);
    off = body + len;
  }
  return { records, end: off, torn: false };
}
