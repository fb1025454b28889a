/**
 * The multi-version key-value store (docs/CONTRACTS.md, store/mvcc), with etcd's semantics
 * (server/storage/mvcc/kvstore.go, kvstore_txn.go):
 * - a fresh store is at revision 1; each write transaction that changes something makes one new revision
 *   (a delete that deletes nothing does not);
 * - createRevision / modRevision / version per key, version restarting at 1 after a delete;
 * - reads at any revision from the compacted one to the current one.
 * Layers: Backend (revision -> kv) below, TreeIndex (key -> revisions) beside, this store on top.
 */
import type { Backend, BackendRecord } from './backend.js';
import { SlabBackend } from './slab_backend.js';
import { ErrCompacted, ErrFutureRev } from './errors.js';
import { TreeIndex, type KeyIndex } from './key_index.js';
import { revisionKey, type Revision } from './revision.js';
import type { KeyValue, MvccEvent, RangeOptions, RangeResult } from './types.js';

export type { KeyValue, MvccEvent, RangeOptions, RangeResult } from './types.js';
export { ErrCompacted, ErrFutureRev, MvccError } from './errors.js';

const EMPTY = new Uint8Array(0);

/** Writes (and reads that see them) inside one transaction; all its changes share one revision. */
export interface TxnWrite {
  /** Reads the current state including this transaction's own writes (no revision option). */
  range(key: Uint8Array, rangeEnd: Uint8Array | undefined, opts?: Omit<RangeOptions, 'revision'>): RangeResult;
  /** Puts `key`; returns the transaction's revision and the previous live version, if any. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): { rev: number; prev?: KeyValue };
  /** Deletes the live keys in the range; returns how many and their last versions. */
  deleteRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): { rev: number; deleted: number; prevKvs: KeyValue[] };
}

/** A store's whole state, as exported for snapshots. */
export interface MvccState {
  rev: number;
  compactRev: number;
  records: BackendRecord[];
}

/** What loadState / replaceState accept: an MvccState whose records may be any iterable (iterated once). */
export interface MvccStateInput {
  rev: number;
  compactRev: number;
  records: Iterable<BackendRecord>;
}

/** Called once per revision-making transaction with its revision and its changes in order. */
export type CommitListener = (rev: number, events: MvccEvent[]) => void;

export class MvccStore {
  private currentRev = 1;
  private compactMainRev = 0;
  private index = new TreeIndex();
  private readonly listeners = new Set<CommitListener>();
  private readonly restoreListeners = new Set<() => void>();

  /** @param backend where versions are stored; the compact in-memory SlabBackend by default. */
  constructor(private readonly backend: Backend = new SlabBackend()) {}

  /** The current revision (1 on a fresh store). */
  rev(): number {
    return this.currentRev;
  }

  /** The revision of the last compaction; 0 when the store was never compacted. */
  compactRevision(): number {
    return this.compactMainRev;
  }

  /**
   * Reads the keys in [key, rangeEnd) (range_end rules in TreeIndex.range) as of `opts.revision`
   * (0/undefined = current). `count` counts all matches; `more` is true when `limit` cut the result;
   * `revision` is the current revision.
   * @throws ErrFutureRev when opts.revision > rev(); ErrCompacted when opts.revision < compactRevision()
   *         (reading at exactly the compacted revision works, as in etcd).
   */
  range(key: Uint8Array, rangeEnd: Uint8Array | undefined, opts: RangeOptions = {}): RangeResult {
    let at = opts.revision ?? 0;
    if (at > this.currentRev) throw new ErrFutureRev();
    if (at <= 0) at = this.currentRev;
    if (at < this.compactMainRev) throw new ErrCompacted();
    return this.rangeAt(key, rangeEnd, at, opts);
  }

  /** Range without revision checks; `at` is a main revision. */
  private rangeAt(key: Uint8Array, rangeEnd: Uint8Array | undefined, at: number, opts: RangeOptions): RangeResult {
    const revs: Revision[] = [];
    for (const ki of this.index.range(key, rangeEnd)) {
      const v = ki.get(at);
      if (v) revs.push(v.modified);
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const kvs: KeyValue[] = [];
    if (!opts.countOnly) {
      const n = limit ? Math.min(limit, revs.length) : revs.length;
      for (let i = 0; i < n; i++) {
        const kv = this.backend.get(revs[i]!)!.kv;
        kvs.push(opts.keysOnly ? { ...kv, value: EMPTY } : { ...kv });
      }
    }
    return { kvs, count: revs.length, more: !opts.countOnly && limit > 0 && revs.length > limit, revision: this.currentRev };
  }

  /**
   * Puts `key` = `value` with `lease` (0n = none) at a new revision.
   * Returns that revision and the previous live version (for prev_kv).
   */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): { rev: number; prev?: KeyValue } {
    return this.write((tx) => tx.put(key, value, lease));
  }

