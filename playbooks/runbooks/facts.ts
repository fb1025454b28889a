/**
 * What the runbook planners decide from: every member's Status over mTLS and the membership as a member that
 * answers reports it. Gathering is the only I/O; the planners are pure functions of these facts.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { type MemberStatus, type StatusResult, readClientTls, shortError, statusAll } from '../provision/store.js';

/** A member of the cluster's membership (Cluster.MemberList). `id` is lowercase hex. */
export interface MembershipEntry { id: string; name: string; peerUrls: string[]; isLearner: boolean }

/** The facts a plan is made from. */
export interface ClusterFacts {
  /** Status of every inventory host, in inventory order. */
  statuses: StatusResult[];
  /** The membership, from the first member that answered MemberList; undefined when none did. */
  membership?: MembershipEntry[];
  /** Per host: quorumd is installed (binary and config present); only gathered for member runbooks. */
  installed?: Record<string, boolean>;
}

/** Status errors that are an active alarm (NOSPACE), not a broken member. */
export function isAlarmError(e: string): boolean {
  return /NOSPACE|space exceeded|alarm/i.test(e);
}

/** The status of `name`, when it answered. */
export function statusOf(f: ClusterFacts, name: string): MemberStatus | undefined {
  return f.statuses.find((s) => s.name === name)?.status;
}

/** A member is healthy when it answered, knows a leader and reports no errors (alarms tolerated when asked). */
export function isHealthy(f: ClusterFacts, name: string, allowAlarm = false): boolean {
  const s = statusOf(f, name);
  if (!s || s.leader === 0n) return false;
  return s.errors.filter((e) => !(allowAlarm && isAlarmError(e))).length === 0;
}

/** The name of the member every answering member names as leader (undefined when none or disputed). */
export function leaderName(f: ClusterFacts): string | undefined {
  const ids = new Set(f.statuses.filter((r) => r.status && r.status.leader !== 0n).map((r) => r.status!.leader));
  if (ids.size !== 1) return undefined;
  const id = [...ids][0]!;
  return f.statuses.find((r) => r.status?.memberId === id)?.name;
}

/** One line per member for the plan's notes: `etcd-02: raft index 41, revision 12, leader etcd-01` or its error. */
export function describeFacts(f: ClusterFacts): string[] {
  const leader = leaderName(f);
  return f.statuses.map((r) => {
    if (!r.status) return `${r.name}: not answering (${r.error ?? 'no answer'})`;
    const s = r.status;
    const role = s.leader === 0n ? 'no leader' : r.name === leader ? 'leader' : s.isLearner ? 'learner' : 'follower';
    return `${r.name}: ${role}, raft index ${s.raftIndex}, revision ${s.revision}, db ${s.dbSize} bytes${s.errors.length ? `, errors: ${s.errors.join('; ')}` : ''}`;
  });
}

/** Reads the membership from the first answering member. Never throws (undefined when none answers). */
async function readMembership(inv: Inventory, statuses: StatusResult[], tls: ReturnType<typeof readClientTls>): Promise<MembershipEntry[] | undefined> {
  const { StoreClient } = await import('../../store/client/client.js');
  for (const r of statuses.filter((x) => x.status)) {
    const c = new StoreClient(r.endpoint, tls, { timeoutMs: 3_000 });
    try {
      const ms = await c.memberList();
      return ms.map((m) => ({ id: m.id.toString(16), name: m.name, peerUrls: m.peerURLs, isLearner: m.isLearner }));
    } catch {
      // try the next member
    } finally {
      c.close();
    }
  }
  void inv;
  return undefined;
}

/** Gathers statuses and membership over mTLS (never throws for unreachable members). */
export async function gatherClusterFacts(inv: Inventory): Promise<ClusterFacts> {
  const tls = readClientTls(inv);
  const statuses = await statusAll(inv, tls);
  const membership = await readMembership(inv, statuses, tls);
  return { statuses, ...(membership ? { membership } : {}) };
}

export { shortError };
