/**
 * The write-ahead log under the Raft log: hard state, entries and snapshot markers appended to segment
 * files in one directory (`<data-dir>/member/wal/`), replayed on restart. Modelled on etcd's
 * server/storage/wal (segments `%016x-%016x.wal`, metadata at the head of each segment, torn-tail repair),
 * with our own record framing (see record.ts).
 *
 * Durability: `save` encodes a whole Ready (entries + hard state) into one buffer, issues one write and one
 * fdatasync. `create` builds the WAL in `<dir>.tmp` and renames it into place, so a crash mid-create leaves
 * no half WAL. A new segment is cut once the current one passes `segmentBytes` (default 64 MB).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { WalCorruptError, WalIoError, WalStateError } from './errors.js';
import { RecordType, encodeRecords, type WalMetadata, type WalRecord } from './record.js';
import { parseSegmentName, scanSegment, segmentName } from './segment.js';

export { WalCorruptError, WalIoError, WalStateError } from './errors.js';
export type { WalMetadata } from './record.js';

/** Segment size after which a new segment is cut, in bytes (etcd's SegmentSizeBytes). */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** Tuning and observation hooks; all optional. */
export interface WalOptions {
  /** Cut a new segment once the current one reaches this many bytes (default 64 MB; tests use small values). */
  segmentBytes?: number;
  /** Called after each fdatasync with its duration in seconds (for etcd_disk_wal_fsync_duration_seconds). */
  onFsync?: (seconds: number) => void;
  /**
   * Test only (store/server/fault_switches.ts): after every fdatasync write `<dir>/synced.mark` holding
   * "<segment sequence, 16 hex digits> <byte offset>", the durable prefix of the WAL, so a fault harness can cut off what a
   * killed process wrote but never synced.
   */
  syncMarker?: boolean;
  /** Test only, a deliberately broken WAL: never fdatasync appended records (cuts and creates still sync). */
  unsafeNoSync?: boolean;
}

/** Name of the test-only durable-prefix marker file in the WAL directory (WalOptions.syncMarker). */
export const SYNC_MARKER_FILE = 'synced.mark';

/** What `Wal.open` replays. */
export interface WalReadResult {
  wal: Wal;
  meta: WalMetadata;
  /** The last hard state saved ({term: 0, vote: 0n, commit: 0} when none). */
  hardState: HardState;
  /** The log after the last snapshot marker (index > snapshot.index), tail overwrites applied. */
  entries: Entry[];
  /** The last snapshot marker saved with `saveSnapshot`, if any. */
  snapshot?: SnapshotMeta;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0n, commit: 0 };

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Records up to this many bytes are written with a synchronous write(2) (a page-cache copy of a few µs) instead of
 * a thread-pool round trip: one event-loop turn less per save, and an unsynced save (sync: false) resolves without
 * one at all. Larger buffers keep the asynchronous write so a big batch does not block the loop.
 */
const SYNC_WRITE_MAX_BYTES = 1024 * 1024;

