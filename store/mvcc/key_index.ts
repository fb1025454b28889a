/**
 * The key index: for each key, the revisions at which it changed, grouped into generations (a generation
 * runs from a create to the delete that ends it), as etcd's keyIndex (server/storage/mvcc/key_index.go);
 * and an ordered set of keys with binary search for range reads (etcd uses a B-tree).
 */
import type { Revision } from './revision.js';
import { revisionKey } from './revision.js';

/** One life of a key: created at revs[0]; when not the last generation, its last rev is the tombstone. */
interface Generation {
  /** Number of revisions ever added to this generation (kept across compaction). */
  ver: number;
  created: Revision;
  revs: Revision[];
}

/** What the key looked like at a revision. */
export interface KeyAt {
  /** The revision of the version visible at the asked revision. */
  modified: Revision;
  created: Revision;
  version: number;
}

function emptyGeneration(): Generation {
  return { ver: 0, created: { main: 0, sub: 0 }, revs: [] };
}

/** The history of one key. */
export class KeyIndex {
  /** The last revision that changed the key. */
  modified: Revision = { main: 0, sub: 0 };
  private gens: Generation[] = [emptyGeneration()];
  /** The key as a latin1 string (one char per byte): no per-key Uint8Array is kept (memory). */
  readonly id: string;

  constructor(key: Uint8Array | string) {
    this.id = typeof key === 'string' ? key : keyString(key);
  }

  /** The key's bytes (a fresh array on each call). */
  get key(): Uint8Array {
    const b = Buffer.from(this.id, 'latin1');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  /**
   * Records a put at `rev` (which must be after every revision already recorded). `version`, when given,
   * is the key's version at `rev` (used when rebuilding a compacted history from stored versions).
   */
  put(rev: Revision, version?: number): void {
    const g = this.gens[this.gens.length - 1]!;
    if (g.revs.length === 0) {
      g.created = rev;
      g.revs = [rev]; // exact capacity: a push onto [] reserves 17 slots, and most keys keep one revision
    } else {
      g.revs.push(rev);
    }
    g.ver = version ?? g.ver + 1;
    this.modified = rev;
  }

  /** Records a delete at `rev` and starts a new, empty generation. Throws if the key is not live. */
  tombstone(rev: Revision): void {
    if (this.gens[this.gens.length - 1]!.revs.length === 0) throw new Error('mvcc: tombstone on a key that is not live');
    this.put(rev);
    this.gens.push(emptyGeneration());
  }

  /** The generation live at main revision `at`, or undefined when the key did not exist then. */
  private generationAt(at: number): Generation | undefined {
    const last = this.gens.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.gens[i]!;
      if (g.revs.length === 0) continue;
      if (i !== last && g.revs[g.revs.length - 1]!.main <= at) return undefined; // deleted by then
      if (g.revs[0]!.main <= at) return g;
    }
    return undefined;
  }

  /** The version visible at main revision `at` (including changes at `at` itself), or undefined. */
  get(at: number): KeyAt | undefined {
    const g = this.generationAt(at);
    if (!g) return undefined;
    for (let i = g.revs.length - 1; i >= 0; i--) {
      const r = g.revs[i]!;
      if (r.main <= at) return { modified: r, created: g.created, version: g.ver - (g.revs.length - 1 - i) };
    }
    return undefined;
  }

  /**
   * Drops history made obsolete by a compaction at main revision `at`: drops the generations deleted at or
   * before `at`; of the first remaining one keeps the last revision <= at and everything after.
   * Adds the kept revision <= at (if any) to `keep` (revision keys the backend must not delete).
   */
  compact(at: number, keep: Set<string>): void {
    // the first generation that is still live at `at` or created after it
    let gi = 0;
    while (gi < this.gens.length - 1) {
      const g = this.gens[gi]!;
      if (g.revs[g.revs.length - 1]!.main > at) break;
      gi++;
    }
    const g = this.gens[gi]!;
    let idx = -1;
    for (let i = g.revs.length - 1; i >= 0; i--) {
      if (g.revs[i]!.main <= at) {
        idx = i;
        break;
      }
    }
    // (g's tombstone, if it has one, is after `at`, so the kept revision is a put: never a lone tombstone)
    if (idx >= 0) {
      keep.add(revisionKey(g.revs[idx]!));
      g.revs = g.revs.slice(idx);
    }
    this.gens = this.gens.slice(gi);
  }

