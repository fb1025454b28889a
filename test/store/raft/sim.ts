/**
 * A seeded network simulation of a raft cluster. Each node has a MemoryStorage as its "disk";
 * a scheduler driven by one PRNG ticks the nodes, delivers messages with random delay (hence
 * reordering), drops and duplicates them, partitions and heals the network, crashes nodes (losing
 * everything not persisted) and restarts them from their disk, proposes values and issues reads.
 *
 * After every step it checks the safety properties of the Raft paper (Figure 3):
 *  - election safety: at most one leader per term (over the whole history);
 *  - log matching: entries with the same index and term are preceded by identical entries
 *    (checked inductively: every (index, term) has one (previous term, data) everywhere);
 *  - leader completeness: an entry committed before a leader's term began is in its log;
 *  - state machine safety: no two nodes apply different entries at the same index;
 * plus linearizable reads: a read index covers every entry known committed when the read began.
 * `runLiveness` heals everything and checks that a leader emerges and that every acknowledged
 * (applied somewhere) value is applied everywhere.
 * With `membershipRate` > 0 the leader also changes the configuration one server at a time (add a
 * learner on a fresh ID, promote it, remove a member) and hands leadership over (TimeoutNow); members
 * apply ConfChange entries as they apply them; a member that applied its own removal stops (etcd exits;
 * its transport is closed), and liveness is checked over the final configuration.
 * Every failure message starts with the seed so the run can be replayed.
 */
import {
  ConfChangeType,
  decodeConfChange,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  MemoryStorage,
  type NodeId,
  ProposalDroppedError,
  RawNode,
  type Ready,
  Role,
  type Snapshot,
} from '../../../store/raft/index.js';
import { Rand } from '../../../store/raft/rand.js';

export interface SimOptions {
  seed: number;
  nodes: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTick?: number;
  /** Probability that a sent message is lost. */
  dropRate?: number;
  /** Probability that a sent message is delivered twice. */
  dupRate?: number;
  /** Messages are delivered after 0..maxDelay ticks. */
  maxDelay?: number;
  /** Per-tick probabilities of the fault events. */
  partitionRate?: number;
  crashRate?: number;
  /** Probability of crashing right after stepping a message, before its Ready is persisted. */
  crashMidStepRate?: number;
  proposeRate?: number;
  readRate?: number;
  /** Take a snapshot and compact the disk every this many applied entries (0 = never). */
  compactEvery?: number;
  /** Byte budget per append message (small values mean one entry per message). */
  maxSizePerMsg?: number;
  /** Per-tick probability of a membership change or leadership transfer (0 = fixed membership). */
  membershipRate?: number;
}

interface SimNode {
  id: NodeId;
  disk: MemoryStorage;
  rn: RawNode | undefined; // undefined while crashed
  /** The state machine: index -> "term|data" of the applied entry. */
  sm: Map<number, string>;
  appliedIndex: number;
  restartAt: number;
}

interface InFlight {
  at: number;
  m: Message;
}

interface PendingRead {
  node: NodeId;
  minIndex: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SimFailure extends Error {}

export class Simulation {
  readonly opts: Required<SimOptions>;
  readonly rand: Rand;
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  private network: InFlight[] = [];
  /** Partition group per node; undefined = fully connected. */
  private groups: Map<NodeId, number> | undefined;
  private healAt = 0;
  private dropRate: number;
  private dupRate: number;
  private faults = true;

