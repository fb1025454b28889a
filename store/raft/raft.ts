/**
 * The Raft consensus algorithm as a pure state machine (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", 2014, and Ongaro's thesis "Consensus: Bridging Theory and
 * Practice", 2014). Messages and ticks go in; messages to send, entries to persist and entries
 * to apply come out through RawNode's Ready. Each role is a plain step function
 * (stepLeader / stepCandidate / stepFollower) as in etcd-io/raft.
 *
 * Implemented: leader election (§5.2) with randomized timeouts, pre-vote (thesis §9.6),
 * check-quorum with a leader lease (thesis §6.2), log replication with fast backtracking (§5.3),
 * the election restriction (§5.4.1), the commit rule (§5.4.2), read index (thesis §6.4),
 * snapshots for lagging followers (§7), single-server membership changes with learners (thesis §4.1,
 * §4.2.1; confchange.ts) and leadership transfer with TimeoutNow (thesis §3.10).
 */
import { type ConfChange, type ConfState, applyChange } from './confchange.js';
import { ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { Progress, ProgressState } from './progress.js';
import { VoteResult, committedIndex, hasQuorum, voteResult } from './quorum.js';
import { Rand } from './rand.js';
import { ReadOnly } from './readonly.js';
import { CompactedError, type Storage } from './storage.js';
import { stepCandidate, stepFollower, stepLeader } from './step.js';
import {
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  NONE,
  type ReadState,
  Role,
  type Snapshot,
  type SoftState,
  emptyMessage,
} from './types.js';

/** Configuration of one raft node. Ticks are the caller's unit (one heartbeat interval each). */
export interface RaftConfig {
  /** This node's ID (non-zero). */
  id: NodeId;
  /**
   * The voters, used when storage.initialState() reports none (a fresh cluster). May be empty for a
   * member joining an existing cluster: it then waits for the leader and learns the configuration
   * from the conf change entries it applies (it cannot campaign while it is not a voter).
   */
  voters: NodeId[];
  /** The learners (non-voting members) of a fresh configuration; default none. */
  learners?: NodeId[];
  /** Election timeout in ticks; the randomized timeout is drawn from [electionTick, 2*electionTick). Must exceed heartbeatTick. */
  electionTick: number;
  /** Ticks between leader heartbeats. */
  heartbeatTick: number;
  /** The durable log; see Storage. */
  storage: Storage;
  /** Last index the application has applied (on restart: the index of the snapshot it loaded). Defaults to storage.firstIndex() - 1. Must be <= the persisted commit. */
  applied?: number;
  /** Enable pre-vote (thesis §9.6). Default false. */
  preVote?: boolean;
  /** Enable check-quorum and the leader lease (thesis §6.2). Default false. */
  checkQuorum?: boolean;
  /** Byte budget of the entries in one append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Maximum append messages in flight per follower while replicating. Default 256. */
  maxInflightMsgs?: number;
  /** PRNG seed for the randomized election timeout; default derived from `id`. */
  seed?: number;
}

type StepFn = (r: Raft, m: Message) => void;

/** Responses and transport reports: only meaningful from a known peer. */
export function isResponse(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.PreVoteResp ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus
  );
}

/** Context of the vote requests of an election forced by TimeoutNow: it bypasses the leader lease (thesis §3.10). */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

function isTransferCampaign(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
}

