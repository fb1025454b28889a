/**
 * Installing a snapshot received from the leader (Raft §7, etcd's applySnapshot in etcdserver/server.go): a member
 * that is too far behind (a new member joining a cluster whose log was compacted, e.g. one restored from a backup)
 * gets MsgSnap carrying the MVCC image (mvcc/snapshot.ts encoding). Before the snapshot's entries are acknowledged
 * it is made durable like etcd does: the snapshot file (store/snap) first, then the WAL's snapshot record; then the
 * MVCC state is replaced. The membership at the snapshot index is the one raft's restore() took from the meta.
 */
import { join } from 'node:path';
import type { MvccStore } from '../mvcc/kvstore.js';
import { decodeMvccSnapshot } from '../mvcc/snapshot.js';
import type { Snapshot } from '../raft/index.js';
import { Snapshotter } from '../snap/snapshotter.js';
import type { Wal } from '../wal/wal.js';

/**
 * Persist `snap` (snapshot file + WAL snapshot record, each fsynced) and load its MVCC image into `mvcc`.
 * An empty `data` (a leader without an MVCC image) only persists the marker. Throws on I/O errors or a data
 * blob that is not an MVCC image (the node must stop: its state would be incomplete).
 */
export async function installSnapshot(dataDir: string, wal: Wal, mvcc: MvccStore, snap: Snapshot): Promise<void> {
  await new Snapshotter(join(dataDir, 'member', 'snap')).save(snap);
  await wal.saveSnapshot(snap.meta);
  if (snap.data.length > 0) mvcc.loadState(decodeMvccSnapshot(snap.data).exportState());
}
