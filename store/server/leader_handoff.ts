/**
 * Graceful leadership hand-off when quorumd stops, and re-delivery of forwarded requests that a member had to
 * drop while it had no leader to pass them to.
 *
 * etcd's EtcdServer.Stop transfers leadership to a peer before stopping ("When stopping leader, Stop transfers
 * its leadership to one of its peers", etcd server.go; Raft thesis §3.10, leadership transfer). Without it a
 * stopped leader leaves the cluster leaderless for an election timeout, and every proposal a follower forwarded
 * to it in that window is lost: the follower's client waits for the whole request timeout and gets "etcdserver:
 * request timed out". With it, the transferee campaigns at once (MsgTimeoutNow) and has the whole log, so no
 * acknowledged or pending entry is lost, and the stopping member stays up a few heartbeats to pass stragglers on.
 *
 * Re-delivery: a MsgProp or MsgReadIndex forwarded by a follower reaches a member that cannot handle it (a leader
 * in the middle of a transfer, a follower or candidate without a leader): raft drops it before appending anything
 * (RawNode.stepOrDropped returns false), so stepping the same message again once a leader is known can neither
 * lose nor duplicate an entry. `redeliverable` says when that applies.
 */
import { MessageType, type Message } from '../raft/types.js';
import type { Logger } from './log.js';

/** What the hand-off needs from the node (all IDs are raft member IDs). */
export interface HandoffHost {
  isLeader(): boolean;
  memberId(): bigint;
  /** Voting members, including this one. */
  voters(): bigint[];
  /** Leader only: member ID -> match index (raft progress). */
  progress(): Map<bigint, number>;
  /** Whether the peer transport reached `id` within `withinMs` ms. */
  peerActive(id: bigint, withinMs: number): boolean;
  /** Start a transfer to `to` and resolve once `to` leads; rejects on timeout or when no longer leader. */
  moveLeader(to: bigint): Promise<void>;
  /** Current leader (0n when none). */
  leader(): bigint;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  log: Logger;
}

/**
 * The peer to hand leadership to: a voter other than `self`, reached within one election timeout, with the
 * highest match index (ties: the lowest ID, so the choice is deterministic). undefined when there is none.
 */
export function pickTransferee(self: bigint, voters: bigint[], progress: Map<bigint, number>, active: (id: bigint) => boolean): bigint | undefined {
  let best: bigint | undefined;
  let bestMatch = -1;
  for (const id of [...voters].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (id === self || !active(id)) continue;
    const match = progress.get(id) ?? 0;
    if (match > bestMatch) {
      best = id;
      bestMatch = match;
    }
  }
  return best;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * When this member leads a cluster with another reachable voter: hand leadership to the best peer
 * (pickTransferee), wait until it leads (at most `budgetMs`; less when it becomes unreachable), then stay up `3 * heartbeatIntervalMs` so requests
 * forwarded here meanwhile are passed to the new leader. Never throws: a failed hand-off is logged and the
 * member stops anyway (the others elect a leader after an election timeout, as after a crash).
 * Returns the new leader's ID, or undefined when nothing was handed off.
 */
export async function handOffLeadership(h: HandoffHost, budgetMs: number): Promise<bigint | undefined> {
  if (!h.isLeader()) return undefined;
  const self = h.memberId();
  const to = pickTransferee(self, h.voters(), h.progress(), (id) => h.peerActive(id, h.electionTimeoutMs));
  const fields = { 'local-member-id': self.toString(16) };
  if (to === undefined) {
    if (h.voters().length > 1) h.log.warn('stopping leader: no reachable voter to transfer leadership to', fields);
    return undefined;
  }
  h.log.info('stopping leader: transferring leadership', { ...fields, transferee: to.toString(16) });
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      h.moveLeader(to),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no new leader within ${budgetMs} ms`)), budgetMs);
        // the transferee going away (every member stopping at once) ends the wait early
        watch = setInterval(() => {
          if (!h.peerActive(to, h.electionTimeoutMs)) reject(new Error('the transferee became unreachable'));
        }, h.heartbeatIntervalMs);
      }),
    ]);
  } catch (e) {
    h.log.warn('stopping leader: leadership transfer failed; stopping anyway', { ...fields, transferee: to.toString(16), error: (e as Error).message });
    return undefined;
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
  }
  h.log.info('stopping leader: leadership transferred', { ...fields, leader: h.leader().toString(16), took: `${Date.now() - started}ms` });
  await sleep(3 * h.heartbeatIntervalMs);
  return to;
}

/**
 * Whether a peer message that raft dropped (RawNode.stepOrDropped returned false: no leader, or a transfer under
 * way) should be stepped again once a leader is known: a forwarded proposal or read-index request (never
 * appended) received less than `maxAgeMs` ago (`since`: when it first arrived, ms since epoch; the proposer gives up after
 * its request timeout).
 */
export function redeliverable(m: Message, since: number, maxAgeMs: number): boolean {
  if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) return false;
  return Date.now() - since < maxAgeMs;
}
