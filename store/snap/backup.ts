/**
 * The backup file written by `snapshot save` (the bytes of Maintenance.Snapshot's stream) and read by
 * `snapshot status` / `snapshot restore`. Like etcd's, it is a database image followed by the SHA-256 of that
 * image (etcd's Snapshot RPC sends the digest as its last message); unlike etcd's it is not a bbolt file: a
 * quorumd backup cannot be restored by etcd, nor an etcd backup by quorumd. Layout (ours, little endian):
 *
 *   image  = "QBK1" u32 | metaLen u32 | meta (UTF-8 JSON, BackupMeta) | stateLen u64 | state | zero padding
 *            (state = the member's whole applied state, store/server/state_snapshot.ts encodeStateSnapshot:
 *            MVCC with every stored version, rev and compacted rev, plus leases, auth, members, alarms; backups
 *            written before that carry the MVCC image alone, store/mvcc/snapshot.ts, and stay readable: the
 *            two are told apart by their magic. The padding makes the image a multiple of 512 bytes, like a database file of pages, because
 *            etcdctl's `snapshot save` finds the digest by `size % 512 == 32`)
 *   file   = image | sha256(image) (32 bytes)
 */
import { createHash } from 'node:crypto';
import type { MvccStore } from '../mvcc/kvstore.js';
import { decodeStateSnapshot, type DecodedState } from '../server/state_snapshot.js';
import { crc32c } from '../wal/crc32c.js';

const MAGIC = 0x314b_4251; // "QBK1" read as u32 LE
const TWO32 = 0x1_0000_0000;
/** The image is padded to a multiple of this many bytes. */
export const IMAGE_ALIGN = 512;
/** Length of the trailing digest. */
export const SHA256_SIZE = 32;

/** Who the image came from (informational: a restore starts a new cluster). IDs as decimal strings. */
export interface BackupMeta {
  version: 1;
  clusterId: string;
  memberId: string;
  /** The Raft index applied when the image was taken. */
  raftIndex: number;
  raftTerm: number;
  /** The MVCC revision and compacted revision (0 = never) of the image. */
  revision: number;
  compactRevision: number;
  members: { id: string; name: string; peerUrls: string[] }[];
  /** Active alarms when taken (a restore does not carry them over). */
  alarms: { memberId: string; alarm: number }[];
}

/** A backup file that is not one (etcd's message for a file that is not a database: "invalid database"). */
export class BackupFormatError extends Error {
  override readonly name = 'BackupFormatError';
  constructor(readonly detail: string) {
    super('invalid database');
  }
}

/** The trailing digest is missing or wrong (etcd's messages). */
export class BackupHashError extends Error {
  override readonly name = 'BackupHashError';
}

/** Build the image (without digest) from metadata and encoded MVCC bytes. */
export function encodeImage(meta: BackupMeta, mvcc: Uint8Array): Uint8Array {
  const m = Buffer.from(JSON.stringify(meta), 'utf8');
  const len = 4 + 4 + m.length + 8 + mvcc.length;
  const out = new Uint8Array(Math.ceil(len / IMAGE_ALIGN) * IMAGE_ALIGN);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, m.length, true);
  out.set(m, 8);
  const o = 8 + m.length;
  v.setUint32(o, mvcc.length % TWO32, true);
  v.setUint32(o + 4, Math.floor(mvcc.length / TWO32), true);
  out.set(mvcc, o + 8);
  return out;
}

/** SHA-256 of `b`. */
export function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/** A parsed backup. */
export interface Backup {
  meta: BackupMeta;
  /** The state part: encodeStateSnapshot bytes, or encodeMvccSnapshot bytes in older backups (decodeBackupState reads both). */
  mvcc: Uint8Array;
  /** The image (what the digest covers). */
  image: Uint8Array;
  /** Whether the file carries a digest after the image. */
  hasHash: boolean;
}

