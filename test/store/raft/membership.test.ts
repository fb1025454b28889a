/**
 * Membership changes (Raft thesis §4.1 single-server changes, §4.2.1 learners) and leadership transfer
 * (thesis §3.10, etcd-io/raft MsgTransferLeader / MsgTimeoutNow), on a small deterministic in-memory network
 * whose members apply committed ConfChange entries as they apply them (as the server does).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  ProposalDroppedError,
  RawNode,
  Role,
  applyChange,
  decodeConfChange,
  encodeConfChange,
} from '../../../store/raft/index.js';

interface N { id: NodeId; rn: RawNode; storage: MemoryStorage; applied: string[]; confApplied: number }

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A network of RawNodes; members can be created at any time (a joining member starts with an empty config). */
class Net {
  readonly nodes = new Map<NodeId, N>();
  queue: Message[] = [];
  readonly down = new Set<NodeId>();
  /** Drop append messages to these nodes (to keep a learner behind). */
  readonly starve = new Set<NodeId>();

  constructor(initial: NodeId[], readonly checkQuorum = true) {
    for (const id of initial) this.add(id, initial);
  }

  add(id: NodeId, voters: NodeId[]): N {
    const storage = new MemoryStorage(voters);
    const rn = new RawNode({ id, voters, electionTick: 10, heartbeatTick: 1, storage, checkQuorum: this.checkQuorum, preVote: true, seed: Number(id) * 31 });
    const n: N = { id, rn, storage, applied: [], confApplied: 0 };
    this.nodes.set(id, n);
    return n;
  }

  process(n: N): void {
    while (n.rn.hasReady()) {
      const rd = n.rn.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      this.queue.push(...rd.messages);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) {
          n.rn.applyConfChange(decodeConfChange(e.data));
          n.confApplied++;
        } else if (e.data.length > 0) n.applied.push(dec(e.data));
      }
      n.rn.advance(rd);
    }
  }

  stabilize(): void {
    for (let guard = 0; guard < 100000; guard++) {
      for (const n of this.nodes.values()) this.process(n);
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const to = this.nodes.get(m.to);
        if (!to || this.down.has(m.to) || this.down.has(m.from)) continue;
        if (this.starve.has(m.to) && (m.type === MessageType.App || m.type === MessageType.Snap)) continue;
        to.rn.step(m);
      }
    }
    throw new Error('network did not stabilize');
  }

  tick(k = 1): void {
    for (let i = 0; i < k; i++) {
      for (const [id, n] of this.nodes) if (!this.down.has(id)) n.rn.tick();
      this.stabilize();
    }
  }

  leader(): N | undefined {
    let best: N | undefined;
    for (const [id, n] of this.nodes) {
      if (this.down.has(id)) continue;
      const s = n.rn.status();
      if (s.role === Role.Leader && (!best || s.term > best.rn.status().term)) best = n;
    }
    return best;
  }

  node(id: number): N {
    return this.nodes.get(BigInt(id))!;
  }

  change(type: ConfChangeType, id: number): void {
    const l = this.leader()!;
    l.rn.proposeConfChange({ type, nodeId: BigInt(id), context: enc(`ctx-${id}`) });
    this.stabilize();
  }

  put(s: string, via?: N): void {
    (via ?? this.leader()!).rn.propose(enc(s));
    this.stabilize();
  }
}

function elect(net: Net, id: number): N {
  net.node(id).rn.campaign();
  net.stabilize();
  const l = net.leader();
  assert.equal(l?.id, BigInt(id));
  return l!;
}

describe('conf change encoding and arithmetic', () => {
  it('round-trips a conf change', () => {
    const cc = { type: ConfChangeType.AddLearnerNode, nodeId: 0xfedcba9876543210n, context: enc('{"name":"n4"}') };
    const back = decodeConfChange(encodeConfChange(cc));
    assert.deepEqual(back, cc);
    assert.throws(() => decodeConfChange(new Uint8Array([2, 0])), /malformed/);
  });

  it('applies add, learner, promote and remove', () => {
    let cs = { voters: [1n, 2n, 3n], learners: [] as bigint[] };
    cs = applyChange(cs, { type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: new Uint8Array() });
    assert.deepEqual(cs, { voters: [1n, 2n, 3n], learners: [4n] });
    cs = applyChange(cs, { type: ConfChangeType.AddLearnerNode, nodeId: 2n, context: new Uint8Array() });
    assert.deepEqual(cs, { voters: [1n, 2n, 3n], learners: [4n] }, 'a voter is not demoted');
    cs = applyChange(cs, { type: ConfChangeType.AddNode, nodeId: 4n, context: new Uint8Array() });
    assert.deepEqual(cs, { voters: [1n, 2n, 3n, 4n], learners: [] });
    cs = applyChange(cs, { type: ConfChangeType.RemoveNode, nodeId: 1n, context: new Uint8Array() });
    assert.deepEqual(cs, { voters: [2n, 3n, 4n], learners: [] });
  });
});

