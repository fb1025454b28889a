/**
 * Raft snapshot files in `<data-dir>/member/snap/`, named `%016x-%016x.snap` (term, index) as etcd's
 * snapshotter names them. A file is written to `<name>.tmp`, fsynced, renamed into place and the directory
 * fsynced, so a crash leaves either the whole file or none. Format (ours), little endian:
 *
 *   "QSNP" u32 | crc32c u32 (of everything after it) | index u64 | term u64 | voter count u32 |
 *   voters u64 * count | data (the rest: the state machine's bytes, e.g. store/mvcc/snapshot.ts)
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Snapshot } from '../raft/types.js';
import { crc32c } from '../wal/crc32c.js';

const MAGIC = 0x504e_5351; // "QSNP" read as u32 LE
const HEAD = 4 + 4 + 8 + 8 + 4;
const TWO32 = 0x1_0000_0000;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** A snapshot file that cannot be read (bad magic, CRC mismatch, truncated). */
export class SnapCorruptError extends Error {
  override readonly name = 'SnapCorruptError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`snap: corrupt snapshot file ${file}: ${detail}`);
  }
}

/**
 * Saving a snapshot file failed (e.g. ENOSPC: the disk is full). Names the file; `code` is the errno code. The
 * half-written `.tmp` is removed, so the directory holds only whole snapshots (load never reads a `.tmp`).
 */
