/**
 * Pre-vote (thesis §9.6), check-quorum and the leader lease (thesis §6.2), read index (thesis §6.4),
 * proposal handling without a leader, and the single-voter cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage, MessageType, ProposalDroppedError, RawNode, Role, emptyMessage } from '../../../store/raft/index.js';
import { Cluster, text } from './harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Partitions node 3 away for many election timeouts, then heals and lets the cluster run. */
function partitionAndRejoin(preVote: boolean): { c: Cluster; termBefore: number; leaderBefore: bigint } {
  const c = new Cluster(3, { preVote });
  c.campaign(1);
  const termBefore = c.node(1).rn.status().term;
  c.isolate(3);
  c.node(1).rn.propose(enc('while-3-is-away')); // node 3's log falls behind
  c.stabilize();
  c.tick(100); // node 3 keeps timing out
  c.heal();
  c.tick(30);
  return { c, termBefore, leaderBefore: 1n };
}

describe('pre-vote (thesis §9.6)', () => {
  it('a partitioned node that rejoins does not raise the term or depose the leader', () => {
    const { c, termBefore } = partitionAndRejoin(true);
    assert.equal(c.node(3).rn.status().term, termBefore, 'isolated pre-candidate must not bump its term');
    for (const id of [1, 2, 3]) {
      const s = c.node(id).rn.status();
      assert.equal(s.term, termBefore, `node ${id} term`);
      assert.equal(s.lead, 1n, `node ${id} leader`);
    }
    assert.deepEqual(c.node(3).applied.map(text), ['', 'while-3-is-away'], 'node 3 caught up');
  });

  it('without pre-vote the same scenario disrupts the cluster (control)', () => {
    const { c, termBefore } = partitionAndRejoin(false);
    assert.ok(c.node(1).rn.status().term > termBefore, 'term grows without pre-vote');
  });

  it('a pre-candidate that wins the pre-vote becomes candidate and then leader', () => {
    const c = new Cluster(3, { preVote: true });
    c.campaign(2);
    assert.equal(c.node(2).rn.status().role, Role.Leader);
    assert.equal(c.node(2).rn.status().term, 1);
  });
});

describe('check-quorum and the leader lease (thesis §6.2)', () => {
  it('an isolated leader steps down after an election timeout without a quorum', () => {
    const c = new Cluster(3, { checkQuorum: true });
    c.campaign(1);
    c.isolate(1);
    c.tick(21);
    assert.equal(c.node(1).rn.status().role, Role.Follower);
    const other = c.leader();
    assert.ok(other !== undefined && other.id !== 1n, 'the majority side elected a new leader');
  });

  it('without check-quorum an isolated leader stays leader (control)', () => {
    const c = new Cluster(3);
    c.campaign(1);
    c.isolate(1);
    c.tick(21);
    assert.equal(c.node(1).rn.status().role, Role.Leader);
  });

  it('followers that heard from the leader recently ignore a vote request with a higher term', () => {
    const c = new Cluster(3, { checkQuorum: true });
    c.campaign(1);
    const n2 = c.node(2);
    n2.rn.step({ ...emptyMessage(), type: MessageType.Vote, from: 3n, to: 2n, term: 9, index: 100, logTerm: 9 });
    assert.equal(n2.rn.status().term, 1, 'in lease: the higher term is ignored');
    assert.equal(n2.rn.status().lead, 1n);
    c.tick(20); // lease expires only if the leader goes silent; it does not
    assert.equal(c.node(1).rn.status().role, Role.Leader);
  });
});

describe('read index (thesis §6.4)', () => {
  function writes(c: Cluster, n: number): number {
    for (let i = 0; i < n; i++) c.node(1).rn.propose(enc(`w${i}`));
    c.stabilize();
    return c.node(1).rn.status().commit;
  }

  it('on the leader: the read index covers every committed write', () => {
    const c = new Cluster(3);
    c.campaign(1);
    const committed = writes(c, 5);
    c.node(1).rn.readIndex(enc('r1'));
    c.stabilize();
    const rs = c.node(1).readStates;
    assert.equal(rs.length, 1);
    assert.equal(text({ data: rs[0]!.requestCtx }), 'r1');
    assert.ok(rs[0]!.index >= committed, `${rs[0]!.index} >= ${committed}`);
  });

  it('on a follower: the request is forwarded and the answer covers committed writes', () => {
    const c = new Cluster(3);
    c.campaign(1);
    const committed = writes(c, 3);
    c.node(3).rn.readIndex(enc('f1'));
    c.stabilize();
    const rs = c.node(3).readStates;
    assert.equal(rs.length, 1);
    assert.equal(text({ data: rs[0]!.requestCtx }), 'f1');
    assert.ok(rs[0]!.index >= committed);
    assert.equal(c.node(1).readStates.length, 0, 'the answer goes to the requester');
  });

  it('an isolated leader cannot confirm leadership, so it does not answer', () => {
    const c = new Cluster(3);
    c.campaign(1);
    writes(c, 1);
    c.isolate(1);
    c.node(1).rn.readIndex(enc('stale'));
    c.tick(3);
    assert.equal(c.node(1).readStates.length, 0);
  });

  it('a new leader answers only after committing an entry of its term', () => {
    const c = new Cluster(3);
    c.dropTypes.add(MessageType.App); // votes pass, appends do not
    c.campaign(1);
    assert.equal(c.node(1).rn.status().role, Role.Leader);
    c.node(1).rn.readIndex(enc('early'));
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 0, 'no entry of the new term committed yet');
    c.dropTypes.clear();
    c.tick(1);
    assert.equal(c.node(1).readStates.length, 1);
    assert.ok(c.node(1).readStates[0]!.index >= 1);
  });

  it('a single-voter cluster answers at once', () => {
    const c = new Cluster(1);
    c.campaign(1);
    c.node(1).rn.propose(enc('x'));
    c.stabilize();
    c.node(1).rn.readIndex(enc('solo'));
    c.processReady(1n);
    assert.equal(c.node(1).readStates.length, 1);
    assert.equal(c.node(1).readStates[0]!.index, 2);
  });
});

