/**
 * SlabBackend (store/mvcc/slab_backend.ts) against MemoryBackend as the reference: seeded random sequences of
 * puts (appends, replacements, out-of-order inserts), removals and reads must give the same records and sizes;
 * slabs of compacted history are freed; views handed out stay unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend, type BackendRecord } from '../../../store/mvcc/backend.js';
import { SLAB_BYTES, SlabBackend } from '../../../store/mvcc/slab_backend.js';
import type { Revision } from '../../../store/mvcc/revision.js';
import { prng } from '../../helpers/prng.js';

const plain = (r: BackendRecord) => ({
  rev: { main: r.rev.main, sub: r.rev.sub }, tombstone: r.tombstone,
  kv: { ...r.kv, key: Buffer.from(r.kv.key).toString('hex'), value: Buffer.from(r.kv.value).toString('hex') },
});

function randomRecord(rnd: () => number, rev: Revision): BackendRecord {
  const big = rnd() < 0.03;
  const key = Buffer.from(`k${Math.floor(rnd() * 50)}`);
  const tombstone = !big && rnd() < 0.1;
  const value = tombstone ? new Uint8Array(0) : new Uint8Array(big ? SLAB_BYTES / 4 + Math.floor(rnd() * 1000) : Math.floor(rnd() * 600));
  for (let i = 0; i < value.length; i += 7) value[i] = Math.floor(rnd() * 256);
  const lease = rnd() < 0.2 ? BigInt(Math.floor(rnd() * 1e9)) * 1_000_000_007n : 0n;
  return { rev, tombstone, kv: { key, value, createRevision: Math.floor(rnd() * rev.main) + 1, modRevision: rev.main, version: Math.floor(rnd() * 9) + 1, lease } };
}

describe('SlabBackend', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`matches MemoryBackend on a random sequence (seed ${seed})`, () => {
      const rnd = prng(seed);
      const ref = new MemoryBackend();
      const sb = new SlabBackend();
      let main = 1;
      const handedOut: { view: Uint8Array; bytes: string }[] = [];
      for (let step = 0; step < 1500; step++) {
        const p = rnd();
        if (p < 0.75) {
          // mostly appends; sometimes a replacement or an insert below the last revision
          const r = rnd();
          const rev = r < 0.85 || main < 3 ? { main: ++main, sub: Math.floor(rnd() * 3) } : { main: 1 + Math.floor(rnd() * main), sub: Math.floor(rnd() * 3) };
          const rec = randomRecord(rnd, rev);
          const a = ref.put(rec);
          const bRec = sb.put(rec);
          assert.deepEqual(plain(bRec), plain(a));
          rec.kv.value.fill(0xee); // the caller's array may be reused: both backends copied it
          if (bRec.kv.value.length > 0 && rnd() < 0.05) handedOut.push({ view: bRec.kv.value, bytes: Buffer.from(bRec.kv.value).toString('hex') });
        } else if (p < 0.8) {
          // a compaction-like removal of a random subset of old records
          const cut = Math.floor(rnd() * main);
          const drop = [...ref.range({ main: 0, sub: 0 }, { main: cut, sub: 0 })].filter(() => rnd() < 0.8).map((r) => r.rev);
          ref.remove(drop);
          sb.remove(drop);
        } else {
          const from = { main: Math.floor(rnd() * main), sub: 0 };
          const to = rnd() < 0.5 ? undefined : { main: from.main + Math.floor(rnd() * 50), sub: Math.floor(rnd() * 3) };
          assert.deepEqual([...sb.range(from, to)].map(plain), [...ref.range(from, to)].map(plain));
          const rev = { main: Math.floor(rnd() * main) + 1, sub: Math.floor(rnd() * 3) };
          const g = ref.get(rev);
          assert.deepEqual(sb.get(rev) && plain(sb.get(rev)!), g && plain(g));
        }
        assert.equal(sb.count(), ref.count());
        assert.equal(sb.sizeBytes(), ref.sizeBytes());
      }
      assert.deepEqual([...sb.range({ main: 0, sub: 0 })].map(plain), [...ref.range({ main: 0, sub: 0 })].map(plain));
      for (const h of handedOut) assert.equal(Buffer.from(h.view).toString('hex'), h.bytes, 'a view handed out changed');
    });
  }

  it('frees the slabs of removed history and keeps what is left readable', () => {
    const sb = new SlabBackend();
    const value = new Uint8Array(1000).fill(7);
    for (let i = 1; i <= 2000; i++) sb.put({ rev: { main: i, sub: 0 }, tombstone: false, kv: { key: Buffer.from(`key${i % 10}`), value, createRevision: 1, modRevision: i, version: i, lease: 0n } });
    const before = sb.slabCount();
    assert.ok(before >= 7, `expected several slabs, got ${before}`);
    const keep = new Set([5, 600, 1500, 1999]);
    sb.remove([...sb.range({ main: 0, sub: 0 }, { main: 2000, sub: 0 })].filter((r) => !keep.has(r.rev.main)).map((r) => r.rev));
    assert.deepEqual([...sb.range({ main: 0, sub: 0 })].map((r) => r.rev.main), [5, 600, 1500, 1999, 2000]);
    assert.ok(sb.slabCount() <= 2, `slabs after compaction: ${sb.slabCount()}`);
    for (const r of sb.range({ main: 0, sub: 0 })) {
      assert.deepEqual(r.kv.value, value);
      assert.equal(Buffer.from(r.kv.key).toString(), `key${r.rev.main % 10}`);
    }
  });

  it('keeps 64-bit lease IDs', () => {
    const sb = new SlabBackend();
    const lease = (1n << 63n) + 12345n;
    sb.put({ rev: { main: 2, sub: 0 }, tombstone: false, kv: { key: Buffer.from('a'), value: new Uint8Array(0), createRevision: 2, modRevision: 2, version: 1, lease } });
    assert.equal(sb.get({ main: 2, sub: 0 })!.kv.lease, lease);
  });
});