function writeFullySync(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

async function writeFully(fh: fsp.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes `records` to a new file `tmpPath`, fsyncs it, renames it to `finalPath` and fsyncs the directory. */
async function writeNewSegment(tmpPath: string, finalPath: string, records: WalRecord[]): Promise<number> {
  const buf = encodeRecords(records);
  try {
    const fh = await fsp.open(tmpPath, 'w', 0o600);
    try {
      await writeFully(fh, buf, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    // e.g. ENOSPC: drop the half-written file (Wal.open would remove it too) and name it
    await fsp.rm(tmpPath, { force: true }).catch(() => undefined);
    throw new WalIoError(tmpPath, 'creating a new segment', err);
  }
  await fsp.rename(tmpPath, finalPath);
  await fsyncDir(path.dirname(finalPath));
  return buf.length;
}

function listSegments(dir: string): { name: string; seq: number; index: number }[] {
  const out: { name: string; seq: number; index: number }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const p = parseSegmentName(name);
    if (p) out.push({ name, ...p });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export class Wal {
  private readonly segmentBytes: number;
  private readonly onFsync?: (seconds: number) => void;
  private readonly syncMarker: boolean;
  private readonly unsafeNoSync: boolean;
  /** Serialises saves: each waits for the previous one. */
  private queue: Promise<void> = Promise.resolve();
  private failed?: Error;
  private closed = false;
  /** The last write was not followed by fdatasync (save with sync: false). */
  private unsynced = false;

  private constructor(
    /** The WAL directory. */
    readonly dir: string,
    readonly meta: WalMetadata,
    private fh: fsp.FileHandle,
    private seq: number,
    /** Bytes in the current segment (where the next write goes). */
    private offset: number,
    private last: number,
    private hardState: HardState,
    private snapshot: SnapshotMeta | undefined,
    opts: WalOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.onFsync = opts.onFsync;
    this.syncMarker = opts.syncMarker === true;
    this.unsafeNoSync = opts.unsafeNoSync === true;
    this.markSynced();
  }

  /** WalOptions.syncMarker: record the durable prefix (current segment, offset). */
  private markSynced(): void {
    if (!this.syncMarker) return;
    const tmp = path.join(this.dir, `${SYNC_MARKER_FILE}.tmp`);
    try {
      fs.writeFileSync(tmp, `${segmentName(this.seq, 0).slice(0, 16)} ${this.offset}\n`);
      fs.renameSync(tmp, path.join(this.dir, SYNC_MARKER_FILE));
    } catch (err) {
      throw new WalIoError(tmp, 'writing the sync marker', err);
    }
  }

  /** True when `dir` exists and holds at least one segment file. Never throws. */
  static exists(dir: string): boolean {
    try {
      return listSegments(dir).length > 0;
    } catch {
      return false;
    }
  }

  /**
   * Creates a new WAL in `dir` (its parent is created if needed) holding only `meta`.
   * Built in `<dir>.tmp` (file fsynced, directory fsynced), renamed to `dir`, parent fsynced.
   * @throws WalStateError when `dir` already holds a WAL; fs errors as thrown by node:fs.
   */
  static async create(dir: string, meta: WalMetadata, opts: WalOptions = {}): Promise<Wal> {
    if (Wal.exists(dir)) throw new WalStateError(`wal: ${dir} already holds a WAL`);
    const parent = path.dirname(dir);
    await fsp.mkdir(parent, { recursive: true });
    const tmp = `${dir}.tmp`;
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.mkdir(tmp, { mode: 0o700 });
    const name = segmentName(0, 0);
    const size = await writeNewSegment(path.join(tmp, `${name}.tmp`), path.join(tmp, name), [
      { type: RecordType.Metadata, meta },
    ]);
    await fsp.rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // a non-empty directory without segments is not ours to remove
    });
    await fsp.rename(tmp, dir);
    await fsyncDir(parent);
    const fh = await fsp.open(path.join(dir, name), 'r+');
    return new Wal(dir, meta, fh, 0, size, 0, { ...EMPTY_HARD_STATE }, undefined, opts);
  }

  /**
   * Opens and replays the WAL in `dir`. Entries are applied in order; an entry whose index is <= the last
   * one seen replaces the tail from that index (Raft log truncation). A torn write at the end of the last
   * segment is cut off (the file is truncated to the last good record and fsynced).
   * @throws WalStateError when `dir` holds no WAL.
   * @throws WalCorruptError (file, offset) for a bad CRC or malformed record anywhere else, a missing
   *         segment, a segment without metadata, mismatched metadata, or a gap in entry indexes.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<WalReadResult> {
    if (!Wal.exists(dir)) throw new WalStateError(`wal: no WAL in ${dir}`);
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.wal.tmp')) await fsp.rm(path.join(dir, name), { force: true }); // an interrupted cut
    }
    const segs = listSegments(dir);
    let meta: WalMetadata | undefined;
    let hardState: HardState = { ...EMPTY_HARD_STATE };
    let snapshot: SnapshotMeta | undefined;
    let ents: Entry[] = [];
    let lastEnd = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const file = path.join(dir, seg.name);
      if (seg.seq !== segs[0]!.seq + i) throw new WalCorruptError(file, -1, `expected segment sequence ${segs[0]!.seq + i}`);
      const isLast = i === segs.length - 1;
      const buf = await fsp.readFile(file);
      const scan = scanSegment(buf, file, isLast);
      if (scan.torn) {
        const fh = await fsp.open(file, 'r+');
        try {
          await fh.truncate(scan.end);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      lastEnd = scan.end;
      if (scan.records.length === 0 && isLast && i > 0) continue; // an empty last segment
      if (scan.records[0]?.type !== RecordType.Metadata) throw new WalCorruptError(file, 0, 'segment does not start with metadata');
      for (const rec of scan.records) {
        switch (rec.type) {
          case RecordType.Metadata:
            if (!meta) meta = rec.meta;
            else if (meta.memberId !== rec.meta.memberId || meta.clusterId !== rec.meta.clusterId) {
              throw new WalCorruptError(file, -1, 'metadata differs from the first segment');
            }
            break;
          case RecordType.HardState:
            hardState = rec.hardState;
            break;
          case RecordType.Snapshot:
            snapshot = rec.snapshot;
            break;
          case RecordType.Entry: {
            const e = rec.entry;
            const lastIdx = ents.length ? ents[ents.length - 1]!.index : undefined;
            if (lastIdx === undefined || e.index === lastIdx + 1) {
              ents.push(e);
            } else if (e.index <= lastIdx) {
              const keep = e.index - ents[0]!.index;
              if (keep <= 0) ents = [e];
              else {
                ents.length = keep;
                ents.push(e);
              }
            } else if (snapshot && snapshot.index === e.index - 1 && snapshot.index >= lastIdx) {
              ents = [e]; // the log restarts after an installed snapshot
            } else {
              throw new WalCorruptError(file, -1, `entry index ${e.index} follows ${lastIdx}`);
            }
            break;
          }
        }
      }
    }
    const lastSeg = segs[segs.length - 1]!;
    if (!meta) throw new WalCorruptError(path.join(dir, segs[0]!.name), 0, 'no metadata record');
    const snapIndex = snapshot?.index ?? 0;
    // A snapshot holds committed state only, but an installed one (MsgSnap) is recorded before the hard state that
    // moves the commit index to it (and that one may be written unsynced): a crash in between must not leave a
    // commit below the snapshot, which raft refuses ("hard state commit ... is out of range") on every restart.
    if (snapshot && hardState.commit < snapIndex) hardState = { ...hardState, commit: snapIndex };
    const entries = snapIndex > 0 ? ents.filter((e) => e.index > snapIndex) : ents;
    const last = Math.max(ents.length ? ents[ents.length - 1]!.index : 0, snapIndex);
    const fh = await fsp.open(path.join(dir, lastSeg.name), 'r+');
    const wal = new Wal(dir, meta, fh, lastSeg.seq, lastEnd, last, hardState, snapshot, opts);
    return { wal, meta, hardState, entries, snapshot };
  }

  /** Index of the last entry saved (or of the last snapshot marker when later); 0 when none. */
  lastIndex(): number {
    return this.last;
  }

  /**
   * Appends `entries` (which may overwrite a suffix of the log) and then `hardState`, as one buffer with
   * one write and one fdatasync; resolves once durable. Both empty: resolves at once, nothing written.
   * Calls are serialised in call order. After a failed save the WAL refuses further saves (the node must stop).
   *
   * `opts.sync === false` (etcd's raft.MustSync false: no entries, term and vote unchanged, only the commit index
   * moved) writes without fdatasync and resolves once the write is issued: the record becomes durable with the
   * next synced save (fdatasync covers the whole file) or on close. A crash may lose it (replay then sees an
   * older commit index, which Raft re-learns) or tear it (the torn tail is cut on open). Never skipped when the
   * write is followed by a segment cut, so only the last segment can end in an unsynced record.
   * @throws Error when closed or after an earlier failure; fs errors from write/fdatasync.
   */
  save(hardState: HardState | undefined, entries: Entry[], opts: { sync?: boolean } = {}): Promise<void> {
    const records: WalRecord[] = entries.map((entry) => ({ type: RecordType.Entry, entry }));
    if (hardState) records.push({ type: RecordType.HardState, hardState });
    if (records.length === 0) return Promise.resolve();
    const sync = opts.sync !== false || entries.length > 0;
    return this.enqueue(async () => {
      // state first: a cut inside append() names the next segment and repeats the hard state from it
      if (entries.length) this.last = entries[entries.length - 1]!.index;
      if (hardState) this.hardState = hardState;
      await this.append(records, sync);
    });
  }

  /**
   * Records that a snapshot at `meta.index` is durable elsewhere (store/snap): on replay, entries at or
   * before it are dropped and the log may restart at `meta.index + 1`. One write, one fdatasync.
   */
  saveSnapshot(meta: SnapshotMeta): Promise<void> {
    return this.enqueue(async () => {
      this.snapshot = meta;
      if (meta.index > this.last) this.last = meta.index;
      await this.append([{ type: RecordType.Snapshot, snapshot: meta }]);
    });
  }

  /**
   * Deletes segment files that only hold entries before `index` (call after a snapshot at `index` is
   * durable and marked with `saveSnapshot`): keeps the last segment whose first index is <= `index` and
   * all later ones, and never the segment being written. As etcd's WAL.ReleaseLockTo. Returns the names removed.
   */
  releaseTo(index: number): Promise<string[]> {
    const removed: string[] = [];
    return this.enqueue(async () => {
      const segs = listSegments(this.dir).filter((sg) => sg.seq < this.seq);
      let keepFrom = -1;
      segs.forEach((sg, i) => {
        if (sg.index <= index) keepFrom = i;
      });
      for (const sg of segs.slice(0, Math.max(keepFrom, 0))) {
        await fsp.rm(path.join(this.dir, sg.name));
        removed.push(sg.name);
      }
      if (removed.length) await fsyncDir(this.dir);
    }).then(() => removed);
  }

  /** Waits for pending saves, syncs an unsynced tail (save with sync: false), then closes the segment file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    if (this.unsynced && !this.failed) await this.fh.datasync().catch(() => undefined);
    await this.fh.close();
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('wal: closed'));
    const run = this.queue.then(async () => {
      if (this.failed) throw new Error(`wal: an earlier save failed: ${this.failed.message}`);
      try {
        await op();
      } catch (err) {
        this.failed = err as Error;
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async append(records: WalRecord[], sync = true): Promise<void> {
    try {
      await this.appendRecords(records, sync);
    } catch (err) {
      if (err instanceof WalIoError) throw err;
      // e.g. ENOSPC mid-write: a torn tail that Wal.open truncates; the WAL now refuses saves (enqueue)
      const seg = listSegments(this.dir).find((sg) => sg.seq === this.seq);
      throw new WalIoError(path.join(this.dir, seg?.name ?? segmentName(this.seq, 0)), `write or fdatasync at offset ${this.offset}`, err);
    }
  }

  private async appendRecords(records: WalRecord[], sync: boolean): Promise<void> {
    const buf = encodeRecords(records);
    if (buf.length <= SYNC_WRITE_MAX_BYTES) writeFullySync(this.fh.fd, buf, this.offset);
    else await writeFully(this.fh, buf, this.offset);
    this.offset += buf.length;
    const cutting = this.offset >= this.segmentBytes;
    if (this.unsafeNoSync && !cutting) {
      this.unsynced = true; // the broken build: acknowledged without fdatasync
    } else if (sync || cutting) {
      const t0 = performance.now();
      await this.fh.datasync();
      this.onFsync?.((performance.now() - t0) / 1000);
      this.unsynced = false;
      this.markSynced();
    } else {
      this.unsynced = true;
    }
    if (cutting) await this.cut();
  }

  /** Starts segment seq+1 named after the next expected index; it opens with metadata, hard state, snapshot. */
  private async cut(): Promise<void> {
    const seq = this.seq + 1;
    const name = segmentName(seq, this.last + 1);
    const records: WalRecord[] = [{ type: RecordType.Metadata, meta: this.meta }];
    records.push({ type: RecordType.HardState, hardState: this.hardState });
    if (this.snapshot) records.push({ type: RecordType.Snapshot, snapshot: this.snapshot });
    const finalPath = path.join(this.dir, name);
    const size = await writeNewSegment(`${finalPath}.tmp`, finalPath, records);
    const fh = await fsp.open(finalPath, 'r+');
    await this.fh.close();
    this.fh = fh;
    this.seq = seq;
    this.offset = size;
    this.markSynced();
  }
}
