/**
 * Leadership for rolling restarts and upgrades, through the store's own API over mTLS: who leads and who could
 * take over (Maintenance.Status on every member), and the hand-over (Maintenance.MoveLeader, etcd's
 * `etcdctl move-leader`; Raft thesis §3.10: the leader brings the transferee's log up to date, then sends it
 * TimeoutNow).
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import type { Leadership } from './upgrade-rolling.js';
import { type StatusResult, clientEndpoints, readClientTls, shortError, statusAll } from './store.js';

/**
 * How far (in applied Raft entries) a member may trail the leader and still count as caught up. Statuses are
 * read one member at a time under a write load, so an exact match would exclude healthy members; MoveLeader
 * makes the leader send the transferee the rest of its log before handing over anyway.
 */
export const CATCH_UP_SLACK = 200;

/** Timeout of one MoveLeader call, ms (quorumd answers once the transferee leads, or after its request timeout). */
export const MOVE_LEADER_TIMEOUT_MS = 30_000;

/**
 * Pure: the leader (the member whose ID is the leader every member names) and the voters that are healthy and
 * within `CATCH_UP_SLACK` applied entries of it, in inventory order. No leader: `leader` undefined, nobody caught up.
 */
export function leadershipOf(results: StatusResult[]): Leadership {
  const lead = results.find((r) => r.status && r.status.leader !== 0n && r.status.memberId === r.status.leader);
  if (!lead) return { caughtUp: [] };
  const applied = lead.status!.raftAppliedIndex;
  const caughtUp = results.filter((r) => r.status && !r.status.errors.length && r.status.leader === lead.status!.leader
    && !r.status.isLearner && r.status.raftAppliedIndex + CATCH_UP_SLACK >= applied).map((r) => r.name);
  return { leader: lead.name, caughtUp };
}

/** The live leadership of `inv`'s cluster (statuses from `probe`, default `statusAll`). Never throws. */
export async function liveLeadership(inv: Inventory, probe?: () => Promise<StatusResult[]>): Promise<Leadership> {
  return leadershipOf(await (probe ?? (() => statusAll(inv)))());
}

/**
 * Asks member `from` (the leader) to hand leadership to member `to` (inventory names) and waits for the
 * answer. Throws Error (one line) when `to` does not answer its status, or MoveLeader fails
 * ("etcdserver: not leader", "etcdserver: bad leader transferee", "... leader transfer took too long").
 */
export async function moveLeaderLive(inv: Inventory, from: string, to: string): Promise<void> {
  const tls = readClientTls(inv);
  const endpoints = clientEndpoints(inv);
  const index = (name: string): number => {
    const i = inv.hosts.findIndex((h) => h.name === name);
    if (i < 0) throw new Error(`${name} is not in the inventory`);
    return i;
  };
  const { StoreClient } = await import('../../store/client/client.js');
  const target = new StoreClient(endpoints[index(to)]!, tls, { timeoutMs: 5_000 });
  const leader = new StoreClient(endpoints[index(from)]!, tls, { timeoutMs: MOVE_LEADER_TIMEOUT_MS });
  try {
    let id: bigint;
    try {
      id = (await target.status()).memberId;
    } catch (e) {
      throw new Error(`${to} does not answer its status: ${shortError((e as Error).message)}`);
    }
    try {
      await leader.unary('Maintenance', 'MoveLeader', { targetID: id.toString() });
    } catch (e) {
      throw new Error(`MoveLeader on ${from} to ${to}: ${shortError((e as Error).message)}`);
    }
  } finally {
    target.close();
    leader.close();
  }
}
