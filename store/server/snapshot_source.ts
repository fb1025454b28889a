/**
 * Reads a durable snapshot's data back from the snapshot files (<data-dir>/member/snap, store/snap/snapshotter.ts)
 * for MemoryStorage (store/raft/storage.ts SnapshotDataSource), so the node does not keep every snapshot's bytes in
 * memory between the rare MsgSnap sends. Synchronous: raft asks for the data inside one step.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotDataSource } from '../raft/storage.js';
import { decodeSnapshot, snapNameIndex, type Snapshotter } from '../snap/snapshotter.js';

/** The file of the snapshot at `index` (any term), or undefined. */
function fileOf(s: Snapshotter, index: number): string | undefined {
  const name = s.list().find((n) => snapNameIndex(n) === index);
  return name ? join(s.dir, name) : undefined;
}

/**
 * A SnapshotDataSource over `s`'s directory. load() throws SnapCorruptError (snapshotter.ts) naming the file when
 * it is damaged, and returns undefined when it was removed.
 */
export function snapshotFileSource(s: Snapshotter): SnapshotDataSource {
  return {
    has: (index) => fileOf(s, index) !== undefined,
    load: (index) => {
      const file = fileOf(s, index);
      return file ? decodeSnapshot(readFileSync(file), file).data : undefined;
    },
  };
}