  // ---- history for the invariants ----
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index:term" -> "prevTerm|data" of every entry ever persisted or held in a log. */
  private readonly entryShape = new Map<string, string>();
  /** index -> "term|data" of the entry applied at that index (anywhere). */
  private readonly appliedAt = new Map<number, string>();
  /** index -> the max term any node had when this index was first seen applied. */
  private readonly committedObsTerm = new Map<number, number>();
  private newlyCommitted: number[] = [];
  /** Leaders checked for completeness: "id:term" -> done. */
  private readonly checkedLeaders = new Set<string>();
  private readonly pendingReads = new Map<string, PendingRead>();
  /** Values proposed, and those acknowledged (applied by some node). */
  readonly proposed = new Set<string>();
  readonly acked = new Set<string>();
  private nextValue = 0;
  private nextRead = 0;
  stats = { delivered: 0, dropped: 0, crashes: 0, partitions: 0, snapshotsSent: 0, reads: 0, maxTerm: 0, confChanges: 0, transfers: 0, removed: 0 };
  /** Members that applied their own removal: stopped for good, their messages dropped (etcd's transport). */
  private readonly removedIds = new Set<NodeId>();
  private nextNodeId = 0n;

  constructor(opts: SimOptions) {
    this.opts = {
      preVote: false,
      checkQuorum: false,
      electionTick: 10,
      dropRate: 0.05,
      dupRate: 0.03,
      maxDelay: 3,
      partitionRate: 0.01,
      crashRate: 0.004,
      crashMidStepRate: 0.0005,
      proposeRate: 0.3,
      readRate: 0.05,
      compactEvery: 25,
      maxSizePerMsg: 64,
      membershipRate: 0,
      ...opts,
    };
    this.rand = new Rand(opts.seed * 2654435761 + 1);
    this.dropRate = this.opts.dropRate;
    this.dupRate = this.opts.dupRate;
    this.ids = Array.from({ length: opts.nodes }, (_, i) => BigInt(i + 1));
    for (const id of this.ids) this.addNode(id);
    this.nextNodeId = BigInt(opts.nodes + 1);
  }

  /** Creates and boots a node whose disk starts from the bootstrap configuration (a joining member replays the log from there). */
  private addNode(id: NodeId): SimNode {
    const n: SimNode = { id, disk: new MemoryStorage(this.ids), rn: undefined, sm: new Map(), appliedIndex: 0, restartAt: 0 };
    this.nodes.set(id, n);
    this.boot(n);
    return n;
  }

  fail(msg: string): never {
    throw new SimFailure(`seed ${this.opts.seed} (nodes ${this.opts.nodes}, preVote ${this.opts.preVote}, checkQuorum ${this.opts.checkQuorum}) at tick ${this.now}: ${msg}`);
  }

  /** Starts a node from what its disk holds (a fresh start or a restart after a crash). */
  private boot(n: SimNode): void {
    const snap = n.disk.snapshot();
    n.sm = decodeSm(snap);
    n.appliedIndex = snap.meta.index;
    n.rn = new RawNode({
      id: n.id,
      voters: this.ids,
      electionTick: this.opts.electionTick,
      heartbeatTick: 1,
      storage: n.disk,
      applied: snap.meta.index,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxInflightMsgs: 8,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      seed: this.opts.seed * 131 + Number(n.id) * 7 + this.stats.crashes,
    });
  }

  private crash(n: SimNode): void {
    n.rn = undefined;
    n.restartAt = this.now + 10 + this.rand.intn(50);
    this.stats.crashes++;
  }

  // ---- network ----

