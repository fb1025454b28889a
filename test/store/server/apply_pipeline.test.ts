import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryType, type Entry } from '../../../store/raft/types.js';
import { durableCommittedPrefix } from '../../../store/server/apply_pipeline.js';

const ents = (from: number, to: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term: 1, type: EntryType.Normal, data: new Uint8Array() }));

describe('durableCommittedPrefix (which committed entries may be applied before this Ready is synced)', () => {
  it('leader: entries synced by earlier Readies are applied while the new batch is being synced', () => {
    // committed 5..8 (synced through 8 before this Ready), this Ready appends 9..12
    assert.equal(durableCommittedPrefix(ents(5, 8), 8, 9), 4);
  });

  it('single member: entries committed in the Ready that appends them wait for its fdatasync', () => {
    assert.equal(durableCommittedPrefix(ents(3, 4), 2, 3), 0);
    assert.equal(durableCommittedPrefix(ents(1, 4), 2, 3), 2, 'only the already synced part goes first');
  });

  it('follower overwriting a conflicting suffix: indexes from the first new entry are not durable, even below the synced index', () => {
    // synced through 10 (old term), the leader replaces 5.. and commits through 8 in the same Ready
    assert.equal(durableCommittedPrefix(ents(3, 8), 10, 5), 2);
  });

  it('a Ready without new entries (commit only) applies everything already synced, nothing beyond', () => {
    assert.equal(durableCommittedPrefix(ents(7, 9), 9), 3);
    assert.equal(durableCommittedPrefix(ents(7, 9), 8), 2);
    assert.equal(durableCommittedPrefix([], 9), 0);
  });
});