export class SnapIoError extends Error {
  override readonly name = 'SnapIoError';
  /** errno code of the underlying error, when it has one. */
  readonly code?: string;
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`snap: saving ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** File name of the snapshot at `term`/`index`. */
export function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

/** The Raft index in a snapshot file name (`%016x-%016x.snap`: term, index), or undefined when `name` is not one. */
export function snapNameIndex(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m ? parseInt(m[2]!, 16) : undefined;
}

/**
 * The header of a snapshot file (magic, CRC, index, term, voters): the file is this followed by `snap.data`. The CRC
 * is chained over the header's tail and the data, so a save writes the two pieces without building one buffer of
 * the whole file (the data can be hundreds of MB).
 */
export function encodeSnapshotHead(snap: Snapshot): Uint8Array {
  const voters = snap.meta.voters;
  const buf = new Uint8Array(HEAD + 8 * voters.length);
  const v = new DataView(buf.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(8, snap.meta.index % TWO32, true);
  v.setUint32(12, Math.floor(snap.meta.index / TWO32), true);
  v.setUint32(16, snap.meta.term % TWO32, true);
  v.setUint32(20, Math.floor(snap.meta.term / TWO32), true);
  v.setUint32(24, voters.length, true);
  voters.forEach((id, i) => v.setBigUint64(HEAD + 8 * i, id, true));
  v.setUint32(4, crc32c(snap.data, crc32c(buf, 0, 8)), true);
  return buf;
}

/** Encodes a snapshot file's bytes (header and data in one buffer; Snapshotter.save writes them without the copy). */
export function encodeSnapshot(snap: Snapshot): Uint8Array {
  const head = encodeSnapshotHead(snap);
  const buf = new Uint8Array(head.length + snap.data.length);
  buf.set(head, 0);
  buf.set(snap.data, head.length);
  return buf;
}

/**
 * Decodes a snapshot file's bytes; the CRC covers the whole file after it. The result's data is a view into `buf`
 * (no copy): keep `buf` unchanged while the snapshot is used.
 * @throws SnapCorruptError (with `file` as given) when malformed.
 */
export function decodeSnapshot(buf: Uint8Array, file = '<buffer>'): Snapshot {
  if (buf.length < HEAD) throw new SnapCorruptError(file, 'truncated header');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw new SnapCorruptError(file, 'bad magic');
  if (v.getUint32(4, true) !== crc32c(buf, 0, 8)) throw new SnapCorruptError(file, 'CRC mismatch');
  const count = v.getUint32(24, true);
  const dataStart = HEAD + 8 * count;
  if (dataStart > buf.length) throw new SnapCorruptError(file, 'truncated voter list');
  const voters: bigint[] = [];
  for (let i = 0; i < count; i++) voters.push(v.getBigUint64(HEAD + 8 * i, true));
  return {
    meta: {
      index: v.getUint32(12, true) * TWO32 + v.getUint32(8, true),
      term: v.getUint32(20, true) * TWO32 + v.getUint32(16, true),
      voters,
    },
    // a view, not a copy: the file's buffer is read for this snapshot alone (a copy doubled a restart's peak memory)
    data: new Uint8Array(buf.buffer, buf.byteOffset + dataStart, buf.byteLength - dataStart),
  };
}

/** Writes all of `b` at file offset `pos` (a write may be partial: loops until done). */
async function writeAll(fh: fsp.FileHandle, b: Uint8Array, pos: number): Promise<void> {
  for (let off = 0; off < b.length; ) {
    const { bytesWritten } = await fh.write(b, off, Math.min(b.length - off, 1 << 30), pos + off);
    off += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Saves and loads Raft snapshots in one directory. */
export class Snapshotter {
  /** @param dir the snapshot directory (`<data-dir>/member/snap`); created on first save. */
  constructor(readonly dir: string) {}

  /** Snapshot file names, newest (highest term, then index) first. */
  list(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => NAME_RE.test(n)).sort().reverse();
  }

  /**
   * Writes `snap` durably (tmp file, fsync, rename, fsync dir); resolves with the file's path.
   * @throws SnapIoError naming the `.tmp` file when writing it fails (ENOSPC...); the `.tmp` is removed.
   */
  async save(snap: Snapshot): Promise<string> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, snapName(snap.meta.term, snap.meta.index));
    const tmp = `${file}.tmp`;
    try {
      const fh = await fsp.open(tmp, 'w', 0o600);
      try {
        const head = encodeSnapshotHead(snap);
        await writeAll(fh, head, 0);
        await writeAll(fh, snap.data, head.length); // the data as it is: no file-sized copy
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new SnapIoError(tmp, err);
    }
    await fsp.rename(tmp, file);
    await fsyncDir(this.dir);
    return file;
  }

  /**
   * The newest readable snapshot, or undefined when there is none. A damaged file is renamed to
   * `<name>.broken` (as etcd does) and the next older one tried.
   */
  async load(): Promise<Snapshot | undefined> {
    for (const name of this.list()) {
      const file = path.join(this.dir, name);
      try {
        return decodeSnapshot(await fsp.readFile(file), file);
      } catch (err) {
        if (!(err instanceof SnapCorruptError)) throw err;
        await fsp.rename(file, `${file}.broken`);
      }
    }
    return undefined;
  }

  /** The snapshot at exactly `index` (any term), or undefined. @throws SnapCorruptError when damaged. */
  async loadIndex(index: number): Promise<Snapshot | undefined> {
    const suffix = `-${index.toString(16).padStart(16, '0')}.snap`;
    const name = this.list().find((n) => n.endsWith(suffix));
    if (!name) return undefined;
    const file = path.join(this.dir, name);
    return decodeSnapshot(await fsp.readFile(file), file);
  }

  /**
   * Deletes all but the newest `keep` snapshot files at or below `durableIndex` (the index of the WAL's latest
   * snapshot record; default: no bound), and leftover .tmp files. Files above `durableIndex` are not the WAL's
   * (a save whose WAL record is not written yet, or a crash's leftover: see removeNewerThan) and are neither
   * counted nor deleted, so the file the WAL names is always kept. `keep` <= 0 keeps every file (etcd's
   * --max-snapshots 0 = unlimited). Resolves with the names deleted.
   */
  async purge(keep: number, durableIndex = Number.MAX_SAFE_INTEGER): Promise<string[]> {
    const removed: string[] = [];
    const durable = this.list().filter((n) => snapNameIndex(n)! <= durableIndex);
    for (const name of keep > 0 ? durable.slice(keep) : []) {
      await fsp.rm(path.join(this.dir, name), { force: true });
      removed.push(name);
    }
    for (const name of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
      if (name.endsWith('.snap.tmp')) await fsp.rm(path.join(this.dir, name), { force: true });
    }
    return removed;
  }

  /**
   * Removes the snapshot files whose index is above `walIndex` (the index of the WAL's latest snapshot record, 0
   * when it has none), then fsyncs the directory. Such a file is left by a crash between writing the snapshot
   * file and writing its WAL record (snapshot_policy.ts persists in that order, as etcd does); the WAL does not
   * name it, so it must neither be loaded nor outrank the WAL's snapshot when the newest files are kept (etcd
   * loads only snapshots the WAL names: wal.ValidSnapshotEntries + Snapshotter.LoadNewestAvailable). Call at
   * start, before anything else writes to the directory. Resolves with the paths removed (for the log).
   */
  async removeNewerThan(walIndex: number): Promise<string[]> {
    const stray = this.list().filter((n) => snapNameIndex(n)! > walIndex).map((n) => path.join(this.dir, n));
    for (const file of stray) await fsp.rm(file, { force: true });
    if (stray.length > 0) await fsyncDir(this.dir);
    return stray;
  }
}
