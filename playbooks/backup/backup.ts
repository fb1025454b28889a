/**
 * Backups taken by the operator (`quorum backup -i FILE --dest DIR [--keep N]`): a snapshot streamed over mTLS
 * from one healthy member (Maintenance.Snapshot, etcd docs "Disaster recovery: Snapshotting the keyspace"),
 * verified (the trailing sha256 digest, then `snapshot status`: hash, revision, keys), named
 * `<cluster>-<UTC time>-r<revision>.db` and kept with a retention count.
 */
import { createWriteStream, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { backupStatus, IMAGE_ALIGN, SHA256_SIZE } from '../../store/snap/backup.js';
import type { Inventory } from '../../toolkit/inventory/types.js';
import { ensureDir } from '../../toolkit/pki/files.js';

/** What a verified snapshot file holds (`quorumctl snapshot status`). */
export interface SnapshotInfo {
  file: string;
  /** MVCC revision of the image. */
  revision: number;
  /** CRC-32C of the image, lowercase hex. */
  hash: string;
  /** Stored key versions. */
  totalKey: number;
  /** Bytes of the image (without the digest). */
  totalSize: number;
}

/** `20261121T073000Z`: UTC, sortable, usable in file names. */
export function timeStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** `<cluster>-<stamp>-r<revision>.db`. */
export function backupName(cluster: string, now: Date, revision: number): string {
  return `${cluster}-${timeStamp(now)}-r${revision}.db`;
}

const NAME = (cluster: string) => new RegExp(`^${cluster.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{6}Z(-[A-Za-z0-9-]+)?-r\\d+\\.db$`);

/**
 * Verifies a snapshot file: the sha256 digest is present and matches, the MVCC image decodes.
 * @throws Error naming the file, what is wrong and the fix.
 */
export function verifySnapshot(file: string): SnapshotInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read snapshot ${file}: ${(e as Error).message}`);
  }
  if (bytes.length % IMAGE_ALIGN !== SHA256_SIZE) {
    throw new Error(`snapshot ${file} has no sha256 digest (${bytes.length} bytes): not a complete quorumd snapshot (fix: take a new one with \`quorum backup\`)`);
  }
  try {
    const s = backupStatus(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).status;
    return { file, revision: s.revision, hash: s.hash.toString(16), totalKey: s.totalKey, totalSize: s.totalSize };
  } catch (e) {
    throw new Error(`snapshot ${file} is damaged: ${(e as Error).message} (fix: use another backup)`);
  }
}

/** TLS material of the operator's client certificate. */
export interface ClientTls { ca: Buffer; cert: Buffer; key: Buffer }

/**
 * Streams a snapshot of the member at `endpoint` into `file` (through `file.part`, fsync, rename); resolves to
 * its byte count. @throws Error when the stream fails or the digest is missing (the .part file is removed).
 */
export async function saveSnapshot(endpoint: string, tls: ClientTls, file: string, timeoutMs = 300_000): Promise<number> {
  const { StoreClient } = await import('../../store/client/client.js');
  const { snapshot } = await import('../../store/client/maintenance.js');
  const part = `${file}.part`;
  const c = new StoreClient(endpoint, tls, { timeoutMs: 10_000 });
  const ws = createWriteStream(part, { mode: 0o600 });
  try {
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const size = await snapshot(c, (b) => ws.write(b), timeoutMs);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (size % IMAGE_ALIGN !== SHA256_SIZE) throw new Error(`sha256 checksum not found [bytes: ${size}]`);
    const fh = await fsp.open(part, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await fsp.rename(part, file);
    return size;
  } catch (e) {
    ws.destroy();
    await fsp.rm(part, { force: true });
    throw new Error(`snapshot from ${endpoint} failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    c.close();
  }
}

/**
 * Keeps the newest `keep` backups of `cluster` in `dir` (names from `backupName`; other files are never touched).
 * Returns the removed paths. `keep` < 1 keeps everything.
 */
export function applyRetention(dir: string, cluster: string, keep: number): string[] {
  if (keep < 1) return [];
  const re = NAME(cluster);
  const names = readdirSync(dir).filter((n) => re.test(n)).sort();
  const drop = names.slice(0, Math.max(0, names.length - keep));
  for (const n of drop) rmSync(join(dir, n), { force: true });
  return drop.map((n) => join(dir, n));
}

/** Options of `takeBackup`. */
export interface BackupOptions {
  dest: string;
  /** Retention count (0 = keep all). */
  keep: number;
  now: Date;
  /** The member to snapshot (default: the first healthy member in inventory order). */
  from: string;
  tls: ClientTls;
}

/** Result of `takeBackup`. */
export interface BackupResult { info: SnapshotInfo; removed: string[]; from: string }

/** Takes, verifies, names and retains one backup. @throws Error (one line with a fix). */
export async function takeBackup(inv: Inventory, o: BackupOptions): Promise<BackupResult> {
  const h = inv.hosts.find((x) => x.name === o.from);
  if (!h) throw new Error(`${o.from} is not a host of the inventory`);
  ensureDir(o.dest);
  const tmp = join(o.dest, `.${inv.cluster.name}-${timeStamp(o.now)}.taking`);
  await saveSnapshot(`https://${h.address}:${inv.cluster.clientPort}`, o.tls, tmp);
  let info: SnapshotInfo;
  try {
    info = verifySnapshot(tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const file = join(o.dest, backupName(inv.cluster.name, o.now, info.revision));
  await fsp.rename(tmp, file);
  info = { ...info, file };
  return { info, removed: applyRetention(o.dest, inv.cluster.name, o.keep), from: o.from };
}
