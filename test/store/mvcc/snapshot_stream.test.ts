/**
 * The MVCC snapshot encoder streaming from the compact backend: an image written after reserved header room is
 * byte-identical to a plain one; the state decoded without a store restores the same history; KeyIndex keys keep
 * every byte value (they are kept as latin1 strings, store/mvcc/key_index.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { KeyIndex } from '../../../store/mvcc/key_index.js';
import { decodeMvccSnapshot, decodeMvccState, encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { prng } from '../../helpers/prng.js';

function randomStore(seed: number): MvccStore {
  const rnd = prng(seed);
  const st = new MvccStore();
  for (let i = 0; i < 400; i++) {
    const key = Uint8Array.from([Math.floor(rnd() * 256), Math.floor(rnd() * 4)]);
    if (rnd() < 0.15) st.deleteRange(key, undefined);
    else st.put(key, Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)), rnd() < 0.1 ? 7n : 0n);
    if (i === 250) st.compact(st.rev() - 40);
  }
  return st;
}

describe('MVCC snapshot streaming', () => {
  it('an image after reserved header room equals the plain image; decoding the state alone restores the history', () => {
    const st = randomStore(11);
    const plain = encodeMvccSnapshot(st);
    const withRoom = encodeMvccSnapshot(st, 13);
    assert.equal(withRoom.length, plain.length + 13);
    assert.deepEqual(withRoom.subarray(0, 13), new Uint8Array(13));
    assert.deepEqual(withRoom.subarray(13), plain);
    const state = decodeMvccState(withRoom.subarray(13));
    assert.equal(state.rev, st.rev());
    assert.equal(state.compactRev, st.compactRevision());
    const fresh = new MvccStore();
    fresh.replaceState(state);
    const all = new Uint8Array([0]);
    for (const at of [st.rev(), st.rev() - 10, st.compactRevision()]) {
      assert.deepEqual(fresh.range(all, all, { revision: at }), st.range(all, all, { revision: at }));
    }
    assert.deepEqual(decodeMvccSnapshot(plain).eventsSince(st.compactRevision()), st.eventsSince(st.compactRevision()));
    assert.equal(fresh.sizeBytes(), st.sizeBytes());
  });

  it('KeyIndex keeps keys with any byte values', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(new KeyIndex(bytes).key, bytes);
    assert.deepEqual(new KeyIndex(bytes.subarray(100, 140)).key, bytes.subarray(100, 140));
  });
});
