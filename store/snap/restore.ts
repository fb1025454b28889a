/**
 * Offline `snapshot restore` (etcd docs "Disaster recovery: Restoring a cluster"): from a backup file, write a
 * fresh data dir that starts a NEW cluster with the given membership at the backup's revision. Each member of
 * the new cluster is restored from the same file with its own --name (and the same --initial-cluster and
 * --initial-cluster-token), then started with `--initial-cluster-state new`.
 *
 * What is written, as etcd does it: a Raft snapshot at term 1, index = number of members, whose voters are
 * the new members and whose data is the backup's MVCC state (`member/snap/<term>-<index>.snap`), and a WAL
 * (`member/wal`) whose metadata names the new member and cluster IDs, with a snapshot marker and a hard state
 * committed up to that index. Member and cluster IDs are derived exactly as quorumd derives them at start
 * (store/server/ids.ts), so the started member finds its own WAL.
 */
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from '../raft/types.js';
import { parseInitialCluster, parseUrls } from '../server/config.js';
import { computeClusterId, computeMemberId } from '../server/ids.js';
import { Wal } from '../wal/wal.js';
import { decodeMvccOrThrow, parseBackup } from './backup.js';
import { Snapshotter } from './snapshotter.js';

/** `snapshot restore` flags (etcd's names and defaults). */
export interface RestoreOptions {
  /** The backup file. */
  file: string;
  /** --name (default "default"). */
  name: string;
  /** --initial-cluster "n1=url,n2=url" (default "default=http://localhost:2380"). */
  initialCluster: string;
  /** --initial-cluster-token (default "etcd-cluster"). */
  initialClusterToken: string;
  /** --initial-advertise-peer-urls (default "http://localhost:2380"). */
  initialAdvertisePeerUrls: string;
  /** --data-dir (default "<name>.etcd"). */
  dataDir: string;
  /** --skip-hash-check. */
  skipHashCheck: boolean;
}

/** A restore that cannot proceed; `message` is what etcdctl prints after "Error: ". */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/** What was written. */
export interface RestoreResult {
  memberId: bigint;
  clusterId: bigint;
  revision: number;
  index: number;
  walDir: string;
  snapDir: string;
}

/**
 * Restore `o.file` into the new data dir `o.dataDir`.
 * @throws RestoreError `data-dir "X" exists`; the name missing from --initial-cluster; peer URL mismatch;
 *         BackupFormatError "invalid database"; BackupHashError (digest missing or wrong, unless skipHashCheck).
 */
export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  if (existsSync(o.dataDir)) throw new RestoreError(`data-dir ${JSON.stringify(o.dataDir)} exists`);
  let file: Uint8Array;
  try {
    file = new Uint8Array(await fsp.readFile(o.file));
  } catch (e) {
    throw new RestoreError(`open ${o.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  let cluster;
  let advertise;
  try {
    cluster = parseInitialCluster('--initial-cluster', o.initialCluster);
    advertise = parseUrls('--initial-advertise-peer-urls', o.initialAdvertisePeerUrls);
  } catch (e) {
    throw new RestoreError((e as Error).message);
  }
  const self = cluster.find((m) => m.name === o.name);
  if (!self) throw new RestoreError(`couldn't find local name ${JSON.stringify(o.name)} in the initial cluster configuration`);
  if ([...self.peerUrls].sort().join(',') !== [...advertise].sort().join(',')) {
    throw new RestoreError(`--initial-cluster has ${o.name}=${self.peerUrls.join(',')} but missing from --initial-advertise-peer-urls=${advertise.join(',')}`);
  }
  const backup = parseBackup(file, !o.skipHashCheck);
  const store = decodeMvccOrThrow(backup.mvcc); // validates the MVCC part before anything is written
  const ids = cluster.map((m) => computeMemberId(m.peerUrls, o.initialClusterToken));
  if (new Set(ids).size !== ids.length) throw new RestoreError('--initial-cluster: two members have the same peer URLs');
  const memberId = computeMemberId(self.peerUrls, o.initialClusterToken);
  const clusterId = computeClusterId(ids);
  const voters = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = ids.length;
  const snapDir = join(o.dataDir, 'member', 'snap');
  const walDir = join(o.dataDir, 'member', 'wal');
  const snap: Snapshot = { meta: { index, term: 1, voters }, data: backup.mvcc };
  try {
    await fsp.mkdir(snapDir, { recursive: true, mode: 0o700 });
    await new Snapshotter(snapDir).save(snap);
    const wal = await Wal.create(walDir, { memberId, clusterId });
    try {
      await wal.saveSnapshot(snap.meta);
      await wal.save({ term: 1, vote: 0n, commit: index }, []);
    } finally {
      await wal.close();
    }
  } catch (e) {
    await fsp.rm(o.dataDir, { recursive: true, force: true });
    throw e;
  }
  return { memberId, clusterId, revision: store.rev(), index, walDir, snapDir };
}

/**
 * The MVCC state of the Raft snapshot at `index` in `<dataDir>/member/snap`, for a member starting from a
 * restored (or snapshotted) data dir; undefined when there is no such snapshot file.
 * @throws SnapCorruptError when the file is damaged; MvccSnapshotError when its data is not an MVCC image.
 */
export async function loadSnapshotData(dataDir: string, index: number): Promise<Snapshot | undefined> {
  return new Snapshotter(join(dataDir, 'member', 'snap')).loadIndex(index);
}
