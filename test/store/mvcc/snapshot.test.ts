/** MVCC snapshot encode/decode: a restored store answers and evolves exactly like the original. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrCompacted, MvccStore } from '../../../store/mvcc/kvstore.js';
import { MvccSnapshotError, decodeMvccSnapshot, encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { prng } from '../../helpers/prng.js';

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const ZERO = new Uint8Array([0]);

/** Applies `n` seeded random puts/deletes/compactions to every store given. */
function churn(stores: MvccStore[], seed: number, n: number): void {
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const key = b(`k${Math.floor(rnd() * 20)}`);
    const r = rnd();
    const end = rnd() < 0.5 ? undefined : b('k5');
    for (const st of stores) {
      if (r < 0.6) st.put(key, b(`v${i}`), BigInt(i % 3));
      else if (r < 0.9) st.deleteRange(key, end);
      else if (r < 0.92 && st.rev() - 10 > st.compactRevision()) st.compact(st.rev() - 10);
    }
  }
}

/** Every read the stores can answer, from the compacted revision on. */
function dump(st: MvccStore): unknown[] {
  const out: unknown[] = [st.rev(), st.compactRevision()];
  for (let at = Math.max(st.compactRevision(), 1); at <= st.rev(); at++) out.push(st.range(new Uint8Array(0), ZERO, { revision: at }).kvs);
  return out;
}

describe('MVCC snapshot', () => {
  it('round trips a compacted history; both stores then evolve identically', () => {
    const orig = new MvccStore();
    churn([orig], 5, 400);
    if (orig.rev() - 5 > orig.compactRevision()) orig.compact(orig.rev() - 5);
    assert.ok(orig.compactRevision() > 100, `compacted at ${orig.compactRevision()}`);
    const bytes = encodeMvccSnapshot(orig);
    const copy = decodeMvccSnapshot(bytes);
    assert.deepEqual(dump(copy), dump(orig));
    assert.equal(copy.sizeBytes(), orig.sizeBytes());
    assert.throws(() => copy.range(b('k1'), undefined, { revision: orig.compactRevision() - 1 }), ErrCompacted);
    churn([orig, copy], 6, 300);
    assert.deepEqual(dump(copy), dump(orig));
    assert.deepEqual(copy.eventsSince(copy.compactRevision() + 1), orig.eventsSince(orig.compactRevision() + 1));
  });

  it('a fresh store round trips at revision 1', () => {
    const st = decodeMvccSnapshot(encodeMvccSnapshot(new MvccStore()));
    assert.equal(st.rev(), 1);
    assert.equal(st.put(b('a'), b('1'), 0n).rev, 2);
  });

  it('damaged bytes are refused', () => {
    const orig = new MvccStore();
    churn([orig], 9, 50);
    const bytes = encodeMvccSnapshot(orig);
    const flipped = Uint8Array.from(bytes);
    flipped[40]! ^= 1;
    assert.throws(() => decodeMvccSnapshot(flipped), MvccSnapshotError);
    assert.throws(() => decodeMvccSnapshot(bytes.subarray(0, bytes.length - 1)), MvccSnapshotError);
    assert.throws(() => decodeMvccSnapshot(new Uint8Array(3)), MvccSnapshotError);
  });
});
