/**
 * The role step functions (as in etcd-io/raft's raft.go): after the term checks common to all
 * roles (Raft.step), a message goes to the function of the node's current role.
 */
import { ProposalDroppedError } from './errors.js';
import { ProgressState } from './progress.js';
import { VoteResult, hasQuorum } from './quorum.js';
import type { Raft } from './raft.js';
import { EntryType, type Message, MessageType, NONE, Role } from './types.js';

/** The leader role (§5.3 replication, §5.4.2 commit, thesis §6.2 check quorum, §6.4 reads). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      r.bcastHeartbeat();
      return;
    case MessageType.CheckQuorum: {
      // Thesis §6.2: step down if a majority has not been heard from in an election timeout.
      if (!hasQuorum(r.voters, (id) => id === r.id || (r.prs.get(id)?.recentActive ?? false))) {
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.prs) if (id !== r.id) pr.recentActive = false;
      return;
    }
    case MessageType.Prop: {
      if (m.entries.length === 0) throw new Error('raft: stepped empty MsgProp');
      if (!r.prs.has(r.id)) throw new ProposalDroppedError('leader is not a voter');
      r.checkNotTransferring();
      const ents = m.entries.map((e, i) => (e.type === EntryType.ConfChange ? r.admitConfChange(m.entries, i) : e));
      r.appendEntries(ents);
      r.bcastAppend();
      return;
    }
    case MessageType.ReadIndex:
      r.handleReadIndex(m);
      return;
    case MessageType.TransferLeader:
      // Only a voter can lead; a learner's request is ignored (etcd-io/raft).
      r.transferLeadership(m.from);
      return;
    default:
      break;
  }

  const pr = r.prs.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.AppResp: {
      pr.recentActive = true;
      if (m.reject) {
        // Fast backtracking: the follower told us the last index that may match and its term;
        // skip our entries of higher terms too.
        let nextProbe = m.rejectHint;
        if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm);
        if (pr.maybeDecrTo(m.index, nextProbe)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        r.releasePendingReadIndex();
        r.bcastAppend();
      } else if (oldPaused) {
        r.sendAppend(m.from);
      }
      // The transfer target has caught up: tell it to campaign now (thesis §3.10).
      if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) r.sendTimeoutNow(m.from);
      // Keep the pipeline full while the window allows.
      while (r.maybeSendAppend(m.from, false)) {
        /* sent one more */
      }
      return;
    }
    case MessageType.HeartbeatResp:
      pr.recentActive = true;
      pr.probeSent = false;
      // The follower is alive: if the pipeline is full (appends may have been lost), free a
      // slot so that one more append goes out; a gap makes the follower reject and we probe.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.log.lastIndex()) r.sendAppend(m.from);
      r.handleReadAck(m.from, m.context);
      return;
    case MessageType.SnapStatus:
      // Reported by the transport: the snapshot was sent (reject=false) or failed (reject=true).
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      pr.probeSent = true; // wait for the next heartbeat response before probing
      return;
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    default:
      return;
  }
}

/** The candidate and pre-candidate roles (§5.2, thesis §9.6). */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      throw new ProposalDroppedError('no leader');
    case MessageType.ReadIndex:
      throw new ProposalDroppedError('no leader');
    case MessageType.App:
      r.becomeFollower(m.term, m.from); // a leader of our term exists (§5.2)
      r.handleAppendEntries(m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp: {
      if (m.type !== myVoteResp) return;
      const res = r.poll(m.from, !m.reject);
      if (res === VoteResult.Won) {
        if (r.role === Role.PreCandidate) {
          r.campaign(false);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === VoteResult.Lost) {
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      return;
  }
}

/** The follower role (§5.2, §5.3): forwards proposals and reads to the leader. */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) throw new ProposalDroppedError('no leader');
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.ReadIndex:
      if (r.lead === NONE) throw new ProposalDroppedError('no leader');
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    case MessageType.TransferLeader:
      if (r.lead === NONE) return;
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.TimeoutNow:
      // The leader hands over: campaign at once, skipping pre-vote, bypassing others' leases.
      if (r.promotable()) r.campaign(false, true);
      return;
    default:
      return;
  }
}
