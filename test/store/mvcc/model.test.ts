/**
 * Seeded randomized test: MvccStore against a naive model that keeps a flat list of every change and
 * recomputes the state at a revision by replaying it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrCompacted, ErrFutureRev, MvccStore, type KeyValue, type RangeResult } from '../../../store/mvcc/kvstore.js';
import { prng } from '../../helpers/prng.js';

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

interface Change {
  rev: number;
  key: string;
  value?: string; // undefined = delete
  lease: bigint;
}

interface ModelKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: bigint;
}

/** The reference: all changes in a list; state by replay. */
class Model {
  rev = 1;
  compacted = 0;
  changes: Change[] = [];

  stateAt(rev: number): Map<string, ModelKv> {
    const m = new Map<string, ModelKv>();
    for (const c of this.changes) {
      if (c.rev > rev) break;
      if (c.value === undefined) {
        m.delete(c.key);
        continue;
      }
      const prev = m.get(c.key);
      m.set(c.key, {
        key: c.key,
        value: c.value,
        createRevision: prev ? prev.createRevision : c.rev,
        modRevision: c.rev,
        version: prev ? prev.version + 1 : 1,
        lease: c.lease,
      });
    }
    return m;
  }

  static inRange(k: string, key: string, end: string | undefined): boolean {
    if (end === undefined || end === '') return k === key;
    if (end === '\0') return k >= key;
    return k >= key && k < end;
  }

  matching(rev: number, key: string, end: string | undefined): ModelKv[] {
    return [...this.stateAt(rev).values()].filter((kv) => Model.inRange(kv.key, key, end)).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  }

  /** Applies a transaction of ops at one revision (only if something changes). */
  txn(ops: ({ put: string; value: string; lease: bigint } | { del: string; end: string | undefined })[]): void {
    const rev = this.rev + 1;
    const mine: Change[] = [];
    for (const op of ops) {
      if ('put' in op) {
        mine.push({ rev, key: op.put, value: op.value, lease: op.lease });
        this.changes.push(mine[mine.length - 1]!);
      } else {
        // live keys, seeing this transaction's own earlier changes
        for (const kv of this.matching(rev, op.del, op.end)) {
          mine.push({ rev, key: kv.key, lease: 0n });
          this.changes.push(mine[mine.length - 1]!);
        }
      }
    }
    if (mine.length) this.rev = rev;
  }
}