describe('proposals', () => {
  it('are dropped with ProposalDroppedError when there is no leader', () => {
    const rn = new RawNode({ id: 1n, voters: [1n, 2n, 3n], electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage([1n, 2n, 3n]) });
    assert.throws(() => rn.propose(enc('x')), ProposalDroppedError);
    assert.throws(() => rn.readIndex(enc('r')), ProposalDroppedError);
    rn.campaign();
    assert.equal(rn.status().role, Role.Candidate);
    assert.throws(() => rn.propose(enc('x')), ProposalDroppedError);
  });

  it('a single-voter cluster elects itself and commits alone', () => {
    const c = new Cluster(1);
    c.tick(20);
    assert.equal(c.node(1).rn.status().role, Role.Leader);
    c.node(1).rn.propose(enc('alone'));
    c.stabilize();
    assert.deepEqual(c.node(1).applied.map(text), ['', 'alone']);
  });

  it('ready/advance hand out entries once and apply in order', () => {
    const c = new Cluster(3);
    c.campaign(1);
    const rn = c.node(1).rn;
    rn.propose(enc('p'));
    const rd = rn.ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.entries[0]!.index, 2);
    assert.equal(rd.committedEntries.length, 0, 'not committed before the followers answer');
    c.node(1).storage.append(rd.entries);
    c.queue.push(...rd.messages);
    rn.advance(rd);
    assert.equal(rn.raft.log.unstableEntries().length, 0);
    assert.equal(rn.hasReady(), false);
    c.stabilize();
    assert.equal(rn.status().applied, 2);
  });
});

describe('snapshots (§7)', () => {
  it('a follower that needs compacted entries receives the leader snapshot and then the rest of the log', () => {
    const c = new Cluster(3);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.node(1).rn.propose(enc(`s${i}`));
    c.stabilize();
    const leader = c.node(1);
    const applied = leader.rn.status().applied;
    assert.equal(applied, 11);
    leader.storage.createSnapshot(8, c.ids, enc('state-at-8'));
    leader.storage.compact(8);
    c.heal();
    const sent: number[] = [];
    const origStep = c.node(3).rn.step.bind(c.node(3).rn);
    c.node(3).rn.step = (m) => {
      sent.push(m.type);
      origStep(m);
    };
    c.tick(3);
    assert.ok(sent.includes(MessageType.Snap), 'the leader sent a snapshot');
    const n3 = c.node(3);
    assert.equal(n3.storage.snapshot().meta.index, 8);
    assert.equal(text(n3.storage.snapshot()), 'state-at-8');
    assert.equal(n3.rn.status().commit, 11);
    assert.deepEqual(n3.applied.map(text).slice(-3), ['s7', 's8', 's9'], 'entries after the snapshot are applied');
    assert.deepEqual(c.terms(3), c.terms(1).slice(-3));
  });
});

describe('snapshots: a lost MsgSnap (§7, etcd ReportSnapshot)', () => {
  it('after the transport reports the snapshot failed, the leader probes again and resends it', () => {
    const c = new Cluster(3);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.node(1).rn.propose(enc(`s${i}`));
    c.stabilize();
    const leader = c.node(1);
    leader.storage.createSnapshot(8, c.ids, enc('state-at-8'));
    leader.storage.compact(8);
    c.heal();
    let snaps = 0;
    const origStep = c.node(3).rn.step.bind(c.node(3).rn);
    c.node(3).rn.step = (m) => {
      if (m.type === MessageType.Snap && ++snaps === 1) return; // the first one is lost on the way
      origStep(m);
    };
    c.tick(3);
    assert.equal(snaps, 1);
    assert.equal(c.node(3).storage.snapshot().meta.index, 0, 'nothing installed yet');
    c.tick(3);
    assert.equal(snaps, 1, 'without a report the leader waits (progress paused in Snapshot state)');
    leader.rn.reportSnapshot(3n, true);
    c.tick(3);
    assert.equal(snaps, 2, 'resent after the failure report and the next heartbeat response');
    assert.equal(c.node(3).storage.snapshot().meta.index, 8);
    assert.equal(c.node(3).rn.status().commit, 11);
  });
});
