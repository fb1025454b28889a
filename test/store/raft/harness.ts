/**
 * A deterministic, synchronous test network for raft unit tests: every node has a MemoryStorage
 * as its disk; Ready records are processed in the required order (persist, then send, then
 * apply); messages are delivered in FIFO order unless the link is cut.
 */
import {
  type Entry,
  EntryType,
  type Message,
  MemoryStorage,
  type NodeId,
  NONE,
  RawNode,
  type ReadState,
  Role,
} from '../../../store/raft/index.js';
import { type RaftConfig } from '../../../store/raft/raft.js';

export interface ClusterOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTick?: number;
  heartbeatTick?: number;
  /** Pre-built storages per node (1-based position), e.g. to start from given logs. */
  storages?: MemoryStorage[];
}

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

/** Builds entries with the given terms, starting at index `from` (default 1). */
export function entriesWithTerms(terms: number[], from = 1): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: EntryType.Normal, data: new TextEncoder().encode(`e${from + i}t${term}`) }));
}

/** A MemoryStorage holding entries with these terms, and hard state term = last term. */
export function storageWithTerms(voters: NodeId[], terms: number[], commit = 0): MemoryStorage {
  const s = new MemoryStorage(voters);
  s.append(entriesWithTerms(terms));
  s.setHardState({ term: terms.length > 0 ? terms[terms.length - 1]! : 0, vote: NONE, commit });
  return s;
}

export function text(e: { data: Uint8Array }): string {
  return new TextDecoder().decode(e.data);
}

export class Cluster {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered, FIFO. */
  queue: Message[] = [];
  /** Cut links, as "from>to". */
  private readonly cut = new Set<string>();
  /** Message types dropped everywhere (to freeze parts of the protocol in a test). */
  readonly dropTypes = new Set<number>();
  private readonly opts: ClusterOptions;

  constructor(n: number, opts: ClusterOptions = {}) {
    this.opts = opts;
    this.ids = Array.from({ length: n }, (_, i) => BigInt(i + 1));
    for (const [i, id] of this.ids.entries()) {
      const storage = opts.storages?.[i] ?? new MemoryStorage(this.ids);
      this.nodes.set(id, this.makeNode(id, storage));
    }
  }

  config(id: NodeId, storage: MemoryStorage): RaftConfig {
    return {
      id,
      voters: this.ids,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      storage,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      seed: Number(id) * 7919,
    };
  }

  private makeNode(id: NodeId, storage: MemoryStorage): TestNode {
    return { id, rn: new RawNode(this.config(id, storage)), storage, applied: [], readStates: [] };
  }

  node(id: NodeId | number): TestNode {
    return this.nodes.get(BigInt(id))!;
  }

  /** Replaces a node by one rebuilt from its storage (a crash and restart: in-memory state is lost). */
  restart(id: NodeId | number): TestNode {
    const old = this.node(id);
    const n = this.makeNode(old.id, old.storage);
    this.nodes.set(old.id, n);
    return n;
  }

  /** Processes every pending Ready of one node: persist, then queue messages, then apply. */
  processReady(id: NodeId): void {
    const n = this.nodes.get(id)!;
    while (n.rn.hasReady()) {
      const rd = n.rn.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      this.queue.push(...rd.messages);
      n.applied.push(...rd.committedEntries);
      n.readStates.push(...rd.readStates);
      n.rn.advance(rd);
    }
  }

  isolate(id: NodeId | number): void {
    const x = BigInt(id);
    for (const o of this.ids) {
      if (o === x) continue;
      this.cut.add(`${x}>${o}`);
      this.cut.add(`${o}>${x}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Delivers messages until the network is quiet (bounded). Returns the number delivered. */
  stabilize(maxMessages = 100000): number {
    let delivered = 0;
    for (;;) {
      for (const id of this.ids) this.processReady(id);
      if (this.queue.length === 0) return delivered;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}>${m.to}`) || this.dropTypes.has(m.type)) continue;
        const n = this.nodes.get(m.to);
        if (n === undefined) continue;
        n.rn.step(m);
        delivered++;
        if (delivered > maxMessages) throw new Error('network did not stabilize');
      }
    }
  }

  /** Ticks every node `n` times, stabilizing after each round. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.ids) this.node(id).rn.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId | number): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  /** The leader with the highest term, if any. */
  leader(): TestNode | undefined {
    let best: TestNode | undefined;
    for (const n of this.nodes.values()) {
      const s = n.rn.status();
      if (s.role === Role.Leader && (best === undefined || s.term > best.rn.status().term)) best = n;
    }
    return best;
  }

  /** The log of a node as entry terms, from firstIndex. */
  terms(id: NodeId | number): number[] {
    const log = this.node(id).rn.raft.log;
    const out: number[] = [];
    for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i));
    return out;
  }
}