describe('membership changes (thesis §4.1)', () => {
  it('a learner receives the log but does not count in the quorum; promotion makes it a voter', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.put('a');
    net.change(ConfChangeType.AddLearnerNode, 4);
    assert.deepEqual(net.node(1).rn.confState(), { voters: [1n, 2n, 3n], learners: [4n] });
    // The joining member starts with no configuration and learns it from the log.
    const n4 = net.add(4n, []);
    net.tick(3);
    n4.rn.setConfState(net.node(1).rn.confState());
    assert.deepEqual(n4.applied, ['a']);
    // A learner never campaigns.
    for (let i = 0; i < 50; i++) n4.rn.tick();
    net.stabilize();
    assert.equal(n4.rn.status().role, Role.Follower);
    // With 2 of 3 voters down, the learner does not make a quorum: nothing commits.
    net.down.add(2n);
    net.down.add(3n);
    const before = net.node(1).rn.status().commit;
    net.node(1).rn.propose(enc('b'));
    net.stabilize();
    assert.equal(net.node(1).rn.status().commit, before, 'learner acks must not commit');
    net.down.clear();
    net.tick(2);
    assert.ok(n4.applied.includes('b'));
    // Promote: AddNode on a learner.
    net.change(ConfChangeType.AddNode, 4);
    assert.deepEqual(net.node(1).rn.confState(), { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.deepEqual(n4.rn.confState(), { voters: [1n, 2n, 3n, 4n], learners: [] });
    // Now 3 of 4 voters are needed: 1 + 4 alone cannot commit.
    net.down.add(2n);
    net.down.add(3n);
    const c2 = net.node(1).rn.status().commit;
    net.node(1).rn.propose(enc('c'));
    net.stabilize();
    assert.equal(net.node(1).rn.status().commit, c2);
    net.down.delete(3n);
    net.tick(2);
    assert.ok(net.node(1).rn.status().commit > c2);
  });

  it('refuses a second change until the first is applied (pendingConf)', () => {
    const net = new Net([1n, 2n, 3n]);
    const l = elect(net, 1);
    l.rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: new Uint8Array() });
    l.rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 5n, context: new Uint8Array() });
    net.stabilize();
    assert.deepEqual(l.rn.confState().learners, [4n], 'the second change became an empty entry');
    assert.equal(l.confApplied, 1);
    l.rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 5n, context: new Uint8Array() });
    net.stabilize();
    assert.deepEqual(l.rn.confState().learners, [4n, 5n]);
  });

  it('a removed leader steps down and the rest elect a new leader and keep committing', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.put('a');
    net.change(ConfChangeType.RemoveNode, 1);
    assert.notEqual(net.node(1).rn.status().role, Role.Leader);
    assert.deepEqual(net.node(2).rn.confState().voters, [2n, 3n]);
    net.down.add(1n);
    net.tick(40);
    const l = net.leader();
    assert.ok(l && l.id !== 1n);
    net.put('b');
    assert.ok(net.node(2).applied.includes('b') && net.node(3).applied.includes('b'));
    // The removed node cannot campaign any more.
    net.down.delete(1n);
    for (let i = 0; i < 50; i++) net.node(1).rn.tick();
    net.stabilize();
    assert.equal(net.leader()?.id, l!.id);
  });

  it('removing a follower shrinks the quorum', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.change(ConfChangeType.RemoveNode, 3);
    net.down.add(3n);
    net.down.add(2n);
    const c = net.node(1).rn.status().commit;
    net.node(1).rn.propose(enc('x'));
    net.stabilize();
    assert.equal(net.node(1).rn.status().commit, c, '1 of 2 is not a majority');
    net.down.delete(2n);
    net.tick(2);
    assert.ok(net.node(1).rn.status().commit > c, '2 of 2 commit without node 3');
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('hands leadership to an up-to-date voter through TimeoutNow, despite check-quorum leases', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.put('a');
    const term = net.node(1).rn.status().term;
    net.node(1).rn.transferLeader(3n);
    net.stabilize();
    assert.equal(net.leader()?.id, 3n);
    assert.equal(net.node(3).rn.status().term, term + 1);
    net.put('b');
    assert.ok(net.node(1).applied.includes('b'));
  });

  it('a request on a follower is forwarded to the leader', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.node(2).rn.transferLeader(2n);
    net.stabilize();
    assert.equal(net.leader()?.id, 2n);
  });

  it('catches a lagging target up first, and refuses proposals meanwhile', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.starve.add(3n);
    net.put('a');
    net.node(1).rn.transferLeader(3n);
    net.stabilize();
    assert.equal(net.leader()?.id, 1n, 'target not caught up yet');
    assert.throws(() => net.node(1).rn.raft.step({ ...propMsg(1n), entries: [{ term: 0, index: 0, type: EntryType.Normal, data: enc('z') }] }), ProposalDroppedError);
    net.starve.clear();
    net.tick(1);
    assert.equal(net.leader()?.id, 3n);
    assert.ok(net.node(3).applied.includes('a'));
  });

  it('ignores a transfer to a learner and aborts a stalled transfer after an election timeout', () => {
    const net = new Net([1n, 2n, 3n]);
    elect(net, 1);
    net.change(ConfChangeType.AddLearnerNode, 4);
    net.add(4n, []);
    net.node(1).rn.transferLeader(4n);
    net.stabilize();
    assert.equal(net.node(1).rn.raft.leadTransferee, 0n);
    net.down.add(3n);
    net.node(1).rn.transferLeader(3n);
    net.stabilize();
    assert.equal(net.node(1).rn.raft.leadTransferee, 3n);
    net.tick(12);
    assert.equal(net.node(1).rn.raft.leadTransferee, 0n);
    assert.equal(net.leader()?.id, 1n);
    net.put('after');
    assert.ok(net.node(2).applied.includes('after'));
  });
});

function propMsg(from: NodeId): Message {
  return { type: MessageType.Prop, from, to: 0n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array() };
}
