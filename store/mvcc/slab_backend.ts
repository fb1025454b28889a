/**
 * A compact in-memory MVCC backend: the same ordered revision -> record map as MemoryBackend (backend.ts), kept as
 * columns of typed arrays (one row per stored version, in revision order) with each version's key and value bytes
 * copied side by side into shared append-only slabs. A stored version costs ≈ 61 bytes of columns plus its key and
 * value bytes, instead of five JS objects and its own ArrayBuffer per value (≈ 350 bytes of heap and a malloc'd
 * backing store each), so the V8 heap holds almost nothing per version and the garbage collector has nothing to
 * trace (docs/benchmarks/ANALYSIS.md, "Memory at 100k keys").
 *
 * Reads build the BackendRecord on demand: `kv.key` is a copy, `kv.value` a view into a slab. Slab bytes are never
 * written twice (compaction copies the live versions of a mostly-dead slab into the current slab and drops its
 * reference), so a view handed out stays valid and unchanged for as long as the caller keeps it; callers must
 * treat the bytes as read-only, as with MemoryBackend's own arrays.
 */
import { revisionKey, type Revision } from './revision.js';
import { RECORD_OVERHEAD_BYTES, EMPTY_BACKEND_BYTES, type Backend, type BackendRecord } from './backend.js';

/** Size of a shared slab (bytes). */
export const SLAB_BYTES = 256 * 1024;
/** Keys + values at least this large get a slab of their own (exact size) instead of a share of one. */
const OWN_SLAB_BYTES = SLAB_BYTES / 8;
const EMPTY = new Uint8Array(0);

/** Column storage with slabs for key and value bytes; see the file comment. */
export class SlabBackend implements Backend {
  private n = 0;
  private mains = new Float64Array(0);
  private subs = new Uint32Array(0);
  private creates = new Float64Array(0);
  private mods = new Float64Array(0);
  private versions = new Float64Array(0);
  private leases = new BigUint64Array(0);
  private tombs = new Uint8Array(0);
  private slabIds = new Uint32Array(0);
  private offs = new Uint32Array(0);
  private klens = new Uint32Array(0);
  private vlens = new Uint32Array(0);
  /** Slabs by id; undefined once released. */
  private slabs: (Uint8Array | undefined)[] = [];
  /** Live (referenced) bytes per slab id. */
  private live: number[] = [];
  /** The shared slab being filled, and how much of it is used. */
  private cur = -1;
  private curUsed = 0;
  private bytes = 0;

  /** Number of slabs currently held (for tests). */
  slabCount(): number {
    return this.slabs.reduce((k, s) => k + (s ? 1 : 0), 0);
  }

  private grow(need: number): void {
    const cap = this.mains.length;
    if (need <= cap) return;
    this.resize(Math.max(need, cap * 2, 64));
  }

