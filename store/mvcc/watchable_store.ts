/**
 * The watchable store: watchers over an MvccStore's history (etcd server/storage/mvcc/watchable_store.go,
 * watcher.go; the guarantees of https://etcd.io/docs/v3.4/learning/api_guarantees/ "Watch APIs"):
 * - ordered: a watcher sees events in revision order;
 * - unique: an event is delivered once (a watcher's `minRev` is the next revision it has not been sent);
 * - atomic: all of one revision's events for a watcher go in one response;
 * - reliable / resumable: a watcher that falls behind catches up from history, or is canceled with the
 *   compaction revision when the history it needs was compacted.
 *
 * Watchers live in two groups, as in etcd: `synced` watchers get each committed revision from the store's
 * onCommit hook as it happens; `unsynced` watchers (started in the past, or whose stream's buffer was full)
 * are caught up from `MvccStore.eventsSince` by `syncWatchers`, run on a timer and whenever a stream's buffer
 * drains. A stream's buffer is bounded (`bufferLimit` responses): when a synced watcher's revision does not fit,
 * the watcher moves to unsynced instead of the write waiting, so a slow reader never stalls the apply loop.
 *
 * Everything here runs on the event loop: notify (inside apply), sync and the reader never interleave.
 */
import { compareKeys, type MvccStore } from './kvstore.js';
import { MvccError } from './errors.js';
import type { MvccEvent } from './types.js';

/** Two watchers on one stream asked for the same ID (etcd mvcc ErrWatcherDuplicateID). */
export class ErrWatcherDuplicateID extends MvccError {
  override readonly name = 'ErrWatcherDuplicateID';
  constructor() {
    super('mvcc: duplicate watch ID provided on the WatchStream');
  }
}

/** A watch whose key >= range_end (etcd mvcc ErrEmptyWatcherRange). */
export class ErrEmptyWatcherRange extends MvccError {
  override readonly name = 'ErrEmptyWatcherRange';
  constructor() {
    super('mvcc: watcher range is empty');
  }
}

/** Event filters of WatchCreateRequest (etcd's NOPUT = 0, NODELETE = 1). */
export enum WatchFilter { NoPut = 0, NoDelete = 1 }

/**
 * One response of a watch stream, before conversion to the wire. `watchId` -1 is a stream-wide progress
 * response. `revision` is the header revision: the event's revision for live events, the store revision at
 * catch-up time for history, the current revision for progress, 0 for a compaction cancel (as etcd).
 */
export interface WatchResponse {
  watchId: number;
  events: MvccEvent[];
  revision: number;
  /** Set (with canceled) when the watcher's start was compacted away. */
  compactRevision?: number;
  created?: boolean;
  canceled?: boolean;
  cancelReason?: string;
}

/** Tuning of a WatchableStore. */
export interface WatchableOptions {
  /** Responses a stream buffers before its watchers fall back to unsynced (etcd chanBufLen: 128). */
  bufferLimit?: number;
  /** Most revisions in one catch-up response (etcd watchBatchMaxRevs: 1000). */
  maxRevsPerResponse?: number;
  /** Period of the unsynced catch-up loop in ms (etcd: 100 ms). */
  syncIntervalMs?: number;
}

/** The sentinel that asks a stream to choose the watch ID (etcd AutoWatchID). */
export const AUTO_WATCH_ID = 0;

interface Watcher {
  id: number;
  key: Uint8Array;
  /** undefined: single key; empty: every key >= key; else [key, end). */
  end: Uint8Array | undefined;
  /** The next revision this watcher needs. */
  minRev: number;
  filters: WatchFilter[];
  stream: WatchStream;
  state: 'synced' | 'unsynced' | 'compacted' | 'canceled';
}

const keyId = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');

function inRange(w: Watcher, key: Uint8Array): boolean {
  if (w.end === undefined) return compareKeys(w.key, key) === 0;
  if (compareKeys(key, w.key) < 0) return false;
  return w.end.length === 0 || compareKeys(key, w.end) < 0;
}

function filtered(w: Watcher, evs: MvccEvent[]): MvccEvent[] {
  if (w.filters.length === 0) return evs;
  const noPut = w.filters.includes(WatchFilter.NoPut);
  const noDel = w.filters.includes(WatchFilter.NoDelete);
  return evs.filter((e) => !(e.type === 'put' ? noPut : noDel));
}

