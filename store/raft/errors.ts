/** Errors raft raises to its caller (storage errors live in storage.ts). */

/**
 * Thrown by propose()/readIndex() when the request cannot be accepted or forwarded: there is no
 * known leader (an election is under way) or the node is not a voter. The caller retries later.
 * etcd's equivalent is ErrProposalDropped ("raft proposal dropped").
 */
export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}
