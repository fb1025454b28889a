/**
 * Majority quorum arithmetic (Raft paper §5.2, §5.3): a majority of the voters elects a leader
 * and commits an entry; any two majorities intersect.
 */
import { type NodeId } from './types.js';

export enum VoteResult {
  Pending = 0,
  Lost = 1,
  Won = 2,
}

/** Size of a majority of `n` voters: floor(n/2)+1 (n >= 1). */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The highest index replicated on a majority: sort the voters' match indexes descending and
 * take the majority-th one. `matchOf` returns 0 for unknown voters.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const m = voters.map(matchOf).sort((a, b) => b - a);
  return m[majority(voters.length) - 1]!;
}

/** Outcome of an election given the votes received so far (true = granted). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const q = majority(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (granted >= q) return VoteResult.Won;
  if (voters.length - rejected < q) return VoteResult.Lost;
  return VoteResult.Pending;
}

/** Whether the voters for which `active` is true form a majority. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (active(id)) n++;
  return n >= majority(voters.length);
}