  private connected(a: NodeId, b: NodeId): boolean {
    if (this.removedIds.has(a) || this.removedIds.has(b)) return false;
    return this.groups === undefined || (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  private send(m: Message): void {
    if (this.rand.float() < this.dropRate) {
      this.stats.dropped++;
      this.reportSnapLoss(m);
      return;
    }
    const copies = this.rand.float() < this.dupRate ? 2 : 1;
    for (let i = 0; i < copies; i++) this.network.push({ at: this.now + this.rand.intn(this.opts.maxDelay + 1), m });
  }

  /** The transport tells the leader a snapshot did not arrive (etcd's ReportSnapshot failure). */
  private reportSnapLoss(m: Message): void {
    if (m.type !== MessageType.Snap) return;
    const from = this.nodes.get(m.from)!;
    from.rn?.reportSnapshot(m.to, true);
  }

  private deliver(f: InFlight): void {
    const m = f.m;
    const to = this.nodes.get(m.to)!;
    if (to.rn === undefined || !this.connected(m.from, m.to)) {
      this.stats.dropped++;
      this.reportSnapLoss(m);
      return;
    }
    this.stats.delivered++;
    to.rn.step(m);
    if (m.type === MessageType.Snap) {
      this.stats.snapshotsSent++;
      this.nodes.get(m.from)!.rn?.reportSnapshot(m.to, false);
    }
    if (this.faults && this.rand.float() < this.opts.crashMidStepRate) this.crash(to); // its Ready is lost
  }

  // ---- Ready processing: persist, then send, then apply ----

  private processReady(n: SimNode): void {
    for (let guard = 0; n.rn !== undefined && n.rn.hasReady(); guard++) {
      if (guard > 1000) this.fail(`node ${n.id} never runs out of Ready`);
      const rn = n.rn;
      const rd = rn.ready();
      this.persist(n, rd);
      if (this.faults && this.rand.float() < this.opts.crashMidStepRate) {
        this.crash(n); // persisted, but nothing sent or applied
        return;
      }
      if (rd.softState?.role === Role.Leader) this.recordLeader(n);
      for (const m of rd.messages) this.send(m);
      this.apply(n, rd.committedEntries);
      for (const rs of rd.readStates) this.checkRead(n, rs.index, dec.decode(rs.requestCtx));
      rn.advance(rd);
      this.maybeCompact(n);
    }
  }

  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      n.disk.applySnapshot(rd.snapshot);
      n.sm = decodeSm(rd.snapshot);
      n.appliedIndex = rd.snapshot.meta.index;
      for (const [i, key] of n.sm) this.checkApplied(n, i, key);
    }
    n.disk.append(rd.entries);
    if (rd.hardState !== undefined) n.disk.setHardState(rd.hardState);
    for (const e of rd.entries) {
      const prev = e.index - 1 >= n.disk.firstIndex() - 1 ? n.disk.term(e.index - 1) : -1;
      this.checkShape(e, prev, n.id);
    }
  }

  private apply(n: SimNode, ents: Entry[]): void {
    for (const e of ents) {
      if (e.index !== n.appliedIndex + 1) this.fail(`node ${n.id} applied index ${e.index} after ${n.appliedIndex}`);
      if (e.type === EntryType.ConfChange && n.rn !== undefined) {
        const cc = decodeConfChange(e.data);
        n.rn.applyConfChange(cc);
        // Once any member applied a removal, the removed node's messages are dropped and it stops.
        if (cc.type === ConfChangeType.RemoveNode && !this.removedIds.has(cc.nodeId)) {
          this.removedIds.add(cc.nodeId);
          this.stats.removed++;
        }
      }
      const key = `${e.term}|${dec.decode(e.data)}`;
      this.checkApplied(n, e.index, key);
      n.sm.set(e.index, key);
      n.appliedIndex = e.index;
      if (e.data.length > 0) this.acked.add(dec.decode(e.data));
    }
  }

  private maybeCompact(n: SimNode): void {
    const every = this.opts.compactEvery;
    if (every === 0 || n.rn === undefined) return;
    const snapIndex = n.disk.snapshot().meta.index;
    if (n.appliedIndex - snapIndex < every) return;
    const cs = n.rn.confState();
    n.disk.createSnapshot(n.appliedIndex, cs.voters, encodeSm(n.sm), cs.learners);
    // Keep a few entries below the snapshot so that slightly lagging followers need no snapshot.
    const keep = Math.max(n.appliedIndex - 5, n.disk.firstIndex());
    if (keep >= n.disk.firstIndex()) n.disk.compact(keep);
  }

  // ---- invariants ----

