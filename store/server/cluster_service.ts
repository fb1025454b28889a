/**
 * etcdserverpb.Cluster (MemberAdd, MemberRemove, MemberUpdate, MemberList, MemberPromote) and Maintenance.MoveLeader,
 * with etcd 3.4's checks and errors (etcdserver/server.go, api/v3rpc/member.go, maintenance.go). Changes go
 * through Raft one at a time (cluster_node.ts); strict reconfiguration checks (--strict-reconfig-check, on by
 * default in etcd) refuse a change that would leave fewer started voters than a quorum.
 */
import { ConfChangeType } from '../raft/index.js';
import { enoughStartedToAdd, enoughStartedToRemove, memberErrors, MAX_LEARNERS } from './cluster_membership.js';
import { computeMemberId } from './ids.js';
import type { MemberInfo } from './members.js';
import type { QuorumNode } from './node.js';
import { header, unary } from './wire.js';

/** A member as etcdserverpb.Member. A member that has not published itself has an empty name and no client URLs. */
export function memberToWire(m: MemberInfo): Record<string, unknown> {
  return {
    ID: m.id.toString(),
    name: m.clientUrls.length > 0 ? m.name : '',
    peerURLs: m.peerUrls,
    clientURLs: m.clientUrls,
    isLearner: !!m.isLearner,
  };
}

/** All members sorted by ID, as etcd lists them. */
export function membersToWire(node: QuorumNode): Record<string, unknown>[] {
  return [...node.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(memberToWire);
}

/** etcd's URL check for member add/update (types.NewURLs): http(s)://host:port, no path. Throws "given member URLs are invalid". */
export function checkPeerUrls(urls: string[]): string[] {
  if (urls.length === 0) throw memberErrors.badUrls();
  for (const u of urls) {
    let p: URL;
    try {
      p = new URL(u);
    } catch {
      throw memberErrors.badUrls();
    }
    if ((p.protocol !== 'http:' && p.protocol !== 'https:') || p.port === '' || (p.pathname !== '/' && p.pathname !== '')) throw memberErrors.badUrls();
  }
  return [...urls].sort();
}

/** How long ago a peer must have answered to count as started (etcd's HealthInterval is 5 s). */
const ACTIVE_WITHIN_MS = 5000;

/** etcd's Member.IsStarted: the member has published its name. */
function isStarted(node: QuorumNode): (id: bigint) => boolean {
  return (id) => {
    const m = node.members.find((x) => x.id === id);
    return !!m && m.clientUrls.length > 0;
  };
}

/** etcd's isConnectedFullySince: every voter reached within the health interval. */
function connectedFully(node: QuorumNode): boolean {
  return node.members.filter((m) => !m.isLearner).every((m) => node.cluster.peerActive(m.id, ACTIVE_WITHIN_MS));
}

/**
 * etcd's mayRemoveMember health part (etcd server.go): a member that is down now (not reached within the health
 * interval: etcd's transport reports ActiveSince zero for an inactive peer) is safe to remove, since it is not part
 * of the active quorum; otherwise the active voters left after the removal must still be a quorum.
 */
function healthyAfterRemove(node: QuorumNode, id: bigint): boolean {
  if (id !== node.memberId && !node.cluster.peerActive(id, ACTIVE_WITHIN_MS)) return true;
  const voters = node.members.filter((m) => !m.isLearner);
  const active = voters.filter((m) => node.cluster.peerActive(m.id, ACTIVE_WITHIN_MS)).length;
  return active - 1 >= 1 + Math.floor((voters.length - 1) / 2);
}

/** The Cluster service implementation for grpc-js addService. */
export function clusterService(node: QuorumNode): Record<string, unknown> {
  const c = node.cluster;
  return {
    MemberList: unary(async (req: { linearizable?: boolean }) => {
      if (req.linearizable) await node.readBarrier();
      return { header: header(node), members: membersToWire(node) };
    }),
    MemberAdd: unary(async (req: { peerURLs: string[]; isLearner: boolean }) => {
      const urls = checkPeerUrls(req.peerURLs ?? []);
      if (req.isLearner) {
        if (node.members.filter((m) => m.isLearner).length >= MAX_LEARNERS) throw memberErrors.tooManyLearners();
      } else {
        if (!enoughStartedToAdd(c.membership, isStarted(node))) throw memberErrors.notEnoughStarted();
        if (!connectedFully(node)) throw memberErrors.unhealthy();
      }
      for (const m of node.members) for (const u of urls) if (m.peerUrls.includes(u)) throw memberErrors.peerUrlExists();
      // etcd: NewMember(name "", peer URLs, cluster token, now): SHA-1 of the URLs + token + Unix seconds.
      const id = computeMemberId(urls, node.cfg.initialClusterToken + String(Math.floor(Date.now() / 1000)));
      await c.propose(req.isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, { id, name: '', peerUrls: urls, isLearner: !!req.isLearner });
      const added = node.members.find((m) => m.id === id)!;
      return { header: header(node), member: memberToWire(added), members: membersToWire(node) };
    }),
    MemberRemove: unary(async (req: { ID: string }) => {
      const id = BigInt(req.ID);
      const m = node.members.find((x) => x.id === id);
      if (!m) throw memberErrors.notFound();
      if (!m.isLearner) {
        if (!enoughStartedToRemove(c.membership, id, isStarted(node))) throw memberErrors.notEnoughStarted();
        if (!healthyAfterRemove(node, id)) throw memberErrors.unhealthy();
      }
      await c.propose(ConfChangeType.RemoveNode, { id, name: m.name, peerUrls: m.peerUrls, isLearner: !!m.isLearner });
      return { header: header(node), members: membersToWire(node) };
    }),
    MemberUpdate: unary(async (req: { ID: string; peerURLs: string[] }) => {
      const id = BigInt(req.ID);
      const urls = checkPeerUrls(req.peerURLs ?? []);
      const m = node.members.find((x) => x.id === id);
      if (!m) throw memberErrors.notFound();
      await c.propose(ConfChangeType.UpdateNode, { id, name: m.name, peerUrls: urls, isLearner: !!m.isLearner });
      return { header: header(node), members: membersToWire(node) };
    }),
    MemberPromote: unary(async (req: { ID: string }) => {
      const id = BigInt(req.ID);
      const m = node.members.find((x) => x.id === id);
      if (!m) throw memberErrors.notFound();
      if (!m.isLearner) throw memberErrors.notLearner();
      await c.checkLearnerReady(id);
      if (!enoughStartedToAdd(c.membership, isStarted(node), isStarted(node)(id) ? 1 : 0)) throw memberErrors.notEnoughStarted();
      await c.propose(ConfChangeType.AddNode, { id, name: m.name, peerUrls: m.peerUrls, isLearner: false }, true);
      return { header: header(node), members: membersToWire(node) };
    }),
  };
}

/** Maintenance.MoveLeader, to merge into the Maintenance implementation. */
export function moveLeaderHandler(node: QuorumNode): Record<string, unknown> {
  return {
    MoveLeader: unary(async (req: { targetID: string }) => {
      await node.cluster.moveLeader(BigInt(req.targetID));
      return { header: header(node) };
    }),
  };
}