  /** True when the key has no history left (after compaction of a deleted key). */
  isEmpty(): boolean {
    return this.gens.length === 1 && this.gens[0]!.revs.length === 0;
  }

  /** Every revision still recorded, oldest first (for tests and debugging). */
  revisions(): Revision[] {
    return this.gens.flatMap((g) => g.revs);
  }
}

/** Bytes -> string with one char per byte; string order (<) is then byte order. */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * All keys' KeyIndexes with an ordered key list. Range bounds follow etcd's range_end rules:
 * end undefined or empty = the single key; end = [0x00] = every key >= key; otherwise [key, end).
 */
export class TreeIndex {
  private readonly byKey = new Map<string, KeyIndex>();
  /** Sorted (byte order) keys of byKey, except those still in `pending`. */
  private sorted: string[] = [];
  /** New keys not yet merged into `sorted` (merged in one pass before the next ordered read). */
  private pending: string[] = [];

  /** Merges pending keys into the sorted list: O(n + p log p). */
  private settle(): void {
    if (this.pending.length === 0) return;
    const p = this.pending.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    this.pending = [];
    const a = this.sorted;
    if (a.length === 0 || a[a.length - 1]! < p[0]!) {
      for (const k of p) a.push(k);
      return;
    }
    const out: string[] = new Array(a.length + p.length);
    let i = 0;
    let j = 0;
    let o = 0;
    while (i < a.length && j < p.length) out[o++] = a[i]! < p[j]! ? a[i++]! : p[j++]!;
    while (i < a.length) out[o++] = a[i++]!;
    while (j < p.length) out[o++] = p[j++]!;
    this.sorted = out;
  }

  /** Index of the first sorted key >= k. */
  private lowerBound(k: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The KeyIndex of `key`, if any. */
  get(key: Uint8Array): KeyIndex | undefined {
    return this.byKey.get(keyString(key));
  }

  /** The KeyIndex of `key`, created (empty) if needed. */
  getOrCreate(key: Uint8Array): KeyIndex {
    const k = keyString(key);
    let ki = this.byKey.get(k);
    if (!ki) {
      ki = new KeyIndex(k);
      this.byKey.set(k, ki);
      this.pending.push(k);
    }
    return ki;
  }

  /** KeyIndexes of the keys in the range, in key order. */
  *range(key: Uint8Array, rangeEnd: Uint8Array | undefined): Iterable<KeyIndex> {
    if (!rangeEnd || rangeEnd.length === 0) {
      const ki = this.get(key);
      if (ki) yield ki;
      return;
    }
    this.settle();
    const end = rangeEnd.length === 1 && rangeEnd[0] === 0 ? undefined : keyString(rangeEnd);
    for (let i = this.lowerBound(keyString(key)); i < this.sorted.length; i++) {
      const k = this.sorted[i]!;
      if (end !== undefined && k >= end) return;
      yield this.byKey.get(k)!;
    }
  }

  /** Every KeyIndex, in key order. */
  all(): Iterable<KeyIndex> {
    this.settle();
    return this.sorted.map((k) => this.byKey.get(k)!);
  }

  /** Compacts every key at main revision `at`; drops keys left empty. Returns the revision keys to keep. */
  compact(at: number): Set<string> {
    this.settle();
    const keep = new Set<string>();
    let dropped = false;
    for (const [k, ki] of this.byKey) {
      ki.compact(at, keep);
      if (ki.isEmpty()) {
        this.byKey.delete(k);
        dropped = true;
      }
    }
    if (dropped) this.sorted = this.sorted.filter((k) => this.byKey.has(k));
    return keep;
  }

  /** Number of keys with history. */
  size(): number {
    return this.byKey.size;
  }
}