  /**
   * Deletes the live keys in the range (range_end rules as in `range`). A new revision is made only when
   * something was deleted; `rev` is the store revision afterwards.
   */
  deleteRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): { rev: number; deleted: number; prevKvs: KeyValue[] } {
    return this.write((tx) => tx.deleteRange(key, rangeEnd));
  }

  /**
   * Runs `fn` as one write transaction: all its puts and deletes share one new revision (etcd Txn);
   * if it changes nothing the revision stays. `fn` must validate before writing: changes made before it
   * throws are kept (there is no rollback), and their revision is committed.
   */
  write<T>(fn: (tx: TxnWrite) => T): T {
    const begin = this.currentRev;
    const main = begin + 1;
    let sub = 0;
    const events: MvccEvent[] = [];
    const tx: TxnWrite = {
      range: (key, rangeEnd, opts = {}) => this.rangeAt(key, rangeEnd, sub > 0 ? main : begin, opts),
      put: (key, value, lease) => {
        const ki = this.index.getOrCreate(key);
        const prevAt = ki.get(main);
        const prev = prevAt ? this.backend.get(prevAt.modified)!.kv : undefined;
        const rev = { main, sub: sub++ };
        const given: KeyValue = {
          key,
          createRevision: prev ? prev.createRevision : main,
          modRevision: main,
          version: prev ? prev.version + 1 : 1,
          value,
          lease,
        };
        const kv = this.backend.put({ rev, kv: given, tombstone: false }).kv; // the backend's copy
        ki.put(rev);
        events.push(prev ? { type: 'put', kv, prevKv: prev } : { type: 'put', kv });
        return prev ? { rev: main, prev } : { rev: main };
      },
      deleteRange: (key, rangeEnd) => {
        const targets: { ki: KeyIndex; prev: KeyValue }[] = [];
        for (const ki of this.index.range(key, rangeEnd)) {
          const v = ki.get(main);
          if (v) targets.push({ ki, prev: this.backend.get(v.modified)!.kv });
        }
        for (const { ki, prev } of targets) {
          const rev = { main, sub: sub++ };
          const given: KeyValue = { key: ki.key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0n };
          const kv = this.backend.put({ rev, kv: given, tombstone: true }).kv;
          ki.tombstone(rev);
          events.push({ type: 'delete', kv, prevKv: prev });
        }
        return { rev: sub > 0 ? main : begin, deleted: targets.length, prevKvs: targets.map((t) => t.prev) };
      },
    };
    try {
      return fn(tx);
    } finally {
      if (sub > 0) {
        this.currentRev = main;
        for (const l of this.listeners) l(main, events);
      }
    }
  }

  /**
   * Discards versions not visible at or after `rev`: keeps, per key, the latest version at or before `rev`
   * (unless it is a delete) and everything after. Returns `rev`.
   * @throws ErrCompacted when rev <= compactRevision(); ErrFutureRev when rev > rev() (etcd's compact errors).
   */
  compact(rev: number): number {
    if (rev <= this.compactMainRev) throw new ErrCompacted();
    if (rev > this.currentRev) throw new ErrFutureRev();
    this.compactMainRev = rev;
    const keep = this.index.compact(rev);
    const drop: Revision[] = [];
    for (const rec of this.backend.range({ main: 0, sub: 0 }, { main: rev + 1, sub: 0 })) {
      if (!keep.has(revisionKey(rec.rev))) drop.push(rec.rev);
    }
    this.backend.remove(drop);
    return rev;
  }

  /**
   * The changes made at revisions >= `fromRev` (up to the current one), in order; puts carry prevKv when
   * the previous version is still stored. For catching up watchers.
   * @throws ErrCompacted when fromRev < compactRevision() (etcd's watch rule: those changes are gone);
   *         ErrFutureRev when fromRev > rev() + 1.
   */
  eventsSince(fromRev: number): { rev: number; event: MvccEvent }[] {
    if (fromRev > 0 && fromRev < this.compactMainRev) throw new ErrCompacted();
    if (fromRev > this.currentRev + 1) throw new ErrFutureRev();
    const out: { rev: number; event: MvccEvent }[] = [];
    for (const rec of this.backend.range({ main: Math.max(fromRev, 0), sub: 0 })) {
      const prevAt = this.index.get(rec.kv.key)?.get(rec.rev.main - 1);
      const prevRec = prevAt ? this.backend.get(prevAt.modified) : undefined;
      const event: MvccEvent = { type: rec.tombstone ? 'delete' : 'put', kv: { ...rec.kv } };
      if (prevRec) event.prevKv = { ...prevRec.kv };
      out.push({ rev: rec.rev.main, event });
    }
    return out;
  }

  /** Registers `l` to hear each committed write transaction; returns a function that unregisters it. */
  onCommit(l: CommitListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Registers `l` to hear that replaceState replaced the history without replaying every revision to the commit
   * listeners (the gap was compacted away); returns a function that unregisters it. The watchable store then
   * moves its live watchers back to catch-up, where a watcher whose next revision was compacted is canceled.
   */
  onRestore(l: () => void): () => void {
    this.restoreListeners.add(l);
    return () => this.restoreListeners.delete(l);
  }

  /**
   * The whole state: current and compacted revisions and every stored version in revision order
   * (the records are the backend's own objects: treat them as read-only). For snapshots.
   */
  exportState(): MvccState {
    return { rev: this.currentRev, compactRev: this.compactMainRev, records: [...this.backend.range({ main: 0, sub: 0 })] };
  }

  /**
   * Every stored version in revision order, built as it is iterated (no array of the whole history: for encoders
   * that stream, such as encodeMvccSnapshot). Do not write to the store while iterating.
   */
  records(): Iterable<BackendRecord> {
    return this.backend.range({ main: 0, sub: 0 });
  }

  /**
   * A store holding `state` (from `exportState`), its key index rebuilt from the records.
   * @throws Error when the records are not a valid history (a delete of a key that is not live).
   */
  static restore(state: MvccState, backend: Backend = new SlabBackend()): MvccStore {
    const st = new MvccStore(backend);
    st.loadState(state);
    return st;
  }

  /**
   * Loads `state` (from `exportState`) into this store in place, keeping its commit listeners (a member
   * starting from a Raft snapshot / restored backup). No listener is called.
   * @throws Error when this store is not fresh (revision 1, nothing stored) or the records are not a valid history.
   */
  loadState(state: MvccStateInput): void {
    if (this.currentRev !== 1 || this.backend.count() > 0) throw new Error('mvcc: loadState needs a fresh store');
    this.currentRev = state.rev;
    this.compactMainRev = state.compactRev;
    for (const rec of state.records) {
      this.backend.put(rec);
      const ki = this.index.getOrCreate(rec.kv.key);
      if (rec.tombstone) ki.tombstone(rec.rev);
      else ki.put(rec.rev, rec.kv.version);
    }
  }

  /**
   * Replaces this store's whole state with `state` in place (a follower installing a Raft snapshot from the
   * leader, Raft paper §7), keeping its commit listeners. When the new state continues this store's history
   * (its compacted revision is not above our current one), listeners then hear every revision after our old
   * current one, rebuilt from the new records (as etcd moves its watchers to the unsynced group after
   * restoring): watchers miss nothing. Returns how many revisions were replayed to listeners (-1 when the
   * gap was compacted away and could not be replayed).
   * With `replay` false the listeners are not called at all (returns 0): for a caller that knows nothing listens
   * for past revisions yet (a member restarting, before it serves clients).
   * @throws Error when the records are not a valid history (the store is then empty).
   */
  replaceState(state: MvccStateInput, replay = true): number {
    const oldRev = this.currentRev;
    const all: Revision[] = [];
    for (const rec of this.backend.range({ main: 0, sub: 0 })) all.push(rec.rev);
    this.backend.remove(all);
    this.index = new TreeIndex();
    this.currentRev = 1;
    this.compactMainRev = 0;
    this.loadState(state);
    if (state.rev <= oldRev || !replay) return 0;
    if (state.compactRev > oldRev) {
      for (const l of this.restoreListeners) l();
      return -1;
    }
    let replayed = 0;
    let batch: MvccEvent[] = [];
    let batchRev = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      for (const l of this.listeners) l(batchRev, batch);
      replayed++;
      batch = [];
    };
    for (const { rev, event } of this.eventsSince(oldRev + 1)) {
      if (rev !== batchRev) flush();
      batchRev = rev;
      batch.push(event);
    }
    flush();
    return replayed;
  }

  /** Approximate backend size in bytes (Status.dbSize; etcd_mvcc_db_total_size_in_bytes). */
  sizeBytes(): number {
    return this.backend.sizeBytes();
  }

  /** Number of keys that still have history (live or not yet compacted). */
  keyCount(): number {
    return this.index.size();
  }
}

/** Byte-wise comparison of two keys (negative, zero, positive), the order of range reads. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

