/** Targeted tests of MvccStore's etcd rules (revision numbers as observed on etcd 3.4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend, EMPTY_BACKEND_BYTES } from '../../../store/mvcc/backend.js';
import { KeyIndex } from '../../../store/mvcc/key_index.js';
import { ErrCompacted, ErrFutureRev, MvccError, MvccStore, compareKeys, type MvccEvent } from '../../../store/mvcc/kvstore.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const s = (u: Uint8Array): string => new TextDecoder().decode(u);
const keys = (r: { kvs: { key: Uint8Array }[] }): string[] => r.kvs.map((kv) => s(kv.key));
const ZERO = new Uint8Array([0]);

/** A store holding a..e (revisions 2..6). */
function abcde(): MvccStore {
  const st = new MvccStore();
  for (const k of ['a', 'b', 'c', 'd', 'e']) st.put(b(k), b(`${k}1`), 0n);
  return st;
}

describe('MvccStore revisions', () => {
  it('a fresh store is at revision 1 and empty', () => {
    const st = new MvccStore();
    assert.equal(st.rev(), 1);
    assert.equal(st.compactRevision(), 0);
    assert.deepEqual(st.range(b('a'), ZERO), { kvs: [], count: 0, more: false, revision: 1 });
  });

  it('the first put makes revision 2; create/mod revision and version follow etcd', () => {
    const st = new MvccStore();
    const r1 = st.put(b('foo'), b('bar'), 0n);
    assert.equal(r1.rev, 2);
    assert.equal(r1.prev, undefined);
    const kv1 = st.range(b('foo'), undefined).kvs[0]!;
    assert.deepEqual({ ...kv1, key: s(kv1.key), value: s(kv1.value) }, { key: 'foo', value: 'bar', createRevision: 2, modRevision: 2, version: 1, lease: 0n });
    const r2 = st.put(b('foo'), b('baz'), 7n);
    assert.equal(r2.rev, 3);
    assert.equal(s(r2.prev!.value), 'bar');
    const kv2 = st.range(b('foo'), undefined).kvs[0]!;
    assert.deepEqual([kv2.createRevision, kv2.modRevision, kv2.version, kv2.lease, s(kv2.value)], [2, 3, 2, 7n, 'baz']);
  });

  it('a delete bumps the revision; the version restarts after it; a delete of nothing does not bump', () => {
    const st = new MvccStore();
    st.put(b('k'), b('1'), 0n); // 2
    st.put(b('k'), b('2'), 0n); // 3
    const d = st.deleteRange(b('k'), undefined); // 4
    assert.equal(d.rev, 4);
    assert.equal(d.deleted, 1);
    assert.equal(s(d.prevKvs[0]!.value), '2');
    const none = st.deleteRange(b('k'), undefined);
    assert.deepEqual(none, { rev: 4, deleted: 0, prevKvs: [] });
    const none2 = st.deleteRange(b('x'), ZERO);
    assert.equal(none2.rev, 4);
    assert.equal(st.rev(), 4);
    st.put(b('k'), b('3'), 0n); // 5
    const kv = st.range(b('k'), undefined).kvs[0]!;
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version], [5, 5, 1]);
  });

  it('reads at past revisions see the past', () => {
    const st = new MvccStore();
    st.put(b('a'), b('1'), 0n); // 2
    st.put(b('a'), b('2'), 0n); // 3
    st.put(b('b'), b('1'), 0n); // 4
    st.deleteRange(b('a'), undefined); // 5
    st.put(b('a'), b('3'), 0n); // 6
    const at = (rev: number): string[] => st.range(b('a'), ZERO, { revision: rev }).kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.version}`);
    assert.deepEqual(at(1), []);
    assert.deepEqual(at(2), ['a=1@1']);
    assert.deepEqual(at(3), ['a=2@2']);
    assert.deepEqual(at(4), ['a=2@2', 'b=1@1']);
    assert.deepEqual(at(5), ['b=1@1']);
    assert.deepEqual(at(6), ['a=3@1', 'b=1@1']);
    assert.deepEqual(at(0), at(6)); // 0 = current
    assert.equal(st.range(b('a'), ZERO, { revision: 3 }).revision, 6, 'the header revision is the current one');
  });
});

describe('MvccStore range rules', () => {
  it('range_end: undefined/empty = one key, [0x00] = all keys >= key, else [key, end)', () => {
    const st = abcde();
    assert.deepEqual(keys(st.range(b('b'), undefined)), ['b']);
    assert.deepEqual(keys(st.range(b('b'), new Uint8Array(0))), ['b']);
    assert.deepEqual(keys(st.range(b('bb'), undefined)), []);
    assert.deepEqual(keys(st.range(b('c'), ZERO)), ['c', 'd', 'e']);
    assert.deepEqual(keys(st.range(ZERO, ZERO)), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(keys(st.range(new Uint8Array(0), ZERO)), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(keys(st.range(b('b'), b('d'))), ['b', 'c']);
    assert.deepEqual(keys(st.range(b('a'), b('a\0'))), ['a']);
    assert.deepEqual(keys(st.range(b('d'), b('b'))), [], 'end before key: nothing');
  });

  it('byte order, not string order: 0xff sorts after ASCII, prefix ranges work', () => {
    const st = new MvccStore();
    for (const k of [[0xff], [0x61, 0xff], [0x61], [0x61, 0x00], [0x62]]) st.put(new Uint8Array(k), b('v'), 0n);
    const all = st.range(new Uint8Array([0]), ZERO).kvs.map((kv) => Array.from(kv.key));
    assert.deepEqual(all, [[0x61], [0x61, 0x00], [0x61, 0xff], [0x62], [0xff]]);
    // prefix "a": [a, b)
    assert.equal(st.range(b('a'), b('b')).count, 3);
    assert.ok(compareKeys(new Uint8Array([0x61, 0xff]), new Uint8Array([0x62])) < 0);
  });

  it('limit: more when keys were left out; count is the total', () => {
    const st = abcde();
    const r = st.range(b('a'), ZERO, { limit: 2 });
    assert.deepEqual(keys(r), ['a', 'b']);
    assert.equal(r.count, 5);
    assert.equal(r.more, true);
    const exact = st.range(b('a'), ZERO, { limit: 5 });
    assert.equal(exact.kvs.length, 5);
    assert.equal(exact.more, false);
    const none = st.range(b('a'), ZERO, { limit: 0 });
    assert.equal(none.kvs.length, 5);
    assert.equal(none.more, false);
  });

  it('keysOnly drops values; countOnly returns no kvs', () => {
    const st = abcde();
    const ko = st.range(b('a'), b('c'), { keysOnly: true });
    assert.deepEqual(keys(ko), ['a', 'b']);
    assert.ok(ko.kvs.every((kv) => kv.value.length === 0 && kv.version === 1));
    assert.equal(s(st.range(b('a'), undefined).kvs[0]!.value), 'a1', 'the stored value is untouched');
    const co = st.range(b('a'), ZERO, { countOnly: true, limit: 2 });
    assert.deepEqual(co, { kvs: [], count: 5, more: false, revision: 6 });
  });

  it('returned kvs do not alias the store', () => {
    const st = abcde();
    const kv = st.range(b('a'), undefined).kvs[0]!;
    kv.version = 99;
    const val = b('zz');
    st.put(b('z'), val, 0n);
    val[0] = 0x41;
    assert.equal(st.range(b('a'), undefined).kvs[0]!.version, 1);
    assert.equal(s(st.range(b('z'), undefined).kvs[0]!.value), 'zz');
  });
});

describe('MvccStore errors and compaction', () => {
  it('a future revision throws ErrFutureRev with etcd message', () => {
    const st = abcde();
    assert.throws(
      () => st.range(b('a'), undefined, { revision: 7 }),
      (err: unknown) => err instanceof ErrFutureRev && err instanceof MvccError && err.message === 'mvcc: required revision is a future revision',
    );
    assert.equal(st.range(b('a'), undefined, { revision: 6 }).count, 1);
  });

  it('compact keeps the latest version at or before rev; older reads throw ErrCompacted', () => {
    const st = new MvccStore();
    st.put(b('a'), b('1'), 0n); // 2
    st.put(b('a'), b('2'), 0n); // 3
    st.put(b('b'), b('1'), 0n); // 4
    st.deleteRange(b('a'), undefined); // 5
    st.put(b('a'), b('3'), 0n); // 6
    // the same scenario on etcd 3.4: compact 4, then get a --rev=4 gives a=2 (mod 3, version 2); --rev=3 is compacted
    assert.equal(st.compact(4), 4);
    assert.equal(st.compactRevision(), 4);
    const a4 = st.range(b('a'), undefined, { revision: 4 }).kvs[0]!;
    assert.deepEqual([s(a4.value), a4.createRevision, a4.modRevision, a4.version], ['2', 2, 3, 2]);
    assert.deepEqual(keys(st.range(b('a'), ZERO, { revision: 5 })), ['b']);
    assert.throws(
      () => st.range(b('a'), undefined, { revision: 3 }),
      (err: unknown) => err instanceof ErrCompacted && err.message === 'mvcc: required revision has been compacted',
    );
    assert.equal(st.range(b('a'), undefined).kvs[0]!.version, 1);
    assert.equal(st.range(b('a'), undefined, { revision: 0 }).count, 1, 'revision 0 is the current one, never compacted');
  });

  it('compact errors as etcd: the same or an older revision => ErrCompacted, a future one => ErrFutureRev', () => {
    const st = abcde();
    st.compact(4);
    assert.throws(() => st.compact(4), ErrCompacted);
    assert.throws(() => st.compact(3), ErrCompacted);
    assert.throws(() => st.compact(7), ErrFutureRev);
    assert.equal(st.compact(6), 6);
    assert.equal(st.compactRevision(), 6);
  });

  it('compaction frees the history of deleted keys and shrinks sizeBytes', () => {
    const st = new MvccStore();
    assert.equal(st.sizeBytes(), EMPTY_BACKEND_BYTES);
    const big = new Uint8Array(1000);
    for (let i = 0; i < 10; i++) st.put(b(`k${i}`), big, 0n);
    st.put(b('k0'), big, 0n);
    const full = st.sizeBytes();
    assert.ok(full >= EMPTY_BACKEND_BYTES + 11 * 1002, `size ${full}`);
    st.deleteRange(b('k'), b('k5')); // k0..k4
    assert.equal(st.keyCount(), 10);
    st.compact(st.rev());
    assert.equal(st.keyCount(), 5, 'deleted keys are gone from the index');
    assert.ok(st.sizeBytes() < EMPTY_BACKEND_BYTES + 5 * 1100, `size after compaction ${st.sizeBytes()}`);
    assert.deepEqual(keys(st.range(b('k'), ZERO)), ['k5', 'k6', 'k7', 'k8', 'k9']);
  });

  it('eventsSince follows etcd watch rules for compacted starts', () => {
    const st = abcde();
    st.compact(4);
    assert.throws(() => st.eventsSince(3), ErrCompacted);
    assert.deepEqual(st.eventsSince(5).map((e) => [e.rev, s(e.event.kv.key)]), [[5, 'd'], [6, 'e']]);
    assert.throws(() => st.eventsSince(8), ErrFutureRev);
    assert.deepEqual(st.eventsSince(7), []);
  });
});

describe('MvccStore write transactions', () => {
  it('several puts and deletes share one revision, with sub-ordered events', () => {
    const st = abcde();
    const seen: [number, MvccEvent[]][] = [];
    const off = st.onCommit((rev, events) => seen.push([rev, events]));
    const out = st.write((tx) => {
      tx.put(b('x'), b('1'), 0n);
      const inside = tx.range(b('x'), undefined);
      tx.deleteRange(b('a'), b('c'));
      tx.put(b('a'), b('again'), 0n);
      return inside;
    });
    assert.equal(st.rev(), 7);
    assert.deepEqual(keys(out), ['x'], 'a transaction reads its own writes');
    assert.deepEqual(keys(st.range(b('a'), ZERO)), ['a', 'c', 'd', 'e', 'x']);
    const a = st.range(b('a'), undefined).kvs[0]!;
    assert.deepEqual([a.createRevision, a.modRevision, a.version], [7, 7, 1]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], 7);
    assert.deepEqual(seen[0]![1].map((e) => `${e.type} ${s(e.kv.key)}${e.prevKv ? ` (was ${s(e.prevKv.value)})` : ''}`), [
      'put x',
      'delete a (was a1)',
      'delete b (was b1)',
      'put a',
    ]);
    off();
    st.put(b('y'), b('1'), 0n);
    assert.equal(seen.length, 1, 'unsubscribed');
  });

  it('a transaction that changes nothing keeps the revision and emits nothing', () => {
    const st = abcde();
    let commits = 0;
    st.onCommit(() => commits++);
    const r = st.write((tx) => tx.deleteRange(b('zz'), undefined));
    assert.deepEqual(r, { rev: 6, deleted: 0, prevKvs: [] });
    assert.equal(st.rev(), 6);
    assert.equal(commits, 0);
  });
});

describe('KeyIndex and MemoryBackend', () => {
  it('KeyIndex: generations, versions and compaction', () => {
    const ki = new KeyIndex(b('k'));
    ki.put({ main: 2, sub: 0 });
    ki.put({ main: 3, sub: 0 });
    ki.tombstone({ main: 4, sub: 0 });
    ki.put({ main: 6, sub: 1 });
    assert.deepEqual(ki.get(3), { modified: { main: 3, sub: 0 }, created: { main: 2, sub: 0 }, version: 2 });
    assert.equal(ki.get(4), undefined);
    assert.equal(ki.get(5), undefined);
    assert.equal(ki.get(1), undefined);
    assert.deepEqual(ki.get(6), { modified: { main: 6, sub: 1 }, created: { main: 6, sub: 1 }, version: 1 });
    const keep = new Set<string>();
    ki.compact(3, keep);
    assert.deepEqual([...keep], ['3_0']);
    assert.deepEqual(ki.revisions().map((r) => r.main), [3, 4, 6]);
    assert.equal(ki.get(3)!.version, 2, 'version survives compaction');
    ki.compact(5, keep);
    assert.deepEqual(ki.revisions().map((r) => r.main), [6]);
    assert.throws(() => new KeyIndex(b('x')).tombstone({ main: 2, sub: 0 }));
  });

  it('MemoryBackend keeps revision order for out-of-order puts and replaces equal revisions', () => {
    const be = new MemoryBackend();
    const kv = (v: string) => ({ key: b('k'), value: b(v), createRevision: 0, modRevision: 0, version: 0, lease: 0n });
    be.put({ rev: { main: 3, sub: 0 }, kv: kv('c'), tombstone: false });
    be.put({ rev: { main: 2, sub: 1 }, kv: kv('b'), tombstone: false });
    be.put({ rev: { main: 2, sub: 0 }, kv: kv('a'), tombstone: false });
    be.put({ rev: { main: 3, sub: 0 }, kv: kv('C'), tombstone: false });
    assert.deepEqual([...be.range({ main: 0, sub: 0 })].map((r) => s(r.kv.value)), ['a', 'b', 'C']);
    assert.deepEqual([...be.range({ main: 2, sub: 1 }, { main: 3, sub: 0 })].map((r) => s(r.kv.value)), ['b']);
    assert.equal(be.count(), 3);
    be.remove([{ main: 2, sub: 1 }, { main: 9, sub: 9 }]);
    assert.equal(be.get({ main: 2, sub: 1 }), undefined);
    assert.equal(s(be.get({ main: 3, sub: 0 })!.kv.value), 'C');
    assert.equal(be.sizeBytes(), EMPTY_BACKEND_BYTES + 2 * (1 + 1 + 64));
  });
});