/** Go's %v of a []byte: "[1 2 3]". */
function goBytes(b: Uint8Array): string {
  return `[${Array.from(b).join(' ')}]`;
}

/**
 * Parse backup file bytes. With `verify`, the digest must be present and match.
 * @throws BackupFormatError ("invalid database") when the layout is wrong;
 *         BackupHashError "snapshot missing hash but --skip-hash-check=false" or
 *         "expected sha256 [..], got [..]" (etcd's strings) when verifying.
 */
export function parseBackup(file: Uint8Array, verify: boolean): Backup {
  if (file.length < 16) throw new BackupFormatError('too short');
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw new BackupFormatError('bad magic');
  const metaLen = v.getUint32(4, true);
  if (8 + metaLen + 8 > file.length) throw new BackupFormatError('truncated metadata');
  let meta: BackupMeta;
  try {
    meta = JSON.parse(Buffer.from(file.subarray(8, 8 + metaLen)).toString('utf8')) as BackupMeta;
  } catch {
    throw new BackupFormatError('bad metadata');
  }
  const o = 8 + metaLen;
  const mvccLen = v.getUint32(o + 4, true) * TWO32 + v.getUint32(o, true);
  const end = o + 8 + mvccLen;
  const hasHash = file.length % IMAGE_ALIGN === SHA256_SIZE;
  const imageLen = hasHash ? file.length - SHA256_SIZE : file.length;
  if (end > imageLen) throw new BackupFormatError('truncated image');
  if (imageLen % IMAGE_ALIGN !== 0 || imageLen - end >= IMAGE_ALIGN) throw new BackupFormatError('trailing bytes');
  const image = file.subarray(0, imageLen);
  if (verify) {
    if (!hasHash) throw new BackupHashError('snapshot missing hash but --skip-hash-check=false');
    const want = file.subarray(imageLen);
    const got = sha256(image);
    if (Buffer.compare(Buffer.from(want), Buffer.from(got)) !== 0) throw new BackupHashError(`expected sha256 ${goBytes(want)}, got ${goBytes(got)}`);
  }
  return { meta, mvcc: file.subarray(o + 8, end), image, hasHash };
}

/** `snapshot status` figures (etcd snapshot.Status: hash, revision, totalKey, totalSize). */
export interface BackupStatus {
  /** CRC-32C of the image. */
  hash: number;
  /** The MVCC revision of the image. */
  revision: number;
  /** Stored key versions (what etcd counts as the keys of its buckets, here the MVCC's records). */
  totalKey: number;
  /** Size of the image in bytes (without the digest). */
  totalSize: number;
}

/**
 * Status of a backup file's bytes (verifies the digest when present).
 * @throws BackupFormatError / BackupHashError as parseBackup; BackupFormatError when the MVCC part is damaged.
 */
export function backupStatus(file: Uint8Array): { status: BackupStatus; store: MvccStore } {
  const b = parseBackup(file, false);
  if (b.hasHash) parseBackup(file, true);
  const store = decodeBackupState(b.mvcc).mvcc;
  return {
    status: { hash: crc32c(b.image), revision: store.rev(), totalKey: store.exportState().records.length, totalSize: b.image.length },
    store,
  };
}

/**
 * The state part of a backup: the MVCC store, plus leases, auth, members and alarms (`meta`) when the backup
 * carries the full state image; `meta` is undefined for an older backup holding the MVCC image alone.
 * @throws BackupFormatError ("invalid database", detail naming the damage) when the bytes are neither.
 */
export function decodeBackupState(state: Uint8Array): DecodedState {
  try {
    return decodeStateSnapshot(state);
  } catch (e) {
    throw new BackupFormatError((e as Error).message);
  }
}

/** The MVCC store of a backup's state part (either layout), failing with BackupFormatError. */
export function decodeMvccOrThrow(state: Uint8Array): MvccStore {
  return decodeBackupState(state).mvcc;
}
