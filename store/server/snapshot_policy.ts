/**
 * Snapshots and log compaction for the node loop (etcd etcdserver/server.go triggerSnapshot + purgeFile; Raft
 * paper §7). After `count` entries applied since the last snapshot (etcd --snapshot-count, default 100000) the
 * node takes a snapshot of its applied state (state_snapshot.ts), makes it durable (snapshot file, fsynced, then
 * the WAL's snapshot record), compacts the in-memory Raft log keeping `catchupEntries` entries behind the
 * snapshot (etcd keeps 5000 so a slightly lagging follower still catches up from entries), releases WAL
 * segments wholly before the snapshot and keeps the newest `maxSnapshots` snapshot files.
 *
 * Raft stays pure: it only reads the compacted MemoryStorage and sends MsgSnap when a follower's next index was
 * compacted away; all I/O is here and in node.ts.
 */
import { join } from 'node:path';
import type { MemoryStorage, NodeId, Snapshot } from '../raft/index.js';
import { Snapshotter, snapNameIndex } from '../snap/snapshotter.js';
import type { Wal } from '../wal/wal.js';
import type { SnapshotFlags } from './config.js';
import type { Logger } from './log.js';
import { snapshotFileSource } from './snapshot_source.js';

/** etcd's defaults (3.4: snapshot-count 100000, 5000 catch-up entries, 5 snapshot files, 5 WAL files). */
export const DEFAULT_SNAPSHOT_FLAGS: SnapshotFlags = { count: 100000, catchupEntries: 5000, maxSnapshots: 5, maxWals: 5 };

/** What the policy needs from the node. */
export interface SnapshotHost {
  dataDir: string;
  storage: MemoryStorage;
  wal: Wal;
  log: Logger;
  memberId: bigint;
  /** The applied state's bytes (encodeStateSnapshot), taken synchronously between applies. */
  encodeState: () => Uint8Array;
  /** The configuration at the applied index. */
  confState: () => { voters: NodeId[]; learners: NodeId[] };
}

/** Decides when to snapshot and does the snapshot's I/O. One per node. */
export class SnapshotPolicy {
  readonly flags: SnapshotFlags;
  readonly snapshotter: Snapshotter;
  /** Index of the newest durable snapshot (0 = none). */
  snapshotIndex = 0;
  /** Snapshots taken by this process (for tests and logs). */
  taken = 0;

  constructor(private readonly h: SnapshotHost, flags: SnapshotFlags | undefined) {
    this.flags = flags ?? DEFAULT_SNAPSHOT_FLAGS;
    this.snapshotter = new Snapshotter(join(h.dataDir, 'member', 'snap'));
    h.storage.setSnapshotSource(snapshotFileSource(this.snapshotter)); // durable snapshots' data is read back from disk, not kept in memory
  }

  /** True when `applied` is more than snapshot-count entries past the last snapshot. */
  due(applied: number): boolean {
    return applied - this.snapshotIndex > this.flags.count;
  }

  /**
   * Takes a snapshot at `applied` when due, then compacts and purges. Must be called by the node loop right after
   * applying (the state must be the state at `applied`). Resolves once the snapshot file and the WAL record are
   * fsynced. Throws on I/O errors (the node must stop: its WAL may be inconsistent with its snapshots).
   */
  async maybeSnapshot(applied: number): Promise<void> {
    if (!this.due(applied)) return;
    const st = this.h.storage;
    if (applied > st.lastIndex() || applied <= st.snapshotMeta().index) return;
    const { voters, learners } = this.h.confState();
    const t0 = Date.now();
    const snap = st.createSnapshot(applied, voters, this.h.encodeState(), learners);
    await this.persist(snap);
    this.taken++;
    this.h.log.info('saved snapshot', {
      'local-member-id': this.h.memberId.toString(16), 'snapshot-index': applied, 'snapshot-term': snap.meta.term,
      'snapshot-size-bytes': snap.data.length, took: `${Date.now() - t0}ms`,
    });
    const compactIndex = applied - this.flags.catchupEntries;
    if (compactIndex > st.firstIndex() - 1) {
      st.compact(compactIndex);
      this.h.log.info('compacted Raft logs', { 'local-member-id': this.h.memberId.toString(16), 'compact-index': compactIndex });
    }
    await this.purge();
  }

  /**
   * Makes `snap` durable the way etcd orders it: the snapshot file (tmp, fsync, rename, fsync dir), then the WAL
   * snapshot record (fsync). A crash between the two leaves an unreferenced file, ignored on restart.
   */
  async persist(snap: Snapshot): Promise<void> {
    await this.snapshotter.save(snap);
    await this.h.wal.saveSnapshot(snap.meta);
    this.snapshotIndex = snap.meta.index;
    this.h.storage.releaseSnapshotData();
  }

  /**
   * Keeps the newest `maxSnapshots` snapshot files up to the WAL's latest snapshot record (`snapshotIndex`: that
   * file is never deleted, a newer unreferenced one never counts) and releases WAL segments that only hold
   * entries before the oldest snapshot kept (etcd purges to max-wals files; ours follow the snapshots, so every
   * kept snapshot still has its WAL tail). Returns the WAL segment names removed.
   */
  async purge(): Promise<string[]> {
    const durable = this.snapshotIndex;
    await this.snapshotter.purge(this.flags.maxSnapshots, durable);
    const names = this.snapshotter.list().filter((n) => snapNameIndex(n)! <= durable);
    const oldest = names[names.length - 1];
    if (!oldest) return [];
    const index = snapNameIndex(oldest)!;
    const removed = await this.h.wal.releaseTo(index);
    if (removed.length > 0) this.h.log.info('purged WAL segments', { 'local-member-id': this.h.memberId.toString(16), removed });
    return removed;
  }
}

/**
 * At start, before the snapshot is loaded: removes the snapshot files in `<dataDir>/member/snap` newer than the
 * WAL's latest snapshot record (`walIndex`, 0 when the WAL has none), each logged as a warning. They are what a
 * crash between writing a snapshot file and its WAL record leaves (SnapshotPolicy.persist); left in place, they
 * would outrank the WAL's snapshot when the newest `--max-snapshots` files are kept. Resolves with the paths removed.
 */
export async function removeUnreferencedSnapshots(dataDir: string, walIndex: number, log: Logger, memberId: bigint): Promise<string[]> {
  const removed = await new Snapshotter(join(dataDir, 'member', 'snap')).removeNewerThan(walIndex);
  for (const file of removed) {
    log.warn('removed snapshot file not referenced by the WAL', { 'local-member-id': memberId.toString(16), path: file, 'wal-snapshot-index': walIndex });
  }
  return removed;
}
