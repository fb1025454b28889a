/**
 * Membership changes one server at a time (Raft thesis §4.1, "single-server changes"): a configuration
 * change is a log entry of type ConfChange; each member switches to the new configuration when it
 * APPLIES the entry (as etcd-io/raft does, rather than on append as the thesis describes; the leader
 * refuses a new change until the previous one is applied, which keeps the two rules equally safe).
 * Learners (etcd's non-voting members, thesis §4.2.1 "catching up new servers") receive the log but
 * do not vote and do not count in any quorum.
 * Pure: no I/O.
 */
import { type NodeId, NONE } from './types.js';

/** etcd raftpb.ConfChangeType values. Promotion of a learner is AddNode on a learner's ID. */
export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

/** One single-server membership change. `context` is opaque to raft (the server's member record). */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
}

/** A configuration: the voters (quorum members) and the learners (non-voting). Disjoint, sorted. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

const sortIds = (ids: Iterable<NodeId>): NodeId[] => [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The configuration after `cc`: AddNode makes a voter (promoting a learner), AddLearnerNode adds a
 * learner (a voter cannot be demoted: unchanged), RemoveNode removes from both sets, UpdateNode
 * changes nothing raft-side. Throws on a zero node ID.
 */
export function applyChange(cs: ConfState, cc: ConfChange): ConfState {
  if (cc.nodeId === NONE) throw new Error('raft: conf change for node ID 0');
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.AddLearnerNode:
      if (!voters.has(cc.nodeId)) learners.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
    case ConfChangeType.UpdateNode:
      break;
  }
  return { voters: sortIds(voters), learners: sortIds(learners) };
}

/**
 * Entry data of a ConfChange entry: 1 byte version (1), 1 byte type, 8 bytes node ID (big endian),
 * then the context. Throws on data that is not in this format.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(10 + cc.context.length);
  out[0] = 1;
  out[1] = cc.type;
  let v = cc.nodeId;
  for (let i = 9; i >= 2; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out.set(cc.context, 10);
  return out;
}

/** Inverse of encodeConfChange. Throws Error on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 10 || data[0] !== 1) throw new Error('raft: malformed conf change entry');
  const type = data[1]!;
  if (type > ConfChangeType.AddLearnerNode) throw new Error(`raft: unknown conf change type ${type}`);
  let id = 0n;
  for (let i = 2; i < 10; i++) id = (id << 8n) | BigInt(data[i]!);
  return { type, nodeId: id, context: data.slice(10) };
}
