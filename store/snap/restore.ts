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
 *
 * What the restored state holds: the backup's MVCC (every stored version), and when the backup carries the full
 * state image (backups from this version on), its leases (each with its granted TTL: the countdown restarts
 * when the new cluster elects a leader, as etcd's lessor does on promotion), users, roles and whether auth is
 * enabled. The membership is the NEW cluster's (the old one and its removed IDs are dropped), and alarms are not
 * carried over. An older backup (MVCC image alone) restores the keys only.
 *
 * etcd 3.5's `--bump-revision N --mark-compacted` (etcdutl snapshot restore; etcd docs "Disaster recovery",
 * "Restoring a cluster with revision bump"): the restored revision becomes the backup's + N and is marked
 * compacted, so every key's next mod revision is above any revision a client saw before the disaster, and a
 * watch or read from an older revision fails with "mvcc: required revision has been compacted" (Kubernetes
 * informers then re-list). Marking compacted compacts at that revision: per key, its latest version is kept
 * (deleted keys' history goes), as etcd's scheduled compaction does when the restored member starts. The two
 * flags go together: one without the other is refused.
 */
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from '../raft/types.js';
import { parseInitialCluster, parseUrls } from '../server/config.js';
import { computeClusterId, computeMemberId } from '../server/ids.js';
import { Wal } from '../wal/wal.js';
import { MvccStore } from '../mvcc/kvstore.js';
import { encodeMvccSnapshot } from '../mvcc/snapshot.js';
import { encodeStateImage, type StateSnapshotMeta } from '../server/state_snapshot.js';
import { decodeBackupState, parseBackup } from './backup.js';
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
  /** --bump-revision: how much to add to the backup's revision (default 0; needs markCompacted when > 0). */
  bumpRevision?: number;
  /** --mark-compacted: mark the (bumped) revision compacted (needs bumpRevision > 0). */
  markCompacted?: boolean;
}

/** etcd's message when --bump-revision and --mark-compacted are not given together (etcdutl snapshot restore). */
export const BUMP_FLAGS_ERROR = '--mark-compacted required if --revision-bump > 0';

/**
 * Checks the bump flags as etcd does: both or neither.
 * @throws RestoreError BUMP_FLAGS_ERROR; RestoreError when the bump is not a whole number >= 0.
 */
export function checkBumpFlags(bumpRevision: number, markCompacted: boolean): void {
  if (!Number.isSafeInteger(bumpRevision) || bumpRevision < 0) {
    throw new RestoreError(`--bump-revision ${String(bumpRevision)}: not a whole number >= 0 (fix: e.g. --bump-revision 1000000000)`);
  }
  if ((bumpRevision === 0 && markCompacted) || (bumpRevision > 0 && !markCompacted)) throw new RestoreError(BUMP_FLAGS_ERROR);
}

/** A restore that cannot proceed; `message` is what etcdctl prints after "Error: ". */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/** What was written. */
export interface RestoreResult {
  memberId: bigint;
  clusterId: bigint;
  /** The restored member's revision (the backup's + bumpRevision) and compacted revision (0 = never). */
  revision: number;
  compactRevision: number;
  /** Leases restored (0 for an older MVCC-only backup). */
  leases: number;
  /** Users restored and whether auth is enabled (undefined for an older MVCC-only backup). */
  users?: number;
  authEnabled?: boolean;
  index: number;
  walDir: string;
  snapDir: string;
}

/**
 * Restore `o.file` into the new data dir `o.dataDir`.
 * @throws RestoreError BUMP_FLAGS_ERROR; `data-dir "X" exists`; the name missing from --initial-cluster; peer URL mismatch;
 *         BackupFormatError "invalid database"; BackupHashError (digest missing or wrong, unless skipHashCheck).
 */
export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const bump = o.bumpRevision ?? 0;
  checkBumpFlags(bump, !!o.markCompacted);
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
  const state = decodeBackupState(backup.mvcc); // validates the state part before anything is written
  const store = state.mvcc;
  let restored = store;
  if (bump > 0) {
    // etcd marks revision+N as scheduled for compaction, and the member compacts there when it starts: the same
    // records as compacting at the backup's revision (nothing changes between it and revision+N)
    if (store.rev() > store.compactRevision()) store.compact(store.rev());
    const ex = store.exportState();
    const rev = ex.rev + bump;
    restored = MvccStore.restore({ rev, compactRev: rev, records: ex.records });
  }
  const ids = cluster.map((m) => computeMemberId(m.peerUrls, o.initialClusterToken));
  if (new Set(ids).size !== ids.length) throw new RestoreError('--initial-cluster: two members have the same peer URLs');
  const memberId = computeMemberId(self.peerUrls, o.initialClusterToken);
  const clusterId = computeClusterId(ids);
  const voters = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = ids.length;
  const snapDir = join(o.dataDir, 'member', 'snap');
  const walDir = join(o.dataDir, 'member', 'wal');
  const mvcc = bump > 0 ? encodeMvccSnapshot(restored) : encodeMvccSnapshot(store);
  const meta = state.meta;
  const stateMeta: StateSnapshotMeta | undefined = meta && {
    version: 1,
    leases: meta.leases.map((l) => ({ id: l.id, ttl: l.ttl })),
    auth: meta.auth,
    members: cluster.map((m, i) => ({ id: ids[i]!.toString(), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [], isLearner: false })),
    removed: [],
    alarms: [],
  };
  const data = stateMeta ? encodeStateImage(stateMeta, mvcc) : mvcc;
  const snap: Snapshot = { meta: { index, term: 1, voters }, data };
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
  return {
    memberId, clusterId, revision: restored.rev(), compactRevision: restored.compactRevision(), leases: meta?.leases.length ?? 0,
    ...(meta ? { users: meta.auth.users.length, authEnabled: meta.auth.enabled } : {}), index, walDir, snapDir,
  };
}

/**
 * The MVCC state of the Raft snapshot at `index` in `<dataDir>/member/snap`, for a member starting from a
 * restored (or snapshotted) data dir; undefined when there is no such snapshot file.
 * @throws SnapCorruptError when the file is damaged; MvccSnapshotError when its data is not an MVCC image.
 */
export async function loadSnapshotData(dataDir: string, index: number): Promise<Snapshot | undefined> {
  return new Snapshotter(join(dataDir, 'member', 'snap')).loadIndex(index);
}