  private resize(cap: number): void {
    const n = this.n;
    const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a.subarray(0, n)); return b; };
    const u32 = (a: Uint32Array) => { const b = new Uint32Array(cap); b.set(a.subarray(0, n)); return b; };
    this.mains = f64(this.mains);
    this.creates = f64(this.creates);
    this.mods = f64(this.mods);
    this.versions = f64(this.versions);
    this.subs = u32(this.subs);
    this.slabIds = u32(this.slabIds);
    this.offs = u32(this.offs);
    this.klens = u32(this.klens);
    this.vlens = u32(this.vlens);
    const l = new BigUint64Array(cap);
    l.set(this.leases.subarray(0, n));
    this.leases = l;
    const t = new Uint8Array(cap);
    t.set(this.tombs.subarray(0, n));
    this.tombs = t;
  }

  /** Room for `len` bytes: [slab id, offset]. */
  private alloc(len: number): [number, number] {
    if (len >= OWN_SLAB_BYTES) {
      this.slabs.push(new Uint8Array(len));
      this.live.push(0);
      return [this.slabs.length - 1, 0];
    }
    if (this.cur < 0 || this.curUsed + len > SLAB_BYTES) {
      this.slabs.push(new Uint8Array(SLAB_BYTES));
      this.live.push(0);
      this.cur = this.slabs.length - 1;
      this.curUsed = 0;
    }
    const off = this.curUsed;
    this.curUsed += len;
    return [this.cur, off];
  }

  /** Copies key+value into a slab and points row `i` at them. */
  private store(i: number, key: Uint8Array, value: Uint8Array): void {
    const len = key.length + value.length;
    const [id, off] = this.alloc(len);
    const slab = this.slabs[id]!;
    slab.set(key, off);
    slab.set(value, off + key.length);
    this.live[id]! += len;
    this.slabIds[i] = id;
    this.offs[i] = off;
    this.klens[i] = key.length;
    this.vlens[i] = value.length;
  }

  /** Forgets row `i`'s bytes (the slab is released once nothing in it is live and it is not the current one). */
  private unref(i: number): void {
    const id = this.slabIds[i]!;
    this.live[id]! -= this.klens[i]! + this.vlens[i]!;
    if (this.live[id] === 0 && id !== this.cur) this.slabs[id] = undefined;
  }

  private setRow(i: number, rec: BackendRecord): void {
    this.mains[i] = rec.rev.main;
    this.subs[i] = rec.rev.sub;
    this.creates[i] = rec.kv.createRevision;
    this.mods[i] = rec.kv.modRevision;
    this.versions[i] = rec.kv.version;
    this.leases[i] = BigInt.asUintN(64, rec.kv.lease);
    this.tombs[i] = rec.tombstone ? 1 : 0;
    this.store(i, rec.kv.key, rec.kv.value);
  }

  /** The record at row `i`, built now; key and value are views into its slab. */
  private row(i: number): BackendRecord {
    const slab = this.slabs[this.slabIds[i]!]!;
    const off = this.offs[i]!;
    const kl = this.klens[i]!;
    const vl = this.vlens[i]!;
    return {
      rev: { main: this.mains[i]!, sub: this.subs[i]! },
      tombstone: this.tombs[i] === 1,
      kv: {
        key: slab.slice(off, off + kl), // a copy: keys are small and some are kept long (the lessor's key sets)
        createRevision: this.creates[i]!,
        modRevision: this.mods[i]!,
        version: this.versions[i]!,
        value: vl === 0 ? EMPTY : slab.subarray(off + kl, off + kl + vl),
        lease: this.leases[i]!,
      },
    };
  }

  private cmp(i: number, rev: Revision): number {
    const m = this.mains[i]!;
    return m !== rev.main ? m - rev.main : this.subs[i]! - rev.sub;
  }

  /** Index of the first row with rev >= `rev`. */
  private lowerBound(rev: Revision): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(mid, rev) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static weight(key: number, value: number): number {
    return key + value + RECORD_OVERHEAD_BYTES;
  }

  /** Stores `rec` (its key and value bytes are copied) and returns the stored form (views into the slab). */
  put(rec: BackendRecord): BackendRecord {
    const n = this.n;
    this.bytes += SlabBackend.weight(rec.kv.key.length, rec.kv.value.length);
    let i: number;
    if (n === 0 || this.cmp(n - 1, rec.rev) < 0) {
      i = n;
    } else {
      i = this.lowerBound(rec.rev);
      if (i < n && this.cmp(i, rec.rev) === 0) {
        this.bytes -= SlabBackend.weight(this.klens[i]!, this.vlens[i]!);
        this.unref(i);
        this.setRow(i, rec);
        return this.row(i);
      }
    }
    this.grow(n + 1);
    if (i < n) this.shift(i, n, 1);
    this.n = n + 1;
    this.setRow(i, rec);
    return this.row(i);
  }

  /** Moves rows [from, to) by `by` places (insertion in the middle: rare, writes come in revision order). */
  private shift(from: number, to: number, by: number): void {
    for (const a of this.columns()) a.copyWithin(from + by, from, to);
  }

  private columns(): (Float64Array | Uint32Array | BigUint64Array | Uint8Array)[] {
    return [this.mains, this.subs, this.creates, this.mods, this.versions, this.leases, this.tombs, this.slabIds, this.offs, this.klens, this.vlens];
  }

  get(rev: Revision): BackendRecord | undefined {
    const i = this.lowerBound(rev);
    return i < this.n && this.cmp(i, rev) === 0 ? this.row(i) : undefined;
  }

  /**
   * Removes the records at `revs`, then moves the live bytes of slabs that became less than half live into the
   * current slab so the mostly-dead ones can be freed (views already handed out keep the old slab alive).
   */
  remove(revs: Iterable<Revision>): void {
    const drop = new Set<string>();
    for (const r of revs) drop.add(revisionKey(r));
    if (drop.size === 0) return;
    let o = 0;
    const cols = this.columns();
    for (let i = 0; i < this.n; i++) {
      if (drop.has(`${this.mains[i]}_${this.subs[i]}`)) {
        this.bytes -= SlabBackend.weight(this.klens[i]!, this.vlens[i]!);
        this.unref(i);
        continue;
      }
      if (o !== i) for (const a of cols) a[o] = a[i]!;
      o++;
    }
    this.n = o;
    if (this.n < this.mains.length / 4 && this.mains.length > 64) this.resize(Math.max(64, this.n * 2));
    this.relocate();
  }

  /** Copies the rows of sparse slabs (live < half their size; never the current one) into fresh space. */
  private relocate(): void {
    const sparse = new Set<number>();
    this.slabs.forEach((s, id) => {
      if (s && id !== this.cur && this.live[id]! * 2 < s.length) sparse.add(id);
    });
    if (sparse.size === 0) return;
    for (let i = 0; i < this.n; i++) {
      const id = this.slabIds[i]!;
      if (!sparse.has(id)) continue;
      const slab = this.slabs[id]!;
      const off = this.offs[i]!;
      const key = slab.subarray(off, off + this.klens[i]!);
      const value = slab.subarray(off + this.klens[i]!, off + this.klens[i]! + this.vlens[i]!);
      this.live[id]! -= key.length + value.length;
      this.store(i, key, value);
    }
    for (const id of sparse) this.slabs[id] = undefined;
  }

  *range(from: Revision, to?: Revision): Iterable<BackendRecord> {
    for (let i = this.lowerBound(from); i < this.n; i++) {
      if (to && this.cmp(i, to) >= 0) return;
      yield this.row(i);
    }
  }

  count(): number {
    return this.n;
  }

  /** Same model as MemoryBackend.sizeBytes: EMPTY_BACKEND_BYTES + per record (key + value + RECORD_OVERHEAD_BYTES). */
  sizeBytes(): number {
    return EMPTY_BACKEND_BYTES + this.bytes;
  }
}
