/**
 * The Raft log: stable entries (read through Storage) followed by unstable ones (appended in
 * memory, handed to the node loop in Ready.entries and marked stable by advance()).
 * Tracks `committed` (Raft paper Figure 2, commitIndex) and `applied` (lastApplied).
 */
import { CompactedError, type Storage, UnavailableError, limitSize } from './storage.js';
import { type Entry, type Snapshot } from './types.js';

/** Entries (and possibly a snapshot) not yet written to stable storage. */
class Unstable {
  /** Index of entries[0]; the first index not yet known to be stable. */
  offset: number;
  entries: Entry[] = [];
  snapshot?: Snapshot;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** Term at `index` if this part knows it, else undefined. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.meta.index === index) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== undefined) return this.snapshot.meta.index;
    return undefined;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot !== undefined ? this.snapshot.meta.index + 1 : undefined;
  }

  /** Appends, replacing any suffix from ents[0].index on (a conflicting tail, §5.3). */
  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // Replaces everything unstable; the node loop overwrites the stable suffix too.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries up to (index, term) reached stable storage. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }
}

/** The whole log as raft reasons about it. */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (Figure 2 commitIndex). */
  committed: number;
  /** Highest index handed out for application (Figure 2 lastApplied). */
  applied: number;
  /** Byte budget for committed entries handed out in one Ready. */
  private readonly maxApplyBytes: number | undefined;

  constructor(storage: Storage, maxApplyBytes?: number) {
    this.storage = storage;
    this.maxApplyBytes = maxApplyBytes;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of the entry at `index`. Throws CompactedError / UnavailableError. */
  term(index: number): number {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  /** Term of the entry at `index`, or 0 when it is compacted or beyond the end. */
  termOrZero(index: number): number {
    if (index > this.lastIndex()) return 0; // fast path: no UnavailableError (an Error's stack capture) per new entry
    try {
      return this.term(index);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex()) return false; // fast path, as termOrZero: every appended entry past the end lands here
    try {
      return this.term(index) === term;
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return false;
      throw e;
    }
  }

  /**
   * The follower side of AppendEntries (§5.3): if the entry at `index` has `logTerm`, append
   * `ents` after it (truncating from the first conflicting entry), advance the commit index to
   * min(committed, last new index) and return the last new index; otherwise undefined.
   * Throws if a conflict falls at or below the commit index (a safety violation).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`raft: entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries (replacing a conflicting unstable tail); returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`raft: after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry of `ents` whose term differs from ours (or that we do not have),
   * 0 when all of them are already present.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking (thesis §5.3 / etcd): the largest index <= `index` whose term is <= `term`
   * (or the compaction point). Lets the leader skip a whole term of mismatching entries at once.
   */
  findConflictByTerm(index: number, term: number): number {
    const last = this.lastIndex();
    if (index > last) return index;
    const floor = this.firstIndex() - 1;
    while (index > floor) {
      const t = this.termOrZero(index);
      if (t <= term) break;
      index--;
    }
    return index;
  }

  /** The election restriction (§5.4.1): is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Raises the commit index. Throws if `index` is beyond the log's end (corruption or a bug). */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft: tocommit(${index}) is out of range [lastIndex(${this.lastIndex()})]`);
    }
    this.committed = index;
  }

  /**
   * The leader's commit rule (§5.4.2): commit `maxIndex` only if its entry is from `term`
   * (the leader's current term). Returns whether the commit index moved.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`raft: applied(${index}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = index;
  }

  /** Entries [lo, hi) across storage and the unstable part; `maxBytes` as in Storage.entries. */
  slice(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      ents = this.storage.entries(lo, Math.min(hi, uoff), maxBytes);
      // Storage cut the batch short: do not add unstable entries after the gap.
      if (ents.length < Math.min(hi, uoff) - lo) return ents;
    }
    if (hi > uoff) {
      const from = Math.max(lo, uoff);
      const u = this.unstable.entries.slice(from - uoff, hi - uoff);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }

  /** Entries from `index` to the end, limited to `maxBytes`. Throws CompactedError. */
  entriesFrom(index: number, maxBytes?: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out for application (none while a snapshot is pending). */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, this.maxApplyBytes);
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** The snapshot to send to a lagging follower: the unstable one if any, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log by a snapshot (§7 InstallSnapshot on the follower). */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