/** A set of watchers indexed for matching: single keys by key, ranges in a list. */
class WatcherGroup {
  private readonly single = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  size = 0;

  add(w: Watcher): void {
    if (w.end === undefined) {
      const k = keyId(w.key);
      let s = this.single.get(k);
      if (!s) this.single.set(k, (s = new Set()));
      s.add(w);
    } else this.ranges.add(w);
    this.size++;
  }

  delete(w: Watcher): boolean {
    let ok: boolean;
    if (w.end === undefined) {
      const k = keyId(w.key);
      const s = this.single.get(k);
      ok = !!s && s.delete(w);
      if (s && s.size === 0) this.single.delete(k);
    } else ok = this.ranges.delete(w);
    if (ok) this.size--;
    return ok;
  }

  has(w: Watcher): boolean {
    return w.end === undefined ? !!this.single.get(keyId(w.key))?.has(w) : this.ranges.has(w);
  }

  /** Watchers whose range holds `key`. */
  *matching(key: Uint8Array): Iterable<Watcher> {
    const s = this.single.get(keyId(key));
    if (s) yield* s;
    for (const w of this.ranges) if (inRange(w, key)) yield w;
  }

  *all(): Iterable<Watcher> {
    for (const s of this.single.values()) yield* s;
    yield* this.ranges;
  }
}

/** Watchers over one MvccStore. Create streams with `newWatchStream`; `close` stops the catch-up timer. */
export class WatchableStore {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new WatcherGroup();
  private readonly bufferLimit: number;
  private readonly maxRevs: number;
  private readonly syncIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private kickPending = false;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeRestore: () => void;
  private closed = false;

  constructor(readonly kv: MvccStore, opts: WatchableOptions = {}) {
    this.bufferLimit = Math.max(1, opts.bufferLimit ?? 128);
    this.maxRevs = Math.max(1, opts.maxRevsPerResponse ?? 1000);
    this.syncIntervalMs = opts.syncIntervalMs ?? 100;
    this.unsubscribe = kv.onCommit((rev, events) => this.notify(rev, events));
    this.unsubscribeRestore = kv.onRestore(() => this.restored());
  }

  /**
   * The store's history was replaced by a snapshot whose compaction passed some watchers' next revision
   * (MvccStore.replaceState): every live watcher goes back to catch-up (etcd watchableStore.Restore), so one
   * whose minRev was compacted is canceled with the compaction revision instead of silently skipping the gap.
   */
  private restored(): void {
    for (const w of [...this.synced.all()]) {
      this.synced.delete(w);
      w.state = 'unsynced';
      this.unsynced.add(w);
    }
    this.kick();
  }

  /** A new stream (one per gRPC Watch call) carrying many watchers. */
  newWatchStream(): WatchStream {
    return new WatchStream(this, this.bufferLimit);
  }

