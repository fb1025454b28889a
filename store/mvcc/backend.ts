/**
 * The MVCC backend: an ordered map from revision to the key-value written at it (etcd keeps the same
 * shape in bbolt's "key" bucket: revision bytes -> mvccpb.KeyValue). Behind the `Backend` interface so an
 * embedded engine can replace the in-memory implementation without touching the store above it.
 */
import { compareRevision, revisionKey, type Revision } from './revision.js';
import type { KeyValue } from './types.js';

/** What is stored at one revision. A tombstone records a delete: `kv` has the key and modRevision only. */
export interface BackendRecord {
  rev: Revision;
  kv: KeyValue;
  tombstone: boolean;
}

/** Ordered revision -> record storage. */
export interface Backend {
  /**
   * Stores `rec` at `rec.rev`, replacing what is there. The backend keeps its own copy of the value bytes (the
   * caller may reuse `rec.kv.value`); returns the record as stored (what later reads return).
   */
  put(rec: BackendRecord): BackendRecord;
  /** The record at exactly `rev`, or undefined. */
  get(rev: Revision): BackendRecord | undefined;
  /** Removes the records at `revs` (absent ones are ignored). */
  remove(revs: Iterable<Revision>): void;
  /** Records with from <= rev < to (to undefined = to the end), in revision order. */
  range(from: Revision, to?: Revision): Iterable<BackendRecord>;
  /** Number of records. */
  count(): number;
  /** Approximate bytes used, in the sense of etcd's db size (see MemoryBackend.sizeBytes). */
  sizeBytes(): number;
}

/** Per-record overhead counted by sizeBytes: revision key (17 B in etcd) plus encoding and page slack. */
export const RECORD_OVERHEAD_BYTES = 64;
/** Size of an empty backend: a fresh etcd 3.4 bbolt file is 20 KiB. */
export const EMPTY_BACKEND_BYTES = 20 * 1024;

/**
 * In-memory backend: records in an array sorted by revision. Writes come in increasing revision order,
 * so `put` is an append in practice; lookups are binary searches; `remove` rebuilds the array (compaction).
 */
export class MemoryBackend implements Backend {
  private recs: BackendRecord[] = [];
  private bytes = 0;

  /** Index of the first record with rev >= `rev`. */
  private lowerBound(rev: Revision): number {
    let lo = 0;
    let hi = this.recs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRevision(this.recs[mid]!.rev, rev) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static weight(rec: BackendRecord): number {
    return rec.kv.key.length + rec.kv.value.length + RECORD_OVERHEAD_BYTES;
  }

  put(given: BackendRecord): BackendRecord {
    const rec: BackendRecord = { ...given, kv: { ...given.kv, value: Uint8Array.from(given.kv.value) } };
    const n = this.recs.length;
    this.bytes += MemoryBackend.weight(rec);
    if (n === 0 || compareRevision(this.recs[n - 1]!.rev, rec.rev) < 0) {
      this.recs.push(rec);
      return rec;
    }
    const i = this.lowerBound(rec.rev);
    const at = this.recs[i];
    if (at && compareRevision(at.rev, rec.rev) === 0) {
      this.bytes -= MemoryBackend.weight(at);
      this.recs[i] = rec;
    } else {
      this.recs.splice(i, 0, rec);
    }
    return rec;
  }

  get(rev: Revision): BackendRecord | undefined {
    const at = this.recs[this.lowerBound(rev)];
    return at && compareRevision(at.rev, rev) === 0 ? at : undefined;
  }

  remove(revs: Iterable<Revision>): void {
    const drop = new Set<string>();
    for (const r of revs) drop.add(revisionKey(r));
    if (drop.size === 0) return;
    this.recs = this.recs.filter((rec) => {
      if (!drop.has(revisionKey(rec.rev))) return true;
      this.bytes -= MemoryBackend.weight(rec);
      return false;
    });
  }

  *range(from: Revision, to?: Revision): Iterable<BackendRecord> {
    for (let i = this.lowerBound(from); i < this.recs.length; i++) {
      const rec = this.recs[i]!;
      if (to && compareRevision(rec.rev, to) >= 0) return;
      yield rec;
    }
  }

  count(): number {
    return this.recs.length;
  }

  /** EMPTY_BACKEND_BYTES + per record (key + value + RECORD_OVERHEAD_BYTES) bytes. */
  sizeBytes(): number {
    return EMPTY_BACKEND_BYTES + this.bytes;
  }
}