function view(kv: KeyValue): ModelKv {
  return {
    key: s(kv.key),
    value: s(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

const KEYS = ['a', 'a\0', 'a/b', 'a/c', 'ab', 'b', 'b\xff', 'c', 'foo', 'foo/bar', '\xff', '\xff\xff', 'z'];
const BOUNDS = ['', 'a', 'a/', 'a0', 'b', 'bz', 'c', 'f', 'foo0', 'zz', '\xff', '\xff\xff\xff'];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomRange(rnd: () => number): { key: string; end: string | undefined } {
  const r = rnd();
  if (r < 0.25) return { key: pick(rnd, KEYS), end: undefined };
  if (r < 0.3) return { key: pick(rnd, KEYS), end: '' };
  if (r < 0.45) return { key: pick(rnd, [...KEYS, '']), end: '\0' };
  return { key: pick(rnd, [...BOUNDS, ...KEYS]), end: pick(rnd, BOUNDS.filter((x) => x !== '')) };
}

function runModel(seed: number, steps: number): void {
  const rnd = prng(seed);
  const store = new MvccStore();
  const model = new Model();
  let lease = 0n;
  for (let step = 0; step < steps; step++) {
    const r = rnd();
    if (r < 0.4) {
      const key = pick(rnd, KEYS);
      const value = `v${step}`;
      lease = rnd() < 0.2 ? BigInt(step) : 0n;
      const before = model.matching(model.rev, key, undefined)[0];
      const res = store.put(b(key), b(value), lease);
      model.txn([{ put: key, value, lease }]);
      assert.equal(res.rev, model.rev);
      assert.deepEqual(res.prev && view(res.prev), before);
    } else if (r < 0.55) {
      const { key, end } = randomRange(rnd);
      const before = model.matching(model.rev, key, end);
      const res = store.deleteRange(b(key), end === undefined ? undefined : b(end));
      model.txn([{ del: key, end }]);
      assert.equal(res.rev, model.rev, `step ${step}`);
      assert.equal(res.deleted, before.length);
      assert.deepEqual(res.prevKvs.map(view), before);
    } else if (r < 0.65) {
      // a transaction of several ops at one revision
      const ops: Parameters<Model['txn']>[0] = [];
      const n = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) {
        if (rnd() < 0.7) ops.push({ put: pick(rnd, KEYS), value: `t${step}.${i}`, lease: 0n });
        else {
          const { key, end } = randomRange(rnd);
          ops.push({ del: key, end });
        }
      }
      store.write((tx) => {
        for (const op of ops) {
          if ('put' in op) tx.put(b(op.put), b(op.value), op.lease);
          else tx.deleteRange(b(op.del), op.end === undefined ? undefined : b(op.end));
        }
      });
      model.txn(ops);
    } else if (r < 0.68) {
      if (model.rev > model.compacted) {
        const at = model.compacted + 1 + Math.floor(rnd() * (model.rev - model.compacted));
        assert.equal(store.compact(at), at);
        model.compacted = at;
      }
    } else {
      // a read at a random revision, some of them out of bounds
      const { key, end } = randomRange(rnd);
      const lo = Math.max(model.compacted - 2, 0);
      const at = lo + Math.floor(rnd() * (model.rev + 3 - lo));
      const limit = rnd() < 0.3 ? Math.floor(rnd() * 4) : 0;
      const keysOnly = rnd() < 0.2;
      const countOnly = rnd() < 0.1;
      const call = (): RangeResult => store.range(b(key), end === undefined ? undefined : b(end), { revision: at, limit, keysOnly, countOnly });
      if (at > model.rev) {
        assert.throws(call, ErrFutureRev);
        continue;
      }
      if (at !== 0 && at < model.compacted) {
        assert.throws(call, ErrCompacted);
        continue;
      }
      const want = model.matching(at === 0 ? model.rev : at, key, end);
      const got = call();
      assert.equal(got.revision, model.rev);
      assert.equal(got.count, want.length, `step ${step} count of [${key}, ${end}) at ${at}`);
      let exp = countOnly ? [] : limit > 0 ? want.slice(0, limit) : want;
      if (keysOnly) exp = exp.map((kv) => ({ ...kv, value: '' }));
      assert.deepEqual(got.kvs.map(view), exp, `step ${step} kvs of [${JSON.stringify(key)}, ${JSON.stringify(end)}) at ${at}`);
      assert.equal(got.more, !countOnly && limit > 0 && want.length > limit);
    }
    assert.equal(store.rev(), model.rev);
    assert.equal(store.compactRevision(), model.compacted);
  }
  // the change history above the compacted revision is complete and in order
  const from = model.compacted + 1;
  const events = store.eventsSince(from);
  const wantEvents = model.changes.filter((c) => c.rev >= from);
  assert.deepEqual(
    events.map((e) => [e.rev, e.event.type, s(e.event.kv.key), e.event.type === 'put' ? s(e.event.kv.value) : undefined]),
    wantEvents.map((c) => [c.rev, c.value === undefined ? 'delete' : 'put', c.key, c.value]),
  );
  // and every revision from the compacted one on reads as the model says
  for (let at = Math.max(model.compacted, 1); at <= model.rev; at++) {
    const got = store.range(b(''), b('\0'), { revision: at });
    assert.deepEqual(got.kvs.map(view), model.matching(at, '', '\0'), `full read at ${at}`);
  }
}

describe('MvccStore against a naive model', () => {
  for (const seed of [1, 2, 3, 7, 42, 1234]) {
    it(`seed ${seed}`, () => runModel(seed, 1500));
  }
});