  /** Counts for metrics and tests (etcd_debugging_mvcc_watcher_total, slow_watcher_total). */
  stats(): { synced: number; unsynced: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size };
  }

  /** Stop listening to the store and stop the catch-up timer. Open streams stop receiving events. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.unsubscribeRestore();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** @internal register a watcher (WatchStream.watch). */
  add(w: Watcher): void {
    if (w.minRev > this.kv.rev()) {
      w.state = 'synced';
      this.synced.add(w);
    } else {
      w.state = 'unsynced';
      this.unsynced.add(w);
      this.kick();
    }
  }

  /** @internal remove a watcher from whichever group holds it. */
  remove(w: Watcher): void {
    this.synced.delete(w);
    this.unsynced.delete(w);
  }

  /** @internal whether every given watcher is synced (progress requests are answered only then). */
  allSynced(ws: Iterable<Watcher>): boolean {
    for (const w of ws) if (w.state === 'unsynced') return false;
    return true;
  }

  /** Live path: one committed write transaction (all events share `rev`). Never blocks. */
  private notify(rev: number, events: MvccEvent[]): void {
    const per = new Map<Watcher, MvccEvent[]>();
    for (const ev of events) {
      for (const w of this.synced.matching(ev.kv.key)) {
        if (rev < w.minRev) continue;
        let l = per.get(w);
        if (!l) per.set(w, (l = []));
        l.push(ev);
      }
    }
    for (const [w, evs] of per) {
      const out = filtered(w, evs);
      if (out.length > 0 && !w.stream.offer({ watchId: w.id, events: out, revision: rev })) {
        // the reader is behind: fall back to history from this revision instead of waiting
        w.minRev = rev;
        this.synced.delete(w);
        w.state = 'unsynced';
        this.unsynced.add(w);
        this.kick();
        continue;
      }
      w.minRev = rev + 1;
    }
    // watchers whose minRev this revision passed without matching still track the store revision
  }

  /** Run a catch-up pass soon (a watcher became unsynced, or a stream drained). */
  kick(): void {
    if (this.closed || this.unsynced.size === 0 || this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      this.syncWatchers();
    });
  }

  private arm(): void {
    if (this.closed || this.timer || this.unsynced.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.syncWatchers();
    }, this.syncIntervalMs);
    this.timer.unref();
  }

  /**
   * Catch unsynced watchers up from history (etcd syncWatchers): a watcher whose minRev was compacted away
   * gets a canceled response with the compaction revision; others get their events in responses of whole
   * revisions while their stream has room, then move to synced. Returns the number still unsynced.
   */
  syncWatchers(): number {
    if (this.closed || this.unsynced.size === 0) return 0;
    const cur = this.kv.rev();
    const compactRev = this.kv.compactRevision();
    const ready: Watcher[] = [];
    const touched = new Set<WatchStream>();
    for (const w of [...this.unsynced.all()]) {
      if (!w.stream.hasRoom()) continue;
      if (w.minRev < compactRev) {
        this.unsynced.delete(w);
        touched.add(w.stream);
        w.state = 'compacted';
        w.stream.offer({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev, canceled: true }, true);
        continue;
      }
      ready.push(w);
    }
    if (ready.length > 0) {
      const from = Math.min(...ready.map((w) => w.minRev));
      const history = from <= cur ? this.kv.eventsSince(from) : [];
      for (const w of ready) this.catchUp(w, history, cur);
    }
    for (const w of ready) touched.add(w.stream);
    for (const s of touched) s.checkProgress();
    this.arm();
    return this.unsynced.size;
  }

  private catchUp(w: Watcher, history: { rev: number; event: MvccEvent }[], cur: number): void {
    // events for w from minRev, grouped by revision
    let i = lowerBound(history, w.minRev);
    let batch: MvccEvent[] = [];
    let revs = 0;
    let lastRev = 0;
    while (i < history.length) {
      const { rev, event } = history[i]!;
      if (rev !== lastRev) {
        if (revs === this.maxRevs) {
          if (!this.flush(w, batch, cur, rev)) return;
          batch = [];
          revs = 0;
        }
        lastRev = rev;
        revs++;
      }
      if (inRange(w, event.kv.key)) batch.push(event);
      i++;
    }
    if (!this.flush(w, batch, cur, cur + 1)) return;
    this.unsynced.delete(w);
    w.state = 'synced';
    this.synced.add(w);
  }

  /** Send a catch-up batch; on success minRev = nextRev. False (watcher stays unsynced) when the stream is full. */
  private flush(w: Watcher, batch: MvccEvent[], cur: number, nextRev: number): boolean {
    const out = filtered(w, batch);
    if (out.length > 0 && !w.stream.offer({ watchId: w.id, events: out, revision: cur })) return false;
    w.minRev = nextRev;
    return true;
  }

  /** @internal the current revision and, when `w` is synced, a progress response for it. */
  progressFor(w: Watcher): WatchResponse | undefined {
    return w.state === 'synced' ? { watchId: w.id, events: [], revision: this.kv.rev() } : undefined;
  }
}