/** The raft state machine. Driven by RawNode; exposed for tests and diagnostics. */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  voters: NodeId[];
  /** Non-voting members: they receive the log but neither vote nor count in any quorum. */
  learners: NodeId[];
  /** Leader: the log index of the last conf change proposed; a new one is refused until it is applied (thesis §4.1). */
  pendingConfIndex = 0;
  /** Leader: the voter leadership is being handed to (NONE when no transfer is under way). */
  leadTransferee: NodeId = NONE;
  /** Leader only: one Progress per voter and learner (including itself). */
  readonly prs = new Map<NodeId, Progress>();
  /** Votes received in the current (pre-)election. */
  readonly votes = new Map<NodeId, boolean>();
  /** Outgoing messages not yet handed out by Ready. */
  msgs: Message[] = [];
  /** Read-index results not yet handed out by Ready. */
  readStates: ReadState[] = [];

  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxMsgSize: number;
  readonly maxInflight: number;
  /** Leader: ticks since the last check-quorum round; others: ticks since hearing from a leader. */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  private readonly rand: Rand;
  private readonly readOnly = new ReadOnly();
  /** Read-index requests that arrived before the leader committed an entry of its term. */
  private pendingReadIndex: Message[] = [];
  private stepFn: StepFn = stepFollower;

  /** Throws on an invalid configuration or an inconsistent storage state. */
  constructor(cfg: RaftConfig) {
    if (cfg.id === NONE) throw new Error('raft: cannot use none as id');
    if (cfg.heartbeatTick <= 0) throw new Error('raft: heartbeat tick must be greater than 0');
    if (cfg.electionTick <= cfg.heartbeatTick) throw new Error('raft: election tick must be greater than heartbeat tick');
    this.id = cfg.id;
    this.electionTick = cfg.electionTick;
    this.heartbeatTick = cfg.heartbeatTick;
    this.preVote = cfg.preVote ?? false;
    this.checkQuorum = cfg.checkQuorum ?? false;
    this.maxMsgSize = cfg.maxSizePerMsg ?? 1024 * 1024;
    this.maxInflight = cfg.maxInflightMsgs ?? 256;
    if (this.maxInflight <= 0) throw new Error('raft: max inflight messages must be greater than 0');
    this.rand = new Rand(cfg.seed ?? Rand.seedFromId(cfg.id));
    this.log = new RaftLog(cfg.storage, this.maxMsgSize);

    const init = cfg.storage.initialState();
    const fromStorage = init.voters.length > 0;
    this.voters = fromStorage ? [...init.voters] : [...cfg.voters];
    this.learners = fromStorage ? [...(init.learners ?? [])] : [...(cfg.learners ?? [])];
    const hardState = init.hardState;
    this.loadState(hardState);
    if (cfg.applied !== undefined && cfg.applied > 0) this.log.appliedTo(cfg.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadState(hs: HardState): void {
    if (hs.term === 0 && hs.vote === NONE && hs.commit === 0) return;
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new Error(`raft: hard state commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /** Whether this node may campaign: only voters can (§5.2). */
  promotable(): boolean {
    return this.voters.includes(this.id);
  }

  // ---- sending -------------------------------------------------------------------------

  /**
   * Queues a message. Vote messages and their responses carry an explicit term; proposals and
   * read-index requests forwarded to the leader carry term 0 (they act as local messages there);
   * everything else carries the current term.
   */
  send(m: Message): void {
    // A forwarded Prop/ReadIndex keeps its originator, so the answer goes back to it.
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.Vote || t === MessageType.VoteResp || t === MessageType.PreVote || t === MessageType.PreVoteResp) {
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${MessageType[t]}`);
    } else if (t !== MessageType.Prop && t !== MessageType.ReadIndex) {
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /**
   * Sends an append (or a snapshot when the needed entries are compacted) to `to`, if its
   * progress is not paused. With `sendIfEmpty` false, nothing is sent when there are no new
   * entries. Returns whether a message was sent. (§5.3, §7)
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      ents = this.log.entriesFrom(pr.next, this.maxMsgSize);
    } catch (e) {
      if (!(e instanceof CompactedError)) throw e;
      return this.sendSnapshot(to, pr);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ ...emptyMessage(), type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    if (ents.length > 0) {
      const last = ents[ents.length - 1]!.index;
      if (pr.state === ProgressState.Replicate) {
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      } else if (pr.state === ProgressState.Probe) {
        pr.probeSent = true;
      }
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only send a (large) snapshot to a follower that is known to be reachable.
    if (!pr.recentActive) return false;
    const snapshot: Snapshot = this.log.snapshot();
    if (snapshot.meta.index === 0) throw new Error('raft: need a non-empty snapshot to send');
    this.send({ ...emptyMessage(), type: MessageType.Snap, to, snapshot });
    pr.becomeSnapshot(snapshot.meta.index);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  bcastAppend(): void {
    for (const id of [...this.prs.keys()]) if (id !== this.id) this.sendAppend(id);
  }

  /** Heartbeats carry min(match, commit) so a follower never commits past what it holds (§5.3). */
  bcastHeartbeat(ctx?: Uint8Array): void {
    const context = ctx ?? this.readOnly.lastPendingContext() ?? new Uint8Array(0);
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ ...emptyMessage(), type: MessageType.Heartbeat, to: id, commit, context });
    }
  }

  // ---- role changes ---------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.clear();
    this.prs.clear();
    this.leadTransferee = NONE;
    const last = this.log.lastIndex();
    for (const id of [...this.voters, ...this.learners]) {
      const pr = new Progress(last + 1, this.maxInflight);
      if (id === this.id) pr.match = last;
      this.prs.set(id, pr);
    }
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  /** A fresh timeout in [electionTick, 2*electionTick) ticks (§5.2: randomized to split votes rarely). */
  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTick + this.rand.intn(this.electionTick);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  becomeCandidate(): void {
    if (this.role === Role.Leader) throw new Error('raft: invalid transition [leader -> candidate]');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  /** Pre-candidates ask for votes for term+1 without changing their term or vote (thesis §9.6). */
  becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new Error('raft: invalid transition [leader -> pre-candidate]');
    this.stepFn = stepCandidate;
    this.votes.clear();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  /** On election the leader appends an empty entry of its term so it can commit (§5.4.2, thesis §6.4). */
  becomeLeader(): void {
    if (this.role === Role.Follower) throw new Error('raft: invalid transition [follower -> leader]');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.prs.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively treat every unapplied entry as a possible conf change (etcd-io/raft does the same).
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
  }

  /** Appends proposals to the leader's log (assigning term and index) and commits if alone. */
  appendEntries(ents: Entry[]): void {
    let li = this.log.lastIndex();
    const stamped = ents.map((e) => ({ ...e, term: this.term, index: ++li }));
    this.log.append(stamped);
    this.prs.get(this.id)!.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
  }

  /** Advances the commit index to the majority match if that entry is of the current term (§5.4.2). */
  maybeCommit(): boolean {
    const mci = committedIndex(this.voters, (id) => this.prs.get(id)?.match ?? 0);
    return this.log.maybeCommit(mci, this.term);
  }

  // ---- elections ------------------------------------------------------------------------

  /** Starts a pre-election (if enabled and not `forceVote`) or an election (§5.2, thesis §9.6). */
  campaign(preElection: boolean, transfer = false): void {
    let voteMsg: MessageType;
    let term: number;
    if (preElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1; // pre-votes are for the term we would campaign in
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single-voter cluster wins at once.
      if (preElection) this.campaign(false);
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    const context = transfer ? CAMPAIGN_TRANSFER : new Uint8Array(0);
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send({ ...emptyMessage(), type: voteMsg, to: id, term, index, logTerm, context });
    }
  }

  poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  // ---- ticks ----------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step({ ...emptyMessage(), type: MessageType.Hup, from: this.id });
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTick) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step({ ...emptyMessage(), type: MessageType.CheckQuorum, from: this.id });
      // A transfer that did not complete within an election timeout is abandoned (thesis §3.10).
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.step({ ...emptyMessage(), type: MessageType.Beat, from: this.id });
    }
  }

  // ---- the step function ----------------------------------------------------------------

  /**
   * Processes one message. Messages with term 0 are local (Hup, Beat, Prop, ReadIndex, ...).
   * Throws ProposalDroppedError for a Prop/ReadIndex that cannot be handled.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // Leader lease (thesis §6.2 with check-quorum, §9.6): while we heard from a leader within
        // the minimum election timeout, ignore votes so a partitioned node cannot depose it.
        const inLease =
          this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTick && !isTransferCampaign(m.context);
        if (inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; the term changes only if the election starts.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (or a node whose term was bumped in a partition) learns the current
        // term from this response; otherwise it could stay leader or keep disrupting forever.
        this.send({ ...emptyMessage(), type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ ...emptyMessage(), type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        if (this.role !== Role.Leader && this.promotable()) this.campaign(this.preVote);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        // We can vote for m.from if we already did in this term, or have not voted and know no
        // leader, or this is a pre-vote for a future term (§5.2, thesis §9.6).
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          // §5.4.1 election restriction satisfied.
          this.send({ ...emptyMessage(), type: voteRespType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else if (this.term > 0) {
          // (At term 0 there is nothing to reject with: a term-0 message would read as local.)
          this.send({ ...emptyMessage(), type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  // ---- follower-side handlers -----------------------------------------------------------

  /** AppendEntries receiver (§5.3, Figure 2), with a rejection hint for fast backtracking. */
  handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ ...emptyMessage(), type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ ...emptyMessage(), type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Reject, hinting the largest index that may match: skip every entry of ours whose term is
    // greater than the leader's term at m.index (those cannot match).
    let hintIndex = Math.min(m.index, this.log.lastIndex());
    hintIndex = this.log.findConflictByTerm(hintIndex, m.logTerm);
    const hintTerm = this.log.termOrZero(hintIndex);
    this.send({
      ...emptyMessage(),
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hintIndex,
      logTerm: hintTerm,
    });
  }

  handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send({ ...emptyMessage(), type: MessageType.HeartbeatResp, to: m.from, context: m.context });
  }

  /** InstallSnapshot receiver (§7). */
  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s !== undefined && this.restore(s)) {
      this.send({ ...emptyMessage(), type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ ...emptyMessage(), type: MessageType.AppResp, to: m.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot unless it is stale or our log already contains its last entry. */
  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.role !== Role.Follower) {
      this.becomeFollower(this.term + 1, NONE); // defensive: only followers install snapshots
      return false;
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // Our log already holds the snapshot's last entry: just fast-forward the commit index.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    if (s.meta.voters.length > 0) {
      this.voters = [...s.meta.voters];
      this.learners = [...(s.meta.learners ?? [])];
    }
    return true;
  }

  // ---- membership (thesis §4.1) and leadership transfer (thesis §3.10) ---------------------

  /** The current configuration. */
  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  /**
   * Switches to the configuration after `cc` (called when its entry is applied). The leader adds or
   * drops progress trackers, commits what the new quorum allows, and steps down when it is no longer
   * a voter; a transfer to a member that is gone is abandoned. Returns the new configuration.
   */
  applyConfChange(cc: ConfChange): ConfState {
    this.setConfState(applyChange(this.confState(), cc));
    return this.confState();
  }

  /**
   * Replaces the configuration wholesale (a joining member that did not see the log's starting
   * configuration, or a snapshot). Same leader-side effects as applyConfChange.
   */
  setConfState(cs: ConfState): void {
    this.voters = [...cs.voters];
    this.learners = [...cs.learners];
    if (this.role !== Role.Leader) return;
    const members = new Set([...this.voters, ...this.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    const last = this.log.lastIndex();
    for (const id of members) {
      if (this.prs.has(id)) continue;
      const pr = new Progress(last + 1, this.maxInflight);
      pr.recentActive = true; // give a new member an election timeout before check-quorum counts it
      this.prs.set(id, pr);
    }
    if (!this.voters.includes(this.id)) {
      // Removed (or never a voter): hand over by stepping down; the rest elect a leader.
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !this.voters.includes(this.leadTransferee)) this.leadTransferee = NONE;
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of [...this.prs.keys()]) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  /**
   * Leader: handles a conf change proposal at position `i` of a Prop (etcd's pendingConf rule):
   * while an earlier change is not applied yet the entry becomes an empty normal entry (the change
   * is dropped); otherwise it is recorded as the pending change.
   */
  admitConfChange(ents: Entry[], i: number): Entry {
    const e = ents[i]!;
    if (this.pendingConfIndex > this.log.applied) return { ...e, type: EntryType.Normal, data: new Uint8Array(0) };
    this.pendingConfIndex = this.log.lastIndex() + i + 1;
    return e;
  }

  /**
   * Leader: starts handing leadership to `to` (etcd MsgTransferLeader): only a voter other than
   * itself; proposals are refused meanwhile; once `to` has the whole log it gets TimeoutNow and
   * campaigns at once. A transfer to the same target already under way is left alone.
   */
  transferLeadership(to: NodeId): void {
    if (to === this.id || !this.voters.includes(to)) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ ...emptyMessage(), type: MessageType.TimeoutNow, to });
  }

  /** Throws ProposalDroppedError while a leadership transfer is under way (etcd's ErrProposalDropped). */
  checkNotTransferring(): void {
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('leadership transfer in progress');
  }

  // ---- read index (thesis §6.4) ---------------------------------------------------------

  /** Whether the leader has committed an entry of its own term (needed before serving reads). */
  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  /** Leader: start confirming leadership for a read request, or answer at once when alone. */
  handleReadIndex(m: Message): void {
    if (this.voters.length === 1) {
      this.answerRead(m, this.log.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // The commit index may lag behind the real one until the new leader commits in its term.
      this.pendingReadIndex.push(m);
      return;
    }
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat(m.context);
  }

  releasePendingReadIndex(): void {
    if (this.pendingReadIndex.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const m of pending) this.handleReadIndex(m);
  }

  handleReadAck(from: NodeId, ctx: Uint8Array): void {
    if (ctx.length === 0) return;
    const acks = this.readOnly.recvAck(from, ctx);
    if (acks === undefined || !hasQuorum(this.voters, (id) => acks.has(id))) return;
    for (const rs of this.readOnly.advance(ctx)) this.answerRead(rs.req, rs.index);
  }

  private answerRead(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context });
    } else {
      this.send({ ...emptyMessage(), type: MessageType.ReadIndexResp, to: req.from, index, context: req.context });
    }
  }
}
