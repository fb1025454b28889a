/**
 * The member's side of runtime reconfiguration (etcd etcdserver/server.go AddMember/RemoveMember/UpdateMember/
 * PromoteMember, applyConfChange, and the join path of etcdserver/raft.go): proposes ConfChange entries and waits
 * for them, applies them (membership, raft configuration, peer transport), answers MemberInfo to peers, joins an
 * existing cluster, and hands leadership over (MoveLeader).
 *
 * Joining (initial-cluster-state=existing, no WAL): the member asks the peers listed in --initial-cluster (other
 * than its own URLs) for MemberInfo: the cluster ID, its own member ID (the member whose peer URLs are its
 * --initial-advertise-peer-urls) and the membership at the start of their log. It starts from that membership,
 * with an empty log, and catches up through the log, applying the same conf changes as everyone.
 *
 * Every member records its IDs and the membership at the start of its log in member/bootstrap.json when it first
 * starts. A restart with initial-cluster-state=existing (or of a member that joined) takes them from there, as etcd
 * ignores --initial-cluster once it has a WAL: an operator may re-render the flags with today's member list.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  ProposalDroppedError,
  type RawNode,
  decodeConfChange,
} from '../raft/index.js';
import {
  Membership,
  type MemberChange,
  decodeMemberChange,
  encodeMemberChange,
  learnerReady,
  memberErrors,
} from './cluster_membership.js';
import type { ServerConfig } from './config.js';
import { status } from '@grpc/grpc-js';
import { errors, EtcdError as EtcdErrorCtor, type EtcdError } from './errors.js';
import type { Logger } from './log.js';
import { memberChangeLine } from './log_fields.js';
import type { MemberInfo } from './members.js';
import { type MemberInfoAnswer, type PeerMember, type Transport, fetchMemberInfo } from './transport.js';

interface ConfWaiter { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/** What the manager needs from the node (closures over its private parts). */
export interface ClusterHost {
  cfg: ServerConfig;
  log: Logger;
  requestTimeoutMs: number;
  members: MemberInfo[];
  memberId(): bigint;
  raft(): RawNode | undefined;
  transport(): Transport | undefined;
  enqueue(fn: () => void): void;
  leader(): bigint;
  isLeader(): boolean;
  onFatal(e: Error): void;
}

/** The persisted facts of a member that joined an existing cluster. */
interface BootstrapFile { joined: boolean; memberId: string; clusterId: string; bootstrap: { id: string; name: string; peerUrls: string[]; isLearner: boolean }[] }

const toPeer = (m: MemberInfo): PeerMember => ({ id: m.id, name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: !!m.isLearner });

export class ClusterManager {
  readonly membership: Membership;
  /** The membership at the start of the log (what a joining member replays from). */
  bootstrap: MemberInfo[];
  private readonly waiters = new Map<string, ConfWaiter>();
  private removedSelf = false;
  private stopping = false;

  constructor(private readonly h: ClusterHost) {
    this.membership = new Membership(h.members);
    this.bootstrap = h.members.map((m) => ({ ...m, peerUrls: [...m.peerUrls], clientUrls: [] }));
  }

  private bootstrapFile(): string {
    return join(this.h.cfg.dataDir, 'member', 'bootstrap.json');
  }

  /**
   * On restart: the IDs and starting membership recorded at first start, when this member joined an existing
   * cluster or `existingState` (initial-cluster-state=existing) says the flags need not describe the bootstrap.
   * Replaces the member list (in place) with the recorded starting membership. Undefined otherwise (then the
   * flags are checked against the WAL as before). Throws on an unreadable file.
   */
  loadBootstrap(existingState: boolean): { memberId: bigint; clusterId: bigint } | undefined {
    const f = this.bootstrapFile();
    if (!existsSync(f)) return undefined;
    const j = JSON.parse(readFileSync(f, 'utf8')) as BootstrapFile;
    if (!j.joined && !existingState) return undefined;
    this.setStart(j.bootstrap.map((m) => ({ id: BigInt(m.id), name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: m.isLearner })));
    return { memberId: BigInt(j.memberId), clusterId: BigInt(j.clusterId) };
  }