  private checkShape(e: Entry, prevTerm: number, who: NodeId): void {
    const k = `${e.index}:${e.term}`;
    const shape = `${prevTerm}|${dec.decode(e.data)}`;
    const seen = this.entryShape.get(k);
    if (seen === undefined) {
      if (prevTerm >= 0) this.entryShape.set(k, shape);
      return;
    }
    const [seenPrev, ...seenData] = seen.split('|');
    const [, ...data] = shape.split('|');
    if (seenData.join('|') !== data.join('|') || (prevTerm >= 0 && Number(seenPrev) !== prevTerm)) {
      this.fail(`log matching violated at node ${who}, index ${e.index} term ${e.term}: ${seen} vs ${shape}`);
    }
  }

  private checkApplied(n: SimNode, index: number, key: string): void {
    const other = this.appliedAt.get(index);
    if (other === undefined) {
      this.appliedAt.set(index, key);
      this.committedObsTerm.set(index, this.maxTerm());
      this.newlyCommitted.push(index);
    } else if (other !== key) {
      this.fail(`state machine safety violated: node ${n.id} applied ${key} at ${index}, another node applied ${other}`);
    }
  }

  private maxTerm(): number {
    let t = 0;
    for (const n of this.nodes.values()) {
      const term = n.rn?.raft.term ?? n.disk.initialState().hardState.term;
      if (term > t) t = term;
    }
    return t;
  }

  private recordLeader(n: SimNode): void {
    const term = n.rn!.raft.term;
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== n.id) this.fail(`election safety violated: nodes ${prev} and ${n.id} both leader in term ${term}`);
    this.leaderOfTerm.set(term, n.id);
    if (term > this.stats.maxTerm) this.stats.maxTerm = term;
  }

  /** Leader completeness: every entry committed before this leader's term is in its log. */
  private checkLeaderCompleteness(n: SimNode, indexes: Iterable<number>): void {
    const r = n.rn!.raft;
    for (const i of indexes) {
      if ((this.committedObsTerm.get(i) ?? Infinity) >= r.term) continue;
      if (i < r.log.firstIndex()) continue; // covered by the leader's snapshot
      const want = Number(this.appliedAt.get(i)!.split('|')[0]);
      const have = r.log.termOrZero(i);
      if (have !== want) this.fail(`leader completeness violated: leader ${n.id} (term ${r.term}) has term ${have} at committed index ${i} (term ${want})`);
    }
  }

  private checkRead(n: SimNode, index: number, ctx: string): void {
    const pr = this.pendingReads.get(ctx);
    if (pr === undefined) return; // duplicate answer (duplicated messages)
    if (pr.node !== n.id) this.fail(`read ${ctx} answered on node ${n.id}, asked on ${pr.node}`);
    if (index < pr.minIndex) this.fail(`read ${ctx} got index ${index} < ${pr.minIndex} committed before it began`);
    this.pendingReads.delete(ctx);
    this.stats.reads++;
  }

  /** Checks that hold after every step. */
  checkInvariants(fullScan: boolean): void {
    for (const n of this.nodes.values()) {
      if (n.rn === undefined) continue;
      const r = n.rn.raft;
      if (r.role === Role.Leader) {
        this.recordLeader(n);
        const key = `${n.id}:${r.term}`;
        if (!this.checkedLeaders.has(key)) {
          this.checkedLeaders.add(key);
          this.checkLeaderCompleteness(n, this.appliedAt.keys());
        } else {
          this.checkLeaderCompleteness(n, this.newlyCommitted);
        }
      }
      if (fullScan) {
        const log = r.log;
        for (let i = log.firstIndex(); i <= log.lastIndex(); i++) {
          const e = log.slice(i, i + 1)[0]!;
          this.checkShape(e, log.term(i - 1), n.id);
        }
      }
    }
    this.newlyCommitted = [];
  }

  // ---- the scheduler ----

