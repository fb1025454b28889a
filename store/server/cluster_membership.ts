/**
 * Runtime membership (etcd's membership.RaftCluster): the member list lives in the applied state and changes
 * only through Raft ConfChange entries, one at a time (Raft thesis §4.1). The entry's context carries the member
 * record (ID chosen by the proposer, name, peer URLs, learner flag) and the proposer's request id. Every member
 * validates a change when it APPLIES it, against the same applied state, so all members accept or reject it alike
 * (etcd's ValidateConfigurationChange); a rejected change leaves raft's configuration unchanged.
 */
import { status } from '@grpc/grpc-js';
import { type ConfChange, ConfChangeType, type ConfState } from '../raft/index.js';
import { EtcdError } from './errors.js';
import type { MemberInfo } from './members.js';

/** etcd's membership errors as they reach gRPC clients (api/v3rpc/rpctypes). */
export const memberErrors = {
  exists: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  notFound: () => new EtcdError(status.NOT_FOUND, 'etcdserver: member not found'),
  peerUrlExists: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  badUrls: () => new EtcdError(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  notEnoughStarted: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'),
  notLearner: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  learnerNotReady: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  notLeader: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: not leader'),
  badLeaderTransferee: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  unhealthy: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: unhealthy cluster'),
  removed: () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: the member has been permanently removed from the cluster'),
  reconfigDropped: () => new EtcdError(status.UNAVAILABLE, 'etcdserver: request timed out'),
};

/** etcd 3.4's limit on learners in a cluster. */
export const MAX_LEARNERS = 1;

/** The context of a ConfChange entry (versioned JSON). */
export interface MemberChange {
  reqId: string;
  member: { id: bigint; name: string; peerUrls: string[]; isLearner: boolean };
  /** AddNode on an existing learner. */
  promote: boolean;
}

/** Encode a ConfChange context. */
export function encodeMemberChange(c: MemberChange): Uint8Array {
  const o = { v: 1, reqId: c.reqId, id: c.member.id.toString(), name: c.member.name, peerUrls: c.member.peerUrls, isLearner: c.member.isLearner, promote: c.promote };
  return new Uint8Array(Buffer.from(JSON.stringify(o), 'utf8'));
}

/** Decode a ConfChange context; throws Error on an unknown version. */
export function decodeMemberChange(data: Uint8Array): MemberChange {
  const o = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Record<string, any>;
  if (o.v !== 1) throw new Error(`conf change context: unsupported version ${o.v}`);
  return {
    reqId: String(o.reqId),
    member: { id: BigInt(o.id), name: String(o.name ?? ''), peerUrls: (o.peerUrls as unknown[]).map(String), isLearner: !!o.isLearner },
    promote: !!o.promote,
  };
}

const sameUrlSet = (a: string[], b: string[]) => [...a].sort().join(',') === [...b].sort().join(',');

/**
 * The applied membership. `members` is the live array the rest of the server reads (mutated in place).
 */
export class Membership {
  /** IDs removed from the cluster: never accepted again (etcd keeps them in the store). */
  readonly removed = new Set<bigint>();

  constructor(readonly members: MemberInfo[]) {}

  find(id: bigint): MemberInfo | undefined {
    return this.members.find((m) => m.id === id);
  }

  /** Raft's view: voters and learners. */
  confState(): ConfState {
    const voters = this.members.filter((m) => !m.isLearner).map((m) => m.id);
    const learners = this.members.filter((m) => m.isLearner).map((m) => m.id);
    const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
    return { voters: voters.sort(cmp), learners: learners.sort(cmp) };
  }

  /** The error etcd reports for `cc` against the current state, or undefined when it may be applied. */
  validate(cc: ConfChange, c: MemberChange): EtcdError | undefined {
    const id = cc.nodeId;
    if (this.removed.has(id)) return memberErrors.notFound();
    const cur = this.find(id);
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode:
        if (c.promote) {
          if (!cur) return memberErrors.notFound();
          if (!cur.isLearner) return memberErrors.notLearner();
          return undefined;
        }
        if (cur) return memberErrors.exists();
        for (const m of this.members) for (const u of c.member.peerUrls) if (m.peerUrls.includes(u)) return memberErrors.peerUrlExists();
        if (cc.type === ConfChangeType.AddLearnerNode && this.members.filter((m) => m.isLearner).length >= MAX_LEARNERS) return memberErrors.tooManyLearners();
        return undefined;
      case ConfChangeType.RemoveNode:
        return cur ? undefined : memberErrors.notFound();
      case ConfChangeType.UpdateNode:
        if (!cur) return memberErrors.notFound();
        for (const m of this.members) {
          if (m.id === id) continue;
          for (const u of c.member.peerUrls) if (m.peerUrls.includes(u)) return memberErrors.peerUrlExists();
        }
        return undefined;
    }
  }

  /** Applies a validated change to the member list. */
  apply(cc: ConfChange, c: MemberChange): void {
    const id = cc.nodeId;
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const cur = this.find(id);
        if (cur) {
          if (c.promote) cur.isLearner = false;
          return;
        }
        this.members.push({ id, name: c.member.name, peerUrls: [...c.member.peerUrls], clientUrls: [], isLearner: cc.type === ConfChangeType.AddLearnerNode });
        return;
      }
      case ConfChangeType.RemoveNode: {
        const i = this.members.findIndex((m) => m.id === id);
        if (i >= 0) this.members.splice(i, 1);
        this.removed.add(id);
        return;
      }
      case ConfChangeType.UpdateNode: {
        const cur = this.find(id)!;
        if (!sameUrlSet(cur.peerUrls, c.member.peerUrls)) cur.peerUrls = [...c.member.peerUrls];
        return;
      }
    }
  }
}

/**
 * etcd's strict reconfiguration check for adding (or promoting to) a voter (RaftCluster.IsReadyToAddVotingMember):
 * after the change the started voters must still be a quorum of the new voter count, except that a 1-member
 * cluster may always grow to 2. A member is started once it has published its name (`isStarted`).
 */
export function enoughStartedToAdd(m: Membership, isStarted: (id: bigint) => boolean, extraStarted = 0): boolean {
  const voters = m.members.filter((x) => !x.isLearner);
  const started = voters.filter((x) => isStarted(x.id)).length + extraStarted;
  const after = voters.length + 1;
  if (started === 1 && after === 2) return true;
  return started >= Math.floor(after / 2) + 1;
}

/** etcd's check for removing a voter (IsReadyToRemoveVotingMember): the started voters left must form a quorum. */
export function enoughStartedToRemove(m: Membership, id: bigint, isStarted: (id: bigint) => boolean): boolean {
  const voters = m.members.filter((x) => !x.isLearner);
  if (!voters.some((x) => x.id === id)) return true;
  const left = voters.filter((x) => x.id !== id);
  const started = left.filter((x) => isStarted(x.id)).length;
  return started >= Math.floor(left.length / 2) + 1;
}

/** etcd's learner readiness rule (isLearnerReady): the learner's match index is at least 90% of the leader's. */
export function learnerReady(leaderMatch: number, learnerMatch: number): boolean {
  return learnerMatch >= leaderMatch * 0.9;
}
