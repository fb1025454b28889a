/**
 * The watchable store (store/mvcc/watchable_store.ts) against the committed history: seeded random puts,
 * deletes and multi-op transactions with many watchers at random start revisions, ranges and filters, on
 * streams read eagerly, slowly or not at all. Each watcher must see exactly the committed history of its range
 * from its start revision, in order, each revision whole in one response (etcd's watch guarantees), unless it
 * was canceled for compaction, in which case it saw a prefix of that history.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MvccStore, type MvccEvent } from '../../../store/mvcc/kvstore.js';
import {
  ErrEmptyWatcherRange, ErrWatcherDuplicateID, WatchableStore, WatchFilter, type WatchResponse, type WatchStream,
} from '../../../store/mvcc/watchable_store.js';
import { prng } from '../../helpers/prng.js';

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const str = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const tick = () => new Promise<void>((r) => setImmediate(r));

interface Spec { id: number; stream: number; key: string; end: string | undefined; start: number; filters: WatchFilter[] }
interface Seen { rev: number; type: string; key: string; value: string }

function inSpec(sp: Spec, key: string): boolean {
  if (sp.end === undefined) return key === sp.key;
  if (key < sp.key) return false;
  return sp.end === '\0' || key < sp.end;
}

function describeEv(rev: number, e: MvccEvent): Seen {
  return { rev, type: e.type, key: str(e.kv.key), value: str(e.kv.value) };
}

async function runScenario(seed: number, steps: number): Promise<void> {
  const rnd = prng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const kv = new MvccStore();
  const store = new WatchableStore(kv, { bufferLimit: 3, maxRevsPerResponse: 4, syncIntervalMs: 1 });
  const history: { rev: number; events: MvccEvent[] }[] = [];
  kv.onCommit((rev, events) => history.push({ rev, events: [...events] }));
  const keys = ['a', 'a/1', 'a/2', 'b', 'b/x', 'c'];
  // stream 0 is read eagerly, 1 slowly, 2 only at the end
  const streams: WatchStream[] = [store.newWatchStream(), store.newWatchStream(), store.newWatchStream()];
  const got = new Map<string, WatchResponse[]>();
  const specs: Spec[] = [];
  const read = (si: number, max: number) => {
    for (let n = 0; n < max; n++) {
      const r = streams[si]!.next();
      if (!r) return;
      const k = `${si}:${r.watchId}`;
      got.set(k, [...(got.get(k) ?? []), r]);
    }
  };
  let compacted = 0;
  for (let step = 0; step < steps; step++) {
    const x = rnd();
    if (x < 0.45) kv.put(b(pick(keys)), b(`v${step}`), 0n);
    else if (x < 0.6) {
      const k = pick(keys);
      kv.deleteRange(b(k), rnd() < 0.5 ? undefined : b(k + '0'));
    } else if (x < 0.75) {
      kv.write((tx) => {
        const used = new Set<string>();
        for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
          const k = pick(keys);
          if (used.has(k)) continue;
          used.add(k);
          if (rnd() < 0.7) tx.put(b(k), b(`t${step}.${i}`), 0n);
          else tx.deleteRange(b(k), undefined);
        }
      });
    } else if (x < 0.87 && specs.length < 40) {
      const si = Math.floor(rnd() * 3);
      const shape = rnd();
      const key = pick(keys);
      const end = shape < 0.4 ? undefined : shape < 0.7 ? key + '0' : shape < 0.85 ? '\0' : 'c';
      if (end !== undefined && end !== '\0' && key >= end) continue;
      const start = rnd() < 0.3 ? kv.rev() + 1 + Math.floor(rnd() * 3) : 1 + Math.floor(rnd() * kv.rev());
      const filters = rnd() < 0.2 ? [pick([WatchFilter.NoPut, WatchFilter.NoDelete])] : [];
      const id = streams[si]!.watch(0, b(key), end === undefined ? undefined : end === '\0' ? new Uint8Array(0) : b(end), start, filters);
      specs.push({ id, stream: si, key, end, start, filters });
    } else if (x < 0.89 && kv.rev() > 3) {
      const target = kv.compactRevision() + 1 + Math.floor(rnd() * (kv.rev() - kv.compactRevision()));
      if (target > kv.compactRevision() && target <= kv.rev()) compacted = kv.compact(target);
    } else if (x < 0.95) {
      await tick();
    }
    read(0, 100);
    if (step % 7 === 0) read(1, 2);
  }
  // drain everything
  for (let i = 0; i < 10000; i++) {
    for (let si = 0; si < 3; si++) read(si, 1000);
    store.syncWatchers();
    if (store.stats().unsynced === 0 && streams.every((s) => s.pending() === 0)) break;
  }
  assert.equal(store.stats().unsynced, 0, 'every watcher caught up');
  void compacted;
  for (const sp of specs) {
    const resps = (got.get(`${sp.stream}:${sp.id}`) ?? []).filter((r) => !r.created);
    const canceled = resps.find((r) => r.canceled);
    const evResps = resps.filter((r) => r.events.length > 0);
    const seen = evResps.flatMap((r) => {
      // atomic: for every revision in this response, it holds all of the watcher's events of that revision
      const revs = new Set(r.events.map((e) => e.kv.modRevision));
      for (const rev of revs) {
        const all = history.find((h) => h.rev === rev)!.events.filter((e) => inSpec(sp, str(e.kv.key)) &&
          !sp.filters.includes(e.type === 'put' ? WatchFilter.NoPut : WatchFilter.NoDelete));
        assert.equal(r.events.filter((e) => e.kv.modRevision === rev).length, all.length, `watcher ${JSON.stringify(sp)} rev ${rev} whole`);
      }
      return r.events.map((e) => describeEv(e.kv.modRevision, e));
    });
    const expected = history.filter((h) => h.rev >= sp.start).flatMap((h) => h.events
      .filter((e) => inSpec(sp, str(e.kv.key)) && !sp.filters.includes(e.type === 'put' ? WatchFilter.NoPut : WatchFilter.NoDelete))
      .map((e) => describeEv(h.rev, e)));
    if (canceled) {
      assert.ok(canceled.compactRevision! > sp.start, 'canceled only when its start was compacted');
      assert.deepEqual(seen, expected.slice(0, seen.length), `watcher ${JSON.stringify(sp)}: a prefix before cancel`);
      assert.equal(resps[resps.length - 1], canceled, 'nothing after the cancel');
    } else {
      assert.deepEqual(seen, expected, `watcher ${JSON.stringify(sp)} (seed ${seed})`);
    }
  }
  store.close();
}

describe('WatchableStore', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`delivers each watcher's history exactly once, in order, whole revisions (seed ${seed})`, async () => {
      await runScenario(seed, 400);
    });
  }

  it('a stream nobody reads never blocks writes; its watcher catches up from history', async () => {
    const kv = new MvccStore();
    const store = new WatchableStore(kv, { bufferLimit: 8, syncIntervalMs: 1 });
    const ws = store.newWatchStream();
    ws.watch(0, b('k'), b('l'), kv.rev() + 1);
    for (let i = 0; i < 2000; i++) kv.put(b(`k${i % 10}`), b(String(i)), 0n);
    await tick();
    assert.ok(ws.pending() <= 8, `bounded buffer, ${ws.pending()} queued`);
    assert.equal(store.stats().unsynced, 1, 'the slow watcher was moved to unsynced');
    const vals: string[] = [];
    for (let i = 0; i < 100000 && vals.length < 2000; i++) {
      const r = ws.next();
      if (r) vals.push(...r.events.map((e) => str(e.kv.value)));
      else store.syncWatchers();
    }
    assert.deepEqual(vals, Array.from({ length: 2000 }, (_, i) => String(i)));
    assert.equal(store.stats().synced, 1);
    store.close();
  });

  it('cancels a watcher whose start revision was compacted, with the compaction revision', () => {
    const kv = new MvccStore();
    const store = new WatchableStore(kv);
    for (let i = 0; i < 5; i++) kv.put(b('x'), b(String(i)), 0n);
    kv.compact(4);
    const ws = store.newWatchStream();
    const id = ws.watch(0, b('x'), undefined, 2);
    store.syncWatchers();
    assert.deepEqual(ws.next(), { watchId: id, events: [], revision: 0, compactRevision: 4, canceled: true });
    // starting at the compaction revision itself is fine
    const id2 = ws.watch(0, b('x'), undefined, 4);
    store.syncWatchers();
    const r = ws.next()!;
    assert.equal(r.watchId, id2);
    assert.deepEqual(r.events.map((e) => e.kv.modRevision), [4, 5, 6]);
    store.close();
  });

  it('answers a progress request only once every watcher is synced', () => {
    const kv = new MvccStore();
    const store = new WatchableStore(kv);
    for (let i = 0; i < 3; i++) kv.put(b('p'), b(String(i)), 0n);
    const ws = store.newWatchStream();
    ws.watch(0, b('p'), undefined, 2);
    ws.requestProgressAll();
    assert.equal(ws.pending(), 0, 'deferred while unsynced');
    store.syncWatchers();
    const first = ws.next()!;
    assert.deepEqual(first.events.map((e) => e.kv.modRevision), [2, 3, 4]);
    assert.deepEqual(ws.next(), { watchId: -1, events: [], revision: 4 });
    store.close();
  });

  it('assigns IDs from 0, refuses duplicates and empty ranges with etcd messages', () => {
    const kv = new MvccStore();
    const store = new WatchableStore(kv);
    const ws = store.newWatchStream();
    assert.equal(ws.watch(0, b('a'), undefined, 2), 0);
    assert.equal(ws.watch(1, b('a'), undefined, 2), 1);
    assert.equal(ws.watch(0, b('a'), undefined, 2), 2);
    assert.throws(() => ws.watch(1, b('a'), undefined, 2), (e: Error) => e instanceof ErrWatcherDuplicateID && e.message === 'mvcc: duplicate watch ID provided on the WatchStream');
    assert.throws(() => ws.watch(0, b('b'), b('a'), 2), (e: Error) => e instanceof ErrEmptyWatcherRange && e.message === 'mvcc: watcher range is empty');
    assert.equal(ws.cancel(1), true);
    assert.equal(ws.cancel(1), false);
    store.close();
  });
});