function lowerBound(h: { rev: number }[], rev: number): number {
  let lo = 0;
  let hi = h.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h[mid]!.rev < rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One client's watch stream (a gRPC Watch call): its watchers and one ordered, bounded queue of responses.
 * The reader takes responses with `next()` and is told by `onReadable` when the queue becomes non-empty.
 */
export class WatchStream {
  private readonly watchers = new Map<number, Watcher>();
  private readonly queue: WatchResponse[] = [];
  private nextId = AUTO_WATCH_ID;
  private readable: (() => void) | undefined;
  private progressPending = false;
  private closed = false;

  constructor(private readonly store: WatchableStore, private readonly limit: number) {}

  /** The store's current revision. */
  rev(): number {
    return this.store.kv.rev();
  }

  /**
   * Add a watcher on [key, end) (end undefined: the single key; empty: every key >= key) from `startRev`
   * (the first revision it wants; must be > 0: callers map 0 to rev() + 1). `id` AUTO_WATCH_ID (0) picks the
   * lowest free ID counting from 0 as etcd does. Returns the ID. Never sends anything synchronously.
   * @throws ErrEmptyWatcherRange when end is set and key >= end (or the stream is closed);
   *         ErrWatcherDuplicateID when `id` is in use on this stream.
   */
  watch(id: number, key: Uint8Array, end: Uint8Array | undefined, startRev: number, filters: WatchFilter[] = []): number {
    if (this.closed || (end !== undefined && end.length > 0 && compareKeys(key, end) >= 0)) throw new ErrEmptyWatcherRange();
    if (id === AUTO_WATCH_ID) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) throw new ErrWatcherDuplicateID();
    const w: Watcher = { id, key: Uint8Array.from(key), end: end && Uint8Array.from(end), minRev: Math.max(1, startRev), filters: [...filters], stream: this, state: 'synced' };
    this.watchers.set(id, w);
    this.store.add(w);
    return id;
  }

  /** Remove watcher `id`. False when there is no such watcher (etcd answers nothing then). */
  cancel(id: number): boolean {
    const w = this.watchers.get(id);
    if (!w) return false;
    this.watchers.delete(id);
    this.store.remove(w);
    w.state = 'canceled';
    this.checkProgress();
    return true;
  }

  /** IDs of the watchers on this stream. */
  ids(): number[] {
    return [...this.watchers.keys()];
  }

  /**
   * Queue a progress response for watcher `id` (periodic progress_notify) when it is synced and the buffer has
   * room; otherwise nothing (etcd drops it too: the next one comes a period later). Returns whether one was queued.
   */
  requestProgress(id: number): boolean {
    const w = this.watchers.get(id);
    if (!w || !this.hasRoom()) return false;
    const r = this.store.progressFor(w);
    return r ? this.offer(r) : false;
  }

  /**
   * A WatchProgressRequest: queue a response with watch ID -1 and the current revision once every watcher of
   * this stream is synced (so every event up to that revision is queued before it); deferred until then.
   */
  requestProgressAll(): void {
    this.progressPending = true;
    this.checkProgress();
  }

  /** @internal answer a deferred progress request if every watcher is now synced. */
  checkProgress(): void {
    if (!this.progressPending || this.closed) return;
    if (!this.store.allSynced(this.watchers.values())) return;
    this.progressPending = false;
    this.offer({ watchId: -1, events: [], revision: this.rev() }, true);
  }

  /** Queue a control response (created, canceled, errors) regardless of the buffer limit. */
  pushControl(r: WatchResponse): void {
    this.offer(r, true);
  }

  /** @internal whether an event response fits in the buffer. */
  hasRoom(): boolean {
    return !this.closed && this.queue.length < this.limit;
  }

  /** @internal queue `r`; false (nothing queued) when full, unless `force`. */
  offer(r: WatchResponse, force = false): boolean {
    if (this.closed) return true;
    if (!force && this.queue.length >= this.limit) return false;
    this.queue.push(r);
    if (this.queue.length === 1 && this.readable) this.readable();
    return true;
  }

  /** Take the oldest queued response, if any. Taking makes room: stalled watchers are caught up soon after. */
  next(): WatchResponse | undefined {
    const r = this.queue.shift();
    if (r && this.queue.length < this.limit) this.store.kick();
    return r;
  }

  /** Number of queued responses. */
  pending(): number {
    return this.queue.length;
  }

  /** Call `fn` whenever the queue goes from empty to non-empty. */
  onReadable(fn: () => void): void {
    this.readable = fn;
  }

  /** Remove every watcher and drop queued responses. */
  close(): void {
    if (this.closed) return;
    for (const w of this.watchers.values()) {
      this.store.remove(w);
      w.state = 'canceled';
    }
    this.watchers.clear();
    this.queue.length = 0;
    this.closed = true;
  }
}
