import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, MemoryStorage, SnapshotOutOfDateError, UnavailableError } from '../../../store/raft/index.js';
import { entriesWithTerms } from './harness.js';

describe('MemoryStorage', () => {
  it('starts empty with a dummy entry at index 0', () => {
    const s = new MemoryStorage([1n, 2n, 3n]);
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.deepEqual(s.initialState().voters, [1n, 2n, 3n]);
    assert.throws(() => s.term(1), UnavailableError);
  });

  it('append overwrites a conflicting suffix and refuses gaps', () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 1, 2, 2]));
    s.append(entriesWithTerms([3, 3], 3));
    assert.deepEqual(s.entries(1, 5).map((e) => e.term), [1, 1, 3, 3]);
    assert.equal(s.lastIndex(), 4);
    s.append(entriesWithTerms([4], 2));
    assert.deepEqual(s.entries(1, 3).map((e) => e.term), [1, 4]);
    assert.throws(() => s.append(entriesWithTerms([5], 5)), /missing log entries/);
  });

  it('entries respects maxBytes but returns at least one entry', () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 1, 1, 1]));
    const size = s.entries(1, 2)[0]!.data.length;
    assert.equal(s.entries(1, 5, 0).length, 1);
    assert.equal(s.entries(1, 5, size * 2).length, 2);
    assert.equal(s.entries(1, 5).length, 4);
    assert.throws(() => s.entries(1, 6), UnavailableError);
  });

  it('compact drops entries and keeps the term of the compaction point', () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 2, 3, 4, 5]));
    s.createSnapshot(3, [1n], new Uint8Array([9]));
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 3);
    assert.throws(() => s.term(2), CompactedError);
    assert.throws(() => s.entries(3, 5), CompactedError);
    assert.deepEqual(s.entries(4, 6).map((e) => e.term), [4, 5]);
    assert.throws(() => s.compact(3), CompactedError);
    assert.throws(() => s.compact(9), UnavailableError);
    // append below the compaction point ignores the compacted part
    s.append(entriesWithTerms([1, 2, 3, 7], 1));
    assert.deepEqual(s.entries(4, 5).map((e) => e.term), [7]);
    assert.equal(s.lastIndex(), 4);
  });

  it('applySnapshot replaces the log; older snapshots are refused', () => {
    const s = new MemoryStorage([1n]);
    s.append(entriesWithTerms([1, 1]));
    s.applySnapshot({ meta: { index: 10, term: 4, voters: [1n, 2n] }, data: new Uint8Array() });
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 4);
    assert.deepEqual(s.initialState().voters, [1n, 2n]);
    assert.throws(() => s.applySnapshot({ meta: { index: 5, term: 4, voters: [] }, data: new Uint8Array() }), SnapshotOutOfDateError);
  });

  it('setHardState is returned by initialState', () => {
    const s = new MemoryStorage([1n]);
    s.setHardState({ term: 3, vote: 2n, commit: 0 });
    assert.deepEqual(s.initialState().hardState, { term: 3, vote: 2n, commit: 0 });
  });
});

describe('MemoryStorage snapshot data release', () => {
  const data = Uint8Array.from([1, 2, 3, 4]);
  /** A snapshot source over a map (the node's is the snapshot files: store/server/snapshot_source.ts). */
  const source = (files: Map<number, Uint8Array>) => ({ has: (i: number) => files.has(i), load: (i: number) => files.get(i)?.slice() });

  it('keeps a created snapshot until it is released, then reads it back from the source', () => {
    const s = new MemoryStorage([1n]);
    s.append(entriesWithTerms([1, 1, 1]));
    const files = new Map<number, Uint8Array>();
    s.setSnapshotSource(source(files));
    s.createSnapshot(2, [1n], data);
    assert.equal(s.releaseSnapshotData(), false, 'not durable yet: kept');
    assert.deepEqual(s.snapshot().data, data);
    files.set(2, data);
    assert.equal(s.releaseSnapshotData(), true);
    const got = s.snapshot();
    assert.deepEqual(got.data, data);
    assert.equal(got.meta.index, 2);
    assert.equal(got.meta.term, 1);
    assert.equal(s.snapshotMeta().index, 2);
    files.delete(2);
    const held = s.snapshot(); // still cached while referenced, or an error naming the index when gone
    assert.deepEqual(held.data, data);
  });

  it('applySnapshot releases the data of a snapshot the source has; a lost file is a clear error', () => {
    const s = new MemoryStorage([1n]);
    const files = new Map<number, Uint8Array>([[5, data]]);
    s.setSnapshotSource(source(files));
    s.applySnapshot({ meta: { index: 5, term: 2, voters: [1n] }, data: Uint8Array.from(data) });
    assert.deepEqual(s.snapshot().data, data);
    assert.deepEqual(s.initialState().voters, [1n]);
    s.applySnapshot({ meta: { index: 7, term: 2, voters: [1n] }, data: Uint8Array.from([9]) });
    assert.deepEqual(s.snapshot().data, Uint8Array.from([9]), 'not in the source: kept in memory');
    files.set(9, data);
    s.applySnapshot({ meta: { index: 9, term: 3, voters: [1n] }, data: Uint8Array.from(data) });
    files.delete(9);
    const s2 = new MemoryStorage([1n]);
    s2.applySnapshot({ meta: { index: 9, term: 3, voters: [1n] }, data: Uint8Array.from(data) });
    s2.setSnapshotSource({ has: () => true, load: () => undefined });
    assert.throws(() => s2.snapshot(), /snapshot at index 9 is no longer available/);
  });
});