  private setStart(ms: MemberInfo[]): void {
    this.h.members.splice(0, this.h.members.length, ...ms.map((m) => ({ ...m, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls] })));
    this.bootstrap = ms.map((m) => ({ ...m, peerUrls: [...m.peerUrls], clientUrls: [] }));
  }

  /**
   * Join an existing cluster (see the module comment). Tries each peer URL of --initial-cluster that is not
   * this member's own, retrying for up to `timeoutMs` (default 30 s). Throws Error when no peer answers or this
   * member's peer URLs are not in the cluster (it was not added with `member add`).
   */
  async join(timeoutMs = 30000): Promise<{ memberId: bigint; clusterId: bigint }> {
    const own = new Set(this.h.cfg.initialAdvertisePeerUrls);
    const urls = this.h.cfg.initialCluster.flatMap((m) => m.peerUrls).filter((u) => !own.has(u));
    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) =>
      new Error(
        `--initial-cluster-state=existing but data-dir ${this.h.cfg.dataDir} has no WAL: joining an existing cluster failed: ${why} ` +
          `(fix: add this member first with 'member add' and start it with the --initial-cluster that command prints, ` +
          `or use --initial-cluster-state=new for a new cluster)`,
      );
    if (urls.length === 0) throw fail('--initial-cluster lists no other member to join');
    let lastErr = '';
    while (Date.now() < deadline) {
      for (const url of urls) {
        try {
          const info = await fetchMemberInfo(url, this.h.cfg.peerTls, 2000);
          const self = info.members.find((m) => m.peerUrls.some((u) => own.has(u)));
          if (!self) {
            throw new Error(`member with peer URLs ${[...own].join(',')} is not in the cluster of ${url} (add it first: member add)`);
          }
          const start = info.bootstrapMembers.length > 0 ? info.bootstrapMembers : info.members;
          this.setStart(start.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: m.isLearner })));
          this.saveBootstrap(true, self.id, info.clusterId);
          this.h.log.info('joining an existing cluster', { 'local-member-id': self.id, 'cluster-id': info.clusterId, from: url });
          return { memberId: self.id, clusterId: info.clusterId };
        } catch (e) {
          lastErr = (e as Error).message;
          if (/is not in the cluster/.test(lastErr)) throw fail(lastErr);
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw fail(`could not retrieve cluster information from ${urls.join(',')}: ${lastErr}`);
  }

  /** Record the IDs and the starting membership (member/bootstrap.json, written atomically). */
  saveBootstrap(joined: boolean, memberId: bigint, clusterId: bigint): void {
    const j: BootstrapFile = {
      joined, memberId: memberId.toString(), clusterId: clusterId.toString(),
      bootstrap: this.bootstrap.map((m) => ({ id: m.id.toString(), name: m.name, peerUrls: m.peerUrls, isLearner: !!m.isLearner })),
    };
    const f = this.bootstrapFile();
    mkdirSync(join(this.h.cfg.dataDir, 'member'), { recursive: true });
    writeFileSync(f + '.tmp', JSON.stringify(j), { mode: 0o600 });
    renameSync(f + '.tmp', f);
  }

  /** MemberInfo answer for peers. */
  memberInfo(name: string, clientUrls: string[]): MemberInfoAnswer {
    const raft = this.h.raft();
    return {
      name, clientUrls,
      members: this.h.members.map(toPeer),
      bootstrapMembers: this.bootstrap.map(toPeer),
      progress: raft?.progress() ?? new Map(),
      leader: this.h.leader(),
    };
  }

  /** Apply one committed ConfChange entry (also during WAL replay, when raft is not built yet). */
  applyConfEntry(e: Entry): void {
    let cc: ConfChange;
    let c: MemberChange;
    try {
      cc = decodeConfChange(e.data);
      c = decodeMemberChange(cc.context);
    } catch (err) {
      // skipping it would leave this member's membership and raft configuration apart from the others': stop (etcd panics)
      this.h.log.error('cannot decode a conf change entry; stopping this member', { index: e.index, term: e.term, error: (err as Error).message });
      throw new Error(`cannot decode the conf change entry at index ${e.index} (term ${e.term}): ${(err as Error).message}`);
    }
    const err = this.membership.validate(cc, c);
    const raft = this.h.raft();
    if (!err) {
      const before = this.h.members.find((m) => m.id === cc.nodeId);
      const oldUrls = before ? [...before.peerUrls] : [];
      this.membership.apply(cc, c);
      if (raft) {
        raft.applyConfChange(cc);
        const want = this.membership.confState();
        const got = raft.confState();
        if (want.voters.join() !== got.voters.join() || want.learners.join() !== got.learners.join()) raft.setConfState(want);
      }
      this.syncTransport(cc, c, oldUrls);
      const line = memberChangeLine(cc.type, this.h.memberId(), { ...c.member, id: cc.nodeId }, c.promote, e.term, e.index);
      this.h.log.info(line.msg, line.fields);
      if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.h.memberId()) this.removedSelf = true;
    } else {
      this.h.log.warn('rejected a configuration change', { type: ConfChangeType[cc.type], 'member-id': cc.nodeId.toString(16), error: err.message });
    }
    const w = this.waiters.get(c.reqId);
    if (w) {
      this.waiters.delete(c.reqId);
      clearTimeout(w.timer);
      if (err) w.reject(err);
      else w.resolve();
    }
    if (this.removedSelf && raft) this.stopRemoved();
  }

  /** After a WAL replay: hand raft the configuration the log produced; a removed member stops. */
  afterReplay(): void {
    this.h.raft()?.setConfState(this.membership.confState());
    if (this.removedSelf) this.stopRemoved();
  }

  /** A peer refused our messages because we were removed (we missed our own removal entry). */
  removedByPeer(): void {
    if (this.removedSelf) return;
    this.removedSelf = true;
    this.stopRemoved();
  }

  private stopRemoved(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.h.log.warn('the member has been permanently removed from the cluster', { 'local-member-id': this.h.memberId() });
    // let the response to a MemberRemove sent to this very member go out first
    setTimeout(() => this.h.onFatal(new Error('the member has been permanently removed from the cluster')), 300).unref();
  }

  private syncTransport(cc: ConfChange, c: MemberChange, oldUrls: string[]): void {
    const t = this.h.transport();
    if (!t) return;
    if (cc.type === ConfChangeType.RemoveNode) t.removePeer(cc.nodeId);
    else if (cc.type === ConfChangeType.UpdateNode) {
      if (oldUrls.join() !== c.member.peerUrls.join()) t.updatePeer(cc.nodeId, c.member.peerUrls);
    } else {
      const m = this.membership.find(cc.nodeId);
      if (m) t.addPeer(m.id, m.peerUrls);
    }
  }

  /**
   * Propose a conf change and wait until it is applied here. Rejects with the apply-time validation error
   * (memberErrors), or "etcdserver: request timed out" after requestTimeoutMs (also when the leader dropped the
   * change because another one was still being applied), or "etcdserver: server stopped".
   */
  propose(type: ConfChangeType, member: MemberChange['member'], promote = false): Promise<void> {
    const reqId = randomBytes(8).toString('hex');
    const context = encodeMemberChange({ reqId, member, promote });
    const cc: ConfChange = { type, nodeId: member.id, context };
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiters.delete(reqId)) reject(this.h.leader() === 0n ? errors.timeoutLeaderFail() : errors.timeout());
      }, this.h.requestTimeoutMs);
      this.waiters.set(reqId, { resolve, reject, timer });
      const attempt = () => {
        if (!this.waiters.has(reqId)) return;
        const raft = this.h.raft();
        try {
          if (!raft || this.h.leader() === 0n) throw new ProposalDroppedError('no leader');
          raft.proposeConfChange(cc);
        } catch (e) {
          if (!(e instanceof ProposalDroppedError)) {
            this.waiters.delete(reqId);
            clearTimeout(timer);
            reject(e as Error);
            return;
          }
          setTimeout(() => this.h.enqueue(attempt), 100).unref();
        }
      };
      this.h.enqueue(attempt);
    });
  }

  /** Fail every waiting proposal (the server stops). */
  stop(): void {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(errors.stopped());
    }
    this.waiters.clear();
  }

  /**
   * etcd's isLearnerReady: the learner's match index must be >= 90% of the leader's. Asked of the leader's raft
   * progress (here, or over the peer port when this member is a follower). Throws memberErrors.learnerNotReady.
   */
  async checkLearnerReady(id: bigint): Promise<void> {
    let progress: Map<bigint, number>;
    const lead = this.h.leader();
    if (lead === 0n) throw errors.noLeader();
    if (this.h.isLeader()) progress = this.h.raft()?.progress() ?? new Map();
    else {
      const lm = this.membership.find(lead);
      if (!lm) throw memberErrors.learnerNotReady();
      let info;
      for (const url of lm.peerUrls) {
        try {
          info = await fetchMemberInfo(url, this.h.cfg.peerTls, 2000);
          break;
        } catch {
          /* try the next URL */
        }
      }
      if (!info) throw errors.timeout();
      progress = info.progress;
    }
    const leaderMatch = progress.get(lead);
    const learnerMatch = progress.get(id);
    if (leaderMatch === undefined || learnerMatch === undefined || !learnerReady(leaderMatch, learnerMatch)) throw memberErrors.learnerNotReady();
  }

  /**
   * MoveLeader (etcd EtcdServer.MoveLeader): only on the leader ("etcdserver: not leader"), only to a voting
   * member ("etcdserver: bad leader transferee"); waits (polling every heartbeat) until `to` leads, or rejects
   * with "etcdserver: request timed out, leader transfer took too long" after requestTimeoutMs.
   */
  async moveLeader(to: bigint): Promise<void> {
    if (!this.h.isLeader()) throw memberErrors.notLeader();
    const m = this.membership.find(to);
    if (!m || m.isLearner) throw memberErrors.badLeaderTransferee();
    if (to === this.h.memberId()) return;
    const deadline = Date.now() + this.h.requestTimeoutMs;
    this.h.enqueue(() => this.h.raft()?.transferLeader(to));
    while (this.h.leader() !== to) {
      if (Date.now() > deadline) throw new EtcdErrorCtor(status.UNAVAILABLE, 'etcdserver: request timed out, leader transfer took too long');
      await new Promise((r) => setTimeout(r, this.h.cfg.heartbeatIntervalMs));
    }
  }

  /** Whether the peer transport reached `id` within `withinMs` ms (itself: always). */
  peerActive(id: bigint, withinMs: number): boolean {
    return this.h.transport()?.isActive(id, withinMs) ?? false;
  }

  /** An error if `e` is one of ours (typed for callers). */
  static isEtcd(e: unknown): e is EtcdError {
    return (e as EtcdError)?.name === 'EtcdError';
  }
}
