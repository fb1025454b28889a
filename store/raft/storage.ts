/**
 * The stable part of the Raft log as raft sees it, and an in-memory implementation.
 *
 * Raft only reads through `Storage`; the node loop writes (after fsync in a real server).
 * Modelled on etcd-io/raft's storage.go: the storage keeps a "dummy" position holding the
 * index and term of the last compacted entry (the snapshot's), so `term(firstIndex() - 1)`
 * always answers (Raft paper §7, log compaction).
 */
import { type Entry, EntryType, type HardState, type NodeId, type Snapshot, NONE } from './types.js';

/** Thrown when the requested index lies at or below the last compaction point (§7). */
export class CompactedError extends Error {
  constructor(index: number) {
    super(`raft: requested index ${index} is unavailable due to compaction`);
    this.name = 'CompactedError';
  }
}

/** Thrown when the requested index is beyond the last index held by storage. */
export class UnavailableError extends Error {
  constructor(index: number) {
    super(`raft: requested entry at index ${index} is unavailable`);
    this.name = 'UnavailableError';
  }
}

/** Thrown by `applySnapshot`/`createSnapshot` when the snapshot is not newer than the current one. */
export class SnapshotOutOfDateError extends Error {
  constructor(index: number, current: number) {
    super(`raft: snapshot at index ${index} is older than the current snapshot at ${current}`);
    this.name = 'SnapshotOutOfDateError';
  }
}

/** The read-only view of durable state that raft needs. */
export interface Storage {
  /** The persisted hard state and the voter set (from the last snapshot, or as configured). */
  initialState(): { hardState: HardState; voters: NodeId[]; learners?: NodeId[] };
  /**
   * Entries in [lo, hi). When `maxBytes` is given the result is cut after the first entry that
   * makes the sum of `data` lengths exceed it (at least one entry is always returned).
   * Throws CompactedError when lo < firstIndex(), UnavailableError when hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of the entry at `index`, for firstIndex()-1 <= index <= lastIndex(). Throws CompactedError / UnavailableError. */
  term(index: number): number;
  /** Index of the first entry still available (the snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The most recent snapshot (index 0 and empty data when there is none). */
  snapshot(): Snapshot;
}

/** Sums `data` lengths and cuts `ents` after the entry that first exceeds `maxBytes` (keeps at least one). */
export function limitSize(ents: Entry[], maxBytes: number | undefined): Entry[] {
  if (maxBytes === undefined || ents.length === 0) return ents;
  let size = ents[0]!.data.length;
  let n = 1;
  for (; n < ents.length; n++) {
    size += ents[n]!.data.length;
    if (size > maxBytes) break;
  }
  return ents.slice(0, n);
}

/**
 * Where the data of a durable snapshot can be read back (the node's snapshot files), so MemoryStorage need not keep
 * it in memory: with 1M keys a snapshot is hundreds of MiB, and raft only reads it to send MsgSnap (etcd too reads
 * the snapshot from disk to send it). Both calls are synchronous.
 */
export interface SnapshotDataSource {
  /** True when load(index) would find the snapshot taken at `index`. */
  has(index: number): boolean;
  /** The data of the snapshot at `index`, or undefined when it is gone. May throw on damaged files. */
  load(index: number): Uint8Array | undefined;
}

