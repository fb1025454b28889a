/**
 * RawNode: the API the server's node loop drives (etcd-io/raft rawnode.go). Inputs are tick(),
 * step(), propose(), readIndex() and campaign(); outputs are collected in a Ready record which
 * the caller processes (persist, send, apply) and then acknowledges with advance().
 * Not thread-safe by design: one loop owns it.
 */
import { type ConfChange, type ConfState, encodeConfChange } from './confchange.js';
import { ProposalDroppedError } from './errors.js';
import { Raft, type RaftConfig, isResponse } from './raft.js';
import {
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  NONE,
  type Ready,
  Role,
  type SoftState,
  emptyMessage,
} from './types.js';

/** What status() reports. */
export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  role: Role;
  lastIndex: number;
}

/** Message types that only the node itself may generate; step() ignores them from the network. */
const LOCAL_TYPES = new Set([MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum]);

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RawNode {
  /** The state machine; exposed for tests and diagnostics (read-only use). */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  /**
   * Builds a node from `cfg`; on restart, storage must hold the persisted hard state and
   * entries (the node resumes its term, vote and commit index and never votes twice in a term).
   * Throws on an invalid config (see Raft).
   */
  constructor(cfg: RaftConfig) {
    this.raft = new Raft(cfg);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** Advances logical time by one tick (one heartbeat interval). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (subject to pre-vote when enabled). */
  campaign(): void {
    this.raft.step({ ...emptyMessage(), type: MessageType.Hup, from: this.raft.id });
  }

  /**
   * Proposes `data` to be appended to the log. On a follower the proposal is forwarded to the
   * leader. Throws ProposalDroppedError when there is no leader. Acceptance is not commitment:
   * the entry may still be lost; watch committedEntries for it.
   */
  propose(data: Uint8Array): void {
    this.raft.step({
      ...emptyMessage(),
      type: MessageType.Prop,
      from: this.raft.id,
      entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
    });
  }

  /**
   * Requests a linearizable read point (Raft thesis §6.4). `ctx` must be unique among pending
   * requests; the answer arrives as a Ready.readStates element with the same requestCtx.
   * Serve the read once the applied index reaches its `index`. Throws ProposalDroppedError when
   * there is no leader; a request may also be silently lost (leader change), so time out.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step({ ...emptyMessage(), type: MessageType.ReadIndex, from: NONE, context: ctx });
  }

  /**
   * Feeds a message received from a peer. Local-only message types are ignored, as are
   * responses from unknown peers; forwarded proposals that cannot be handled are dropped.
   */
  step(m: Message): void {
    if (LOCAL_TYPES.has(m.type) && m.from !== this.raft.id) return;
    if (isResponse(m.type) && !this.raft.voters.includes(m.from) && !this.raft.learners.includes(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      if (e instanceof ProposalDroppedError) return; // the originator retries
      throw e;
    }
  }

  /**
   * Like step() for a peer's message, but a forwarded proposal or read-index request that raft drops (no
   * leader, or a leadership transfer under way) is reported by returning false: nothing was appended, so the
   * caller may step it again once a leader is known.
   */
  stepOrDropped(m: Message): boolean {
    if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) {
      this.step(m);
      return true;
    }
    try {
      this.raft.step(m);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  /**
   * Proposes a single-server membership change (Raft thesis §4.1). It takes effect when the caller
   * applies the committed entry and calls applyConfChange. While an earlier change is not applied
   * yet the leader silently turns this one into an empty entry (etcd's rule), so the caller must
   * check, when the entry is applied, that it is still a ConfChange. Throws ProposalDroppedError
   * as propose() does.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step({
      ...emptyMessage(),
      type: MessageType.Prop,
      from: this.raft.id,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
    });
  }

  /**
   * Applies a committed conf change to raft's configuration and returns the new one. Call it for
   * every applied ConfChange entry, in log order. A removed leader steps down.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Replaces the configuration (a joining member that learned it from its peers). */
  setConfState(cs: ConfState): void {
    this.raft.setConfState(cs);
  }

  /** The current configuration: voters and learners. */
  confState(): ConfState {
    return this.raft.confState();
  }

  /**
   * Asks the leader to hand leadership to the voter `to` (etcd TransferLeader; thesis §3.10).
   * On a follower the request is forwarded to the leader. Requests for a non-voter are ignored;
   * the transfer may fail silently (the caller watches the leader change, with a timeout).
   */
  transferLeader(to: NodeId): void {
    this.raft.step({ ...emptyMessage(), type: MessageType.TransferLeader, from: to });
  }

  /** Leader only: the match index per member (voters and learners), else an empty map. */
  progress(): Map<NodeId, number> {
    const out = new Map<NodeId, number>();
    if (this.raft.role !== Role.Leader) return out;
    for (const [id, pr] of this.raft.prs) out.set(id, pr.match);
    return out;
  }

  /**
   * Reports the transport's result of sending a snapshot to `to` (etcd ReportSnapshot):
   * `failed` = true lets the leader retry later.
   */
  reportSnapshot(to: NodeId, failed: boolean): void {
    this.raft.step({ ...emptyMessage(), type: MessageType.SnapStatus, from: to, reject: failed });
  }

  /** Reports that `to` could not be reached: the leader stops pipelining to it. */
  reportUnreachable(to: NodeId): void {
    this.raft.step({ ...emptyMessage(), type: MessageType.Unreachable, from: to });
  }

  /** Whether ready() would return anything to do. */
  hasReady(): boolean {
    const r = this.raft;
    const soft = r.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) return true;
    if (!sameHardState(r.hardState(), this.prevHard)) return true;
    if (r.log.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstableEntries().length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /**
   * Collects what the caller must do; see Ready for the order. Does not change state: call
   * advance(ready) once it has been processed (and do not step the node in between).
   */
  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      entries: [...r.log.unstableEntries()],
      committedEntries: r.log.nextCommittedEntries(),
      messages: [...r.msgs],
      readStates: [...r.readStates],
    };
    const soft = r.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) rd.softState = soft;
    const hard = r.hardState();
    if (!sameHardState(hard, this.prevHard)) rd.hardState = hard;
    const snap = r.log.unstable.snapshot;
    if (snap !== undefined) rd.snapshot = snap;
    return rd;
  }

  /**
   * Acknowledges a processed Ready: its entries (and snapshot) are stable, its committed
   * entries applied, its messages sent and its read states served.
   */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      if (r.log.applied < rd.snapshot.meta.index) r.log.applied = rd.snapshot.meta.index;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      r.log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    }
    r.msgs.splice(0, rd.messages.length);
    r.readStates.splice(0, rd.readStates.length);
  }

  /** A summary of the node's state. */
  status(): Status {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      lastIndex: r.log.lastIndex(),
    };
  }
}
