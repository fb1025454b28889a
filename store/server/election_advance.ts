/**
 * etcd's `--initial-election-tick-advance` (default true; etcd 3.4 docs "Configuration flags": "Whether to
 * fast-forward initial election ticks on boot for faster election"; etcd PR #9591, EtcdServer.adjustTicks): a
 * member that just started fast-forwards its election timer instead of waiting a whole election timeout (plus the
 * randomized part) before its first campaign. The ticks go through RawNode.tick(), so every Raft rule applies
 * (promotable, pre-vote, check-quorum).
 *
 * - One voter, and it is this member: ticks until the election fires, so the member is leader at once (etcd
 *   advances election-ticks - 1 ticks, leaving 1..election-ticks of its randomized timeout). No other member can
 *   be disrupted.
 * - Several voters: waits (polling every 50 ms, at most 5 s: etcd's rafthttp.ConnReadTimeout) until a quorum of the
 *   voters, counting itself, has been reached over the peer transport (etcd waits for more than one active peer),
 *   then advances the timer to election-ticks - 2 elapsed ticks (as etcd), leaving two heartbeats for a leader's
 *   message. Stricter than etcd: nothing is advanced once this member knows a leader (it heard from one: its timer
 *   was reset by that message and the leader lease must keep protecting the leader, Raft thesis §6.2/§9.6), nor
 *   when it is not a voter (a learner never campaigns). A restarted follower whose leader's heartbeat is late by
 *   two ticks can then start a pre-vote (Raft thesis §9.6; quorumd always runs pre-vote and check-quorum); the
 *   voters that heard from the leader within an election timeout ignore it, its term does not change, and the
 *   leader is not deposed: no disruptive election.
 * - With the flag false nothing is advanced (etcd 3.4 still advances a one-member cluster then; quorumd does not,
 *   so `false` gives the plain Raft timing everywhere).
 */

/** What the advance needs from the node; every call is made on the node loop (through `enqueue`). */
export interface ElectionAdvanceHost {
  /** This member's ID. */
  readonly selfId: bigint;
  /** election-timeout / heartbeat-interval (RawNode's electionTick). */
  readonly electionTick: number;
  /** The current voters (Raft configuration). */
  voters(): bigint[];
  /** The known leader, 0n when none. */
  leader(): bigint;
  /** Whether this member is a follower (not candidate, pre-candidate or leader). */
  isFollower(): boolean;
  /** Ticks elapsed on the election timer (Raft's electionElapsed; read only). */
  electionElapsed(): number;
  /** One Raft tick (RawNode.tick). */
  tick(): void;
  /** Whether the peer transport reached voter `id` recently (etcd's active peer). */
  peerActive(id: bigint): boolean;
  /** Runs `fn` on the node loop, between Ready rounds. */
  enqueue(fn: () => void): void;
}

/** What startElectionTickAdvance did, for the log and tests. */
export type AdvanceOutcome =
  | { kind: 'single'; ticks: number }
  | { kind: 'multi'; ticks: number }
  | { kind: 'skipped'; reason: 'leader-known' | 'not-a-voter' | 'no-quorum-reached' | 'stopped' };

/** Poll period and longest wait for the peers of a multi-member cluster, ms (etcd: 50 ms, rafthttp.ConnReadTimeout 5 s). */
export const ADVANCE_POLL_MS = 50;
export const ADVANCE_WAIT_MS = 5000;

/**
 * Starts the advance for a member that just started (call once, after the ticker runs). `done` receives what was
 * done. Returns a cancel function (stop: no further polling).
 */
export function startElectionTickAdvance(h: ElectionAdvanceHost, done: (o: AdvanceOutcome) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let waited = 0;
  const attempt = (): void => {
    if (cancelled) return done({ kind: 'skipped', reason: 'stopped' });
    const voters = h.voters();
    if (!voters.includes(h.selfId)) return done({ kind: 'skipped', reason: 'not-a-voter' });
    if (h.leader() !== 0n) return done({ kind: 'skipped', reason: 'leader-known' });
    if (voters.length === 1) {
      // ticks until the election fires: a single voter wins it within the same step
      let ticks = 0;
      for (const limit = 2 * h.electionTick; ticks < limit && h.isFollower() && h.leader() === 0n; ticks++) h.tick();
      return done({ kind: 'single', ticks });
    }
    const reached = voters.filter((id) => id === h.selfId || h.peerActive(id)).length;
    if (reached >= Math.floor(voters.length / 2) + 1) {
      let ticks = 0;
      for (const target = h.electionTick - 2; h.electionElapsed() < target && h.isFollower() && h.leader() === 0n; ticks++) h.tick();
      return done({ kind: 'multi', ticks });
    }
    if (waited >= ADVANCE_WAIT_MS) return done({ kind: 'skipped', reason: 'no-quorum-reached' });
    waited += ADVANCE_POLL_MS;
    timer = setTimeout(() => h.enqueue(attempt), ADVANCE_POLL_MS);
    timer.unref();
  };
  h.enqueue(attempt);
  return () => {
    cancelled = true;
    if (timer) clearTimeout(timer);
  };
}
