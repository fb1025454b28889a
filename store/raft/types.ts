/**
 * Raft's data types: entries, hard state, messages and the Ready record.
 * Shapes follow the Raft paper (Ongaro & Ousterhout, 2014) §5 and etcd-io/raft's raftpb.
 * This module is pure: no I/O, no clocks, no randomness.
 */

/** A member ID: etcd member IDs are uint64, so bigint. 0n means "none". */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

/** One log entry. `index` starts at 1; `data` is opaque to raft (empty for the leader's no-op entry). */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be durable before any message is sent or acknowledged (Raft paper Figure 2, "persistent state"). */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  voters: NodeId[];
  /** Non-voting members at the snapshot's index (absent = none). */
  learners?: NodeId[];
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export enum MessageType {
  Hup = 0,
  Beat = 1,
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  PreVote = 7,
  PreVoteResp = 8,
  Heartbeat = 9,
  HeartbeatResp = 10,
  Snap = 11,
  ReadIndex = 12,
  ReadIndexResp = 13,
  TimeoutNow = 14,
  CheckQuorum = 15,
  Unreachable = 16,
  SnapStatus = 17,
  /** Local/forwarded: ask the leader to hand leadership to `from` (etcd MsgTransferLeader). */
  TransferLeader = 18,
}

/** A Raft message between members (or a local message such as Hup/Beat/Prop). */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
  snapshot?: Snapshot;
}

/** The result of a read-index request: serve the read once applied >= index (Raft thesis §6.4). */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum Role {
  Follower = 0,
  Candidate = 1,
  PreCandidate = 2,
  Leader = 3,
}

export interface SoftState {
  leader: NodeId;
  role: Role;
}

/**
 * Everything the node loop must do after a batch of inputs, in this order:
 * persist `hardState` + `entries` (+ `snapshot`) with fsync, then send `messages`,
 * apply `committedEntries`, serve `readStates`, then call `advance(ready)`.
 * (A leader may send its messages before persisting, as etcd does: Raft thesis §10.2.1.)
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
}

/** An empty message with every field defaulted; spread over it to build one. */
export function emptyMessage(): Message {
  return {
    type: MessageType.Hup,
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(0),
  };
}
