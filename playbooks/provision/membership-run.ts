/**
 * Executes a membership plan (membership.ts) one step at a time. The cluster API (member add/promote/remove,
 * leadership, catch-up) and the host operations (files, start, stop, wipe) are injected, so the ordering and
 * the failure behaviour are unit-tested against a model cluster; membership-live.ts supplies the real ones
 * (StoreClient over mTLS, connectors). A failed step stops the run with a StepError naming the host and the
 * step; because planning reads the live member list, the next `quorum provision` resumes from there.
 */
import { StepError } from '../../toolkit/engine/index.js';
import { type MembershipPlan, type MembershipStep, describeStep } from './membership.js';

/** A member as the cluster lists it, with what the planner needs. */
export interface LiveMember {
  id: bigint;
  /** Member name; an added learner that never started has none in etcd: the API maps it by peer address. */
  name: string;
  /** Host address (from the peer URL). */
  address: string;
  isLearner: boolean;
  healthy: boolean;
  isLeader: boolean;
}

/** The cluster operations (etcd Cluster/Maintenance API). Each throws Error with a one-line message. */
export interface MembershipApi {
  members(): Promise<LiveMember[]>;
  /** MemberAdd as learner with the host's peer URL; returns the new member ID. */
  addLearner(name: string): Promise<bigint>;
  promote(id: bigint): Promise<void>;
  remove(id: bigint): Promise<void>;
  /** Maintenance.MoveLeader sent to the current leader. */
  moveLeader(leaderId: bigint, targetId: bigint): Promise<void>;
  /** The learner's applied index reached the leader's. */
  caughtUp(id: bigint): Promise<boolean>;
}

/** The host operations. `view` is the member set the host's files must describe (inventory order). */
export interface MembershipHostOps {
  /** /etc/hosts, firewall and (when nothing else is pending) initial-cluster of `hosts`, without restarts. */
  updatePeers(hosts: string[], before: string[], after: string[]): Promise<void>;
  /** Every per-host task for a joiner, with `initial-cluster-state: existing` and `view` as initial-cluster. */
  provisionJoiner(host: string, view: string[]): Promise<void>;
  start(host: string): Promise<void>;
  /** Stops and disables quorumd; `bestEffort`: an unreachable host is reported, not fatal. */
  stop(host: string): Promise<void>;
  /** Deletes everything inside the data dir. */
  wipe(host: string): Promise<void>;
}

/** Options of `runMembership`. */
export interface MembershipRunOptions {
  api: MembershipApi;
  hosts: MembershipHostOps;
  /** The health gate over the given voters (throws StepError when not healthy in time). */
  gate(voters: string[], why: string): Promise<void>;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Polls of `caughtUp` before giving up (default 120) and the pause between them, ms (default 1000). */
  catchUpPolls?: number;
  pollMs?: number;
  /** Warnings that do not stop the run (a removed host that cannot be stopped or wiped). */
  warn?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `plan` (must be ok). Throws StepError on the first failed step. Removed hosts that cannot be
 * reached for `stop`/`wipe` only warn (they are no longer members: the cluster is safe either way).
 */
export async function runMembership(plan: MembershipPlan, o: MembershipRunOptions): Promise<void> {
  if (!plan.ok) throw new StepError('cluster', 'membership', plan.reason, 'fix the inventory or pass --allow-even');
  const ids = new Map<string, bigint>();
  for (const m of await o.api.members()) ids.set(m.name, m.id);
  const idOf = (host: string): bigint => {
    const id = ids.get(host);
    if (id === undefined) throw new Error(`${host} is not in the member list`);
    return id;
  };
  let voters = [...plan.from];
  /** The voters just before the last removal (the removed host at its place). */
  let beforeRemoval = voters;
  for (const s of plan.steps) {
    o.log?.(describeStep(s));
    try {
      await runStep(s);
    } catch (e) {
      if (e instanceof StepError) throw e;
      throw StepError.from(s.host, `membership: ${s.op}`, e, remedyOf(s));
    }
    voters = s.voters;
  }

  async function runStep(s: MembershipStep): Promise<void> {
    switch (s.op) {
      case 'gate': return o.gate(s.voters, s.why);
      case 'update-peers': {
        const before = s.why === 'add' ? voters : beforeRemoval;
        const after = s.why === 'add' ? [...voters, s.host] : s.voters;
        return o.hosts.updatePeers(s.hosts, before, after);
      }
      case 'add-learner': ids.set(s.host, await o.api.addLearner(s.host)); return;
      case 'provision-joiner': return o.hosts.provisionJoiner(s.host, s.initialCluster);
      case 'start': return o.hosts.start(s.host);
      case 'wait-caught-up': {
        const polls = o.catchUpPolls ?? 120;
        for (let i = 0; i < polls; i++) {
          if (await o.api.caughtUp(idOf(s.host))) return;
          await sleep(o.pollMs ?? 1000);
        }
        throw new Error(`learner ${s.host} has not caught up after ${polls} polls`);
      }
      case 'promote': {
        // The leader refuses a learner that is not in sync yet: retry a few times.
        for (let i = 0; ; i++) {
          try { await o.api.promote(idOf(s.host)); return; } catch (e) {
            if (i >= 9 || !/in sync|not ready/i.test((e as Error).message)) throw e;
            await sleep(o.pollMs ?? 1000);
          }
        }
      }
      case 'move-leader': return o.api.moveLeader(idOf(s.host), idOf(s.to));
      case 'remove-member': beforeRemoval = voters; await o.api.remove(idOf(s.host)); ids.delete(s.host); return;
      case 'stop':
      case 'wipe':
        try {
          await (s.op === 'stop' ? o.hosts.stop(s.host) : o.hosts.wipe(s.host));
        } catch (e) {
          o.warn?.(`${s.host}: ${s.op} failed (${(e as Error).message}); it is no longer a member: ${s.op === 'wipe' ? 'wipe its data dir' : 'stop quorumd on it'} before reusing the host`);
        }
        return;
    }
  }
}

function remedyOf(s: MembershipStep): string {
  switch (s.op) {
    case 'add-learner':
    case 'promote': return 'rerun `quorum provision`: the plan resumes from the current member list';
    case 'wait-caught-up':
    case 'start': return `look at \`journalctl -u quorumd.service\` on ${s.host}; the learner does not vote, the cluster is safe; rerun to resume`;
    case 'remove-member': return 'check the cluster health (`quorum status`) and rerun';
    default: return 'rerun `quorum provision` once the cause is fixed';
  }
}