  private randomEvents(): void {
    const o = this.opts;
    if (this.groups !== undefined && this.now >= this.healAt) this.groups = undefined;
    if (this.groups === undefined && this.rand.float() < o.partitionRate) {
      this.groups = new Map();
      const all = [...this.nodes.keys()];
      const leader = all.find((id) => this.nodes.get(id)!.rn?.raft.role === Role.Leader);
      const isolateLeader = leader !== undefined && this.rand.float() < 0.5;
      for (const id of all) {
        const g = isolateLeader ? (id === leader ? 1 : 0) : this.rand.intn(2);
        this.groups.set(id, g);
      }
      this.healAt = this.now + 20 + this.rand.intn(80);
      this.stats.partitions++;
    }
    for (const n of this.nodes.values()) {
      if (this.removedIds.has(n.id)) continue;
      if (n.rn === undefined && this.now >= n.restartAt) this.boot(n);
      else if (n.rn !== undefined && this.rand.float() < o.crashRate) this.crash(n);
    }
    if (this.rand.float() < o.membershipRate) this.changeMembership();
    if (this.rand.float() < o.proposeRate) this.propose(this.randomUpNode());
    if (this.rand.float() < o.readRate) this.read(this.randomUpNode());
  }

  /**
   * One random reconfiguration at the current leader: add a learner on a fresh ID (at most 2 learners),
   * promote a learner, remove a member (keeping at least 3 voters), or transfer leadership to a voter.
   * The leader may silently refuse (a change still pending, a transfer under way): that is part of the test.
   */
  private changeMembership(): void {
    const leader = [...this.nodes.values()].find((n) => n.rn?.raft.role === Role.Leader && !this.removedIds.has(n.id));
    if (leader?.rn === undefined) return;
    const cs = leader.rn.confState();
    const pick = <T>(xs: T[]): T | undefined => (xs.length === 0 ? undefined : xs[this.rand.intn(xs.length)]);
    const r = this.rand.intn(4);
    let cc: { type: ConfChangeType; nodeId: NodeId } | undefined;
    if (r === 0 && cs.learners.length < 2 && cs.voters.length + cs.learners.length < this.opts.nodes + 2) {
      const id = this.nextNodeId++;
      this.addNode(id);
      cc = { type: ConfChangeType.AddLearnerNode, nodeId: id };
    } else if (r === 1) {
      const id = pick(cs.learners);
      if (id !== undefined) cc = { type: ConfChangeType.AddNode, nodeId: id };
    } else if (r === 2) {
      const id = pick([...cs.voters, ...cs.learners]);
      if (id !== undefined && (cs.learners.includes(id) || cs.voters.length > 3)) cc = { type: ConfChangeType.RemoveNode, nodeId: id };
    } else {
      const id = pick(cs.voters.filter((v) => v !== leader.id));
      if (id !== undefined) {
        leader.rn.transferLeader(id);
        this.stats.transfers++;
      }
      return;
    }
    if (cc === undefined) return;
    try {
      leader.rn.proposeConfChange({ ...cc, context: enc.encode(`cc${this.stats.confChanges}`) });
      this.stats.confChanges++;
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  /** Members of the current configuration as the leader (or any live member) sees it. */
  private currentMembers(): Set<NodeId> {
    const live = [...this.nodes.values()].filter((n) => n.rn !== undefined && !this.removedIds.has(n.id));
    const ref = live.find((n) => n.rn!.raft.role === Role.Leader) ?? live[0];
    if (ref === undefined) return new Set();
    const cs = ref.rn!.confState();
    return new Set([...cs.voters, ...cs.learners]);
  }

  private randomUpNode(): SimNode | undefined {
    const up = [...this.nodes.values()].filter((n) => n.rn !== undefined && !this.removedIds.has(n.id));
    return up.length === 0 ? undefined : up[this.rand.intn(up.length)];
  }

  /** Proposes a fresh value at `n`; returns it, or undefined when dropped (no leader). */
  propose(n: SimNode | undefined): string | undefined {
    if (n?.rn === undefined) return undefined;
    const v = `v${this.nextValue++}`;
    try {
      n.rn.propose(enc.encode(v));
    } catch (e) {
      if (e instanceof ProposalDroppedError) return undefined;
      throw e;
    }
    this.proposed.add(v);
    return v;
  }

  private read(n: SimNode | undefined): void {
    if (n?.rn === undefined) return;
    const ctx = `r${this.nextRead++}`;
    let minIndex = 0;
    for (const i of this.appliedAt.keys()) if (i > minIndex) minIndex = i;
    for (const o of this.nodes.values()) if (o.rn !== undefined && o.rn.raft.log.committed > minIndex) minIndex = o.rn.raft.log.committed;
    try {
      n.rn.readIndex(enc.encode(ctx));
    } catch (e) {
      if (e instanceof ProposalDroppedError) return;
      throw e;
    }
    this.pendingReads.set(ctx, { node: n.id, minIndex });
  }

  /** One tick of simulated time: faults, ticks, then deliveries until the due messages run out. */
  step(): void {
    this.now++;
    if (this.faults) this.randomEvents();
    for (const n of this.nodes.values()) if (!this.removedIds.has(n.id)) n.rn?.tick();
    for (let round = 0; ; round++) {
      if (round > 10000) this.fail('delivery did not settle within a tick');
      for (const n of this.nodes.values()) this.processReady(n);
      const due: InFlight[] = [];
      const later: InFlight[] = [];
      for (const f of this.network) (f.at <= this.now ? due : later).push(f);
      if (due.length === 0) break;
      this.network = later;
      // Random order of delivery among the due messages (reordering).
      for (let i = due.length - 1; i > 0; i--) {
        const j = this.rand.intn(i + 1);
        [due[i], due[j]] = [due[j]!, due[i]!];
      }
      for (const f of due) {
        this.deliver(f);
        const to = this.nodes.get(f.m.to)!;
        this.processReady(to);
      }
    }
    this.checkInvariants(this.now % 50 === 0);
  }

  run(steps: number): void {
    for (let i = 0; i < steps; i++) this.step();
  }

  /**
   * Heals the network, restarts crashed nodes, stops faults and checks liveness: within
   * `maxTicks` a leader exists, a fresh proposal commits, and every acknowledged value is
   * applied on every node. Returns the ticks it took.
   */
  runLiveness(maxTicks = 600): number {
    this.faults = false;
    this.groups = undefined;
    this.dropRate = 0;
    this.dupRate = 0;
    for (const n of this.nodes.values()) if (n.rn === undefined && !this.removedIds.has(n.id)) this.boot(n);
    let finalValue: string | undefined;
    for (let t = 0; t < maxTicks; t++) {
      this.step();
      const leader = [...this.nodes.values()].find((n) => n.rn?.raft.role === Role.Leader && !this.removedIds.has(n.id));
      if (leader === undefined) continue;
      // A fresh write must commit; retry if the proposal was lost in a leader change.
      if (finalValue === undefined || (t % 100 === 99 && !this.acked.has(finalValue))) {
        finalValue = this.propose(leader);
        continue;
      }
      const want = [...this.acked];
      if (!this.acked.has(finalValue)) continue;
      const members = this.currentMembers();
      const allHave = [...this.nodes.values()].filter((n) => members.has(n.id)).every((n) => {
        const vals = new Set([...n.sm.values()].map((k) => k.slice(k.indexOf('|') + 1)));
        return want.every((v) => vals.has(v));
      });
      if (allHave) return t;
    }
    const st = [...this.nodes.values()].filter((n) => n.rn !== undefined).map((n) => {
      const s = n.rn!.status();
      return `${n.id}: role ${Role[s.role]} term ${s.term} commit ${s.commit} applied ${n.appliedIndex} last ${s.lastIndex}`;
    });
    this.fail(`no liveness after healing: ${st.join('; ')}`);
  }
}

function encodeSm(sm: Map<number, string>): Uint8Array {
  return enc.encode(JSON.stringify([...sm.entries()]));
}

function decodeSm(s: Snapshot): Map<number, string> {
  if (s.data.length === 0) return new Map();
  return new Map(JSON.parse(dec.decode(s.data)) as [number, string][]);
}
