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

/** Encodes a snapshot file's bytes. */
export function encodeSnapshot(snap: Snapshot): Uint8Array {
  const voters = snap.meta.voters;
  const buf = new Uint8Array(HEAD + 8 * voters.length + snap.data.length);
  const v = new DataView(buf.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(8, snap.meta.index % TWO32, true);
  v.setUint32(12, Math.floor(snap.meta.index / TWO32), true);
  v.setUint32(16, snap.meta.term % TWO32, true);
  v.setUint32(20, Math.floor(snap.meta.term / TWO32), true);
  v.setUint32(24, voters.length, true);
  voters.forEach((id, i) => v.setBigUint64(HEAD + 8 * i, id, true));
  buf.set(snap.data, HEAD + 8 * voters.length);
  v.setUint32(4, crc32c(buf, 0, 8), true);
  return buf;
}

/** Decodes a snapshot file's bytes. @throws SnapCorruptError (with `file` as given) when malformed. */
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
    data: Uint8Array.prototype.slice.call(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), dataStart),
  };
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
        await fh.writeFile(encodeSnapshot(snap));
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

  /** Deletes all but the newest `keep` snapshot files (and leftover .tmp files). */
  async purge(keep: number): Promise<void> {
    for (const name of this.list().slice(keep)) await fsp.rm(path.join(this.dir, name), { force: true });
    for (const name of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
      if (name.endsWith('.snap.tmp')) await fsp.rm(path.join(this.dir, name), { force: true });
    }
  }
}
