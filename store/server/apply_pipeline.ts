/**
 * Which committed entries of a Ready may be applied before that Ready's own WAL write + fdatasync finishes
 * (store/server/node.ts `handleReady`). Raft thesis §10.2.1 lets the leader write its log in parallel with
 * replication; etcd applies on another goroutine. quorumd keeps a stricter rule: an entry is applied (and its
 * proposer answered) only once this member's WAL holds it synced, so an acknowledged write is always on the
 * leader's disk as well as a quorum's. Entries committed and already synced by an earlier Ready are applied
 * while the fsync of this Ready's new entries is in flight; the rest wait for it.
 */
import type { Entry } from '../raft/index.js';

/**
 * How many leading entries of `committed` (ascending indexes) are already durable here.
 * `durableIndex`: the last log index this member's WAL holds synced before this Ready.
 * `firstNewIndex`: the index of this Ready's first new entry (undefined when it appends none); a Ready whose new
 * entries overwrite a suffix of the log (a follower's conflict) makes every index from there on non-durable again,
 * even below `durableIndex`, because the synced copy at that index is the old, replaced entry.
 * Returns 0..committed.length.
 */
export function durableCommittedPrefix(committed: readonly Entry[], durableIndex: number, firstNewIndex?: number): number {
  const bound = firstNewIndex === undefined ? durableIndex : Math.min(durableIndex, firstNewIndex - 1);
  let n = 0;
  while (n < committed.length && committed[n].index <= bound) n++;
  return n;
}
