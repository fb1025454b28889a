/** Public API of the pure Raft module (see docs/CONTRACTS.md, store/raft). */
export * from './types.js';
export { type Storage, MemoryStorage, CompactedError, UnavailableError, SnapshotOutOfDateError } from './storage.js';
export { ProposalDroppedError } from './errors.js';
export { type RaftConfig, Raft } from './raft.js';
export { RawNode, type Status } from './rawnode.js';
export { ProgressState } from './progress.js';
export { ConfChangeType, type ConfChange, type ConfState, applyChange, encodeConfChange, decodeConfChange } from './confchange.js';