/**
 * An in-memory Storage: the reference implementation raft's tests run on, and the model of the
 * "disk" in the simulation. `ents[0]` is a dummy entry holding the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot;
  /** Set by setSnapshotSource: where a released snapshot's data is read back from. */
  private snapSource: SnapshotDataSource | undefined;
  /** True when `snap.data` was dropped (it is read back from snapSource on demand). */
  private snapReleased = false;
  /** The last data read back, while something still holds it (several followers sent the same snapshot). */
  private snapCache: { index: number; data: WeakRef<Uint8Array> } | undefined;
  private ents: Entry[];
  private readonly configuredVoters: NodeId[];
  private readonly configuredLearners: NodeId[];

  /** `voters` (and `learners`) are what initialState() reports until a snapshot carries its own configuration. */
  constructor(voters: NodeId[] = [], learners: NodeId[] = []) {
    this.configuredVoters = [...voters];
    this.configuredLearners = [...learners];
    this.snap = { meta: { index: 0, term: 0, voters: [] }, data: new Uint8Array(0) };
    this.ents = [dummy(0, 0)];
  }

  initialState(): { hardState: HardState; voters: NodeId[]; learners: NodeId[] } {
    const fromSnap = this.snap.meta.voters.length > 0;
    const voters = fromSnap ? this.snap.meta.voters : this.configuredVoters;
    const learners = fromSnap ? (this.snap.meta.learners ?? []) : this.configuredLearners;
    return { hardState: { ...this.hardState }, voters: [...voters], learners: [...learners] };
  }

  /** Records the hard state (what a WAL would fsync). */
  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(index: number): number {
    const off = this.offset();
    if (index < off) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    return this.ents[index - off]!.term;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  /**
   * The most recent snapshot. When its data was released (releaseSnapshotData) it is read back from the snapshot
   * source. @throws Error naming the index when the source no longer has it.
   */
  snapshot(): Snapshot {
    if (!this.snapReleased) return this.snap;
    const index = this.snap.meta.index;
    const cached = this.snapCache?.index === index ? this.snapCache.data.deref() : undefined;
    if (cached) return { meta: this.snap.meta, data: cached };
    const data = this.snapSource?.load(index);
    if (!data) throw new Error(`raft: the data of the snapshot at index ${index} is no longer available from the snapshot files (fix: restore the member's member/snap directory, or remove the member and add it back)`);
    this.snapCache = { index, data: new WeakRef(data) };
    return { meta: this.snap.meta, data };
  }

  /** Metadata (index, term, configuration) of the most recent snapshot, without reading its data. */
  snapshotMeta(): Snapshot['meta'] {
    return this.snap.meta;
  }

  /**
   * Registers where durable snapshots can be read back from, and releases the current snapshot's data if the source
   * has it. From then on applySnapshot releases the data of snapshots the source has (they are persisted first).
   */
  setSnapshotSource(src: SnapshotDataSource): void {
    this.snapSource = src;
    this.releaseSnapshotData();
  }

  /**
   * Drops the current snapshot's data from memory when the snapshot source has it (call once it is durable);
   * snapshot() then reads it back on demand. Returns true when released.
   */
  releaseSnapshotData(): boolean {
    const index = this.snap.meta.index;
    if (this.snapReleased || !this.snapSource || index === 0 || this.snap.data.length === 0) return this.snapReleased;
    if (!this.snapSource.has(index)) return false;
    this.snap = { meta: this.snap.meta, data: new Uint8Array(0) };
    this.snapReleased = true;
    return true;
  }

  /**
   * Appends entries, overwriting any existing suffix from `ents[0].index` on (what a follower does
   * when the leader's log conflicts with its own, §5.3). Entries at or below the compaction point
   * are ignored. Throws when `ents` would leave a gap after lastIndex().
   */
  append(ents: Entry[]): void {
    if (ents.length === 0) return;
    const first = this.firstIndex();
    const last = ents[ents.length - 1]!.index;
    if (last < first) return;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const start = ents[0]!.index - this.offset();
    if (start > this.ents.length) {
      throw new Error(`raft: missing log entries [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
    // in place: a copy of the whole log per append costs O(log length) time and garbage per Ready (with 100k
    // entries an 800 KB array each time); nothing outside keeps a reference to this.ents (entries() returns a slice)
    if (start < this.ents.length) this.ents.length = start;
    for (const e of ents) this.ents.push(e);
  }

  /**
   * Replaces the whole log with a snapshot received from the leader (§7, InstallSnapshot).
   * Throws SnapshotOutOfDateError when it is not newer than the current snapshot.
   */
  applySnapshot(s: Snapshot): void {
    if (s.meta.index <= this.snap.meta.index) throw new SnapshotOutOfDateError(s.meta.index, this.snap.meta.index);
    this.snap = s;
    this.snapReleased = false;
    this.ents = [dummy(s.meta.index, s.meta.term)];
    this.releaseSnapshotData();
  }

  /**
   * Records a snapshot of the state machine taken at `index` (<= lastIndex()), without discarding
   * entries; call compact() afterwards. Throws SnapshotOutOfDateError / UnavailableError.
   */
  createSnapshot(index: number, voters: NodeId[], data: Uint8Array, learners: NodeId[] = []): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(index, this.snap.meta.index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.snap = { meta: { index, term: this.term(index), voters: [...voters], ...(learners.length > 0 ? { learners: [...learners] } : {}) }, data };
    this.snapReleased = false;
    return this.snap;
  }

  /**
   * Discards entries up to and including `index` (they must be covered by a snapshot the
   * application keeps). Throws CompactedError when already compacted, UnavailableError when
   * index > lastIndex().
   */
  compact(index: number): void {
    const off = this.offset();
    if (index <= off) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const i = index - off;
    this.ents = [dummy(this.ents[i]!.index, this.ents[i]!.term), ...this.ents.slice(i + 1)];
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
