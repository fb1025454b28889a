/**
 * KV service, differential: the same scripted requests go to real etcd 3.4 and to quorumd; normalized
 * responses (header revision kept, IDs/terms dropped; errors as gRPC code + etcd message) must be identical.
 * Covers Range options, Put/DeleteRange options and errors, Txn (compares, nested txns, limits, duplicate keys),
 * Compact, --max-request-bytes, the kube-apiserver request shapes, and a seeded random sequence.
 * Ports 21100-21104.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { b, startPair, type Pair } from './harness.js';
import { prng as rng } from '../../helpers/prng.js';

let p: Pair;

before(async () => {
  p = await startPair(21100);
});
after(async () => {
  await p?.close();
});

// Enum values (etcdserverpb).
const SORT = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
const TARGET = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
const CMP = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
const CT = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

const put = (key: string, value: string, extra: Record<string, unknown> = {}) => ({ request_put: { key: b(key), value: b(value), ...extra } });
const get = (key: string, extra: Record<string, unknown> = {}) => ({ request_range: { key: b(key), ...extra } });
const del = (key: string, extra: Record<string, unknown> = {}) => ({ request_delete_range: { key: b(key), ...extra } });
const cmp = (key: string, target: number, result: number, field: string, value: unknown, extra: Record<string, unknown> = {}) =>
  ({ key: b(key), target, result, [field]: value, ...extra });

test('Range: every option', { timeout: 120_000 }, async () => {
  // a never-compacted store accepts one Compact(0), as etcd (its compacted revision starts at -1)
  await p.both('Compact', { revision: 0 });
  await p.both('Compact', { revision: 0 });
  await p.both('Compact', { revision: -1 });
  await p.both('Txn', { success: [get('r', { revision: -1 })] });
  for (const [k, v] of [['r/a', '3'], ['r/b', '1'], ['r/c', '2'], ['r/b', '9'], ['r/d', '0'], ['r/a', '5'], ['r/e', 'x'], ['s', 'y']]) {
    await p.both('Put', { key: b(k!), value: b(v!) });
  }
  const ranges: Record<string, unknown>[] = [
    { key: b('r/a') },
    { key: b('r/zz') },
    { key: b('r/'), range_end: b('r0') },
    { key: b('r/'), range_end: b('\0') },
    { key: b('\0'), range_end: b('\0') },
    { key: b('r/c'), range_end: b('r/a') },
    { key: b('r/'), range_end: b('r0'), limit: 2 },
    { key: b('r/'), range_end: b('r0'), limit: 5 },
    { key: b('r/'), range_end: b('r0'), limit: 9 },
    { key: b('r/'), range_end: b('r0'), limit: -1 },
    { key: b('r/'), range_end: b('r0'), count_only: true },
    { key: b('r/'), range_end: b('r0'), count_only: true, limit: 1 },
    { key: b('r/'), range_end: b('r0'), keys_only: true },
    { key: b('r/'), range_end: b('r0'), keys_only: true, limit: 1, serializable: true },
    { key: b('r/'), range_end: b('r0'), revision: 3 },
    { key: b('r/'), range_end: b('r0'), revision: 1 },
    { key: b('r/'), range_end: b('r0'), revision: 1000 },
    { key: b('') },
    { key: b(''), range_end: b('\0') },
    ...[SORT.NONE, SORT.ASCEND, SORT.DESCEND].flatMap((sort_order) =>
      Object.values(TARGET).flatMap((sort_target) => [
        { key: b('r/'), range_end: b('r0'), sort_order, sort_target },
        { key: b('r/'), range_end: b('r0'), sort_order, sort_target, limit: 2 },
      ])),
    { key: b('r/'), range_end: b('r0'), min_mod_revision: 4 },
    { key: b('r/'), range_end: b('r0'), max_mod_revision: 5 },
    { key: b('r/'), range_end: b('r0'), min_create_revision: 3, max_create_revision: 6 },
    { key: b('r/'), range_end: b('r0'), min_mod_revision: 3, limit: 1 },
    { key: b('r/'), range_end: b('r0'), max_mod_revision: 5, count_only: true },
    { key: b('r/'), range_end: b('r0'), min_create_revision: 4, sort_order: SORT.DESCEND, sort_target: TARGET.VALUE, limit: 2 },
  ];
  for (const r of ranges) await p.both('Range', r);
});

test('Put and DeleteRange: prev_kv, ignore_value, ignore_lease, leases, ranges, errors', { timeout: 120_000 }, async () => {
  await p.both('Put', { key: b('p/a'), value: b('1'), prev_kv: true });
  await p.both('Put', { key: b('p/a'), value: b('2'), prev_kv: true });
  await p.both('Put', { key: b('p/a'), ignore_value: true, prev_kv: true });
  await p.both('Range', { key: b('p/a') });
  await p.both('Put', { key: b('p/a'), ignore_lease: true });
  await p.both('Put', { key: b('p/a'), value: b('v'), ignore_value: true });
  await p.both('Put', { key: b('p/a'), lease: 7, ignore_lease: true });
  await p.both('Put', { key: b('p/missing'), ignore_value: true });
  await p.both('Put', { key: b('p/missing'), value: b('x'), ignore_lease: true });
  await p.both('Put', { key: b('p/a'), value: b('x'), lease: 12345 });
  await p.both('Put', { key: b(''), value: b('x') });
  await p.both('Put', { key: b('p/empty'), value: b('') });
  for (const k of ['p/b', 'p/c', 'p/d', 'p/e']) await p.both('Put', { key: b(k), value: b(k) });
  await p.both('DeleteRange', { key: b('p/nothing') });
  await p.both('DeleteRange', { key: b('p/b'), prev_kv: true });
  await p.both('DeleteRange', { key: b('p/c'), range_end: b('p/e'), prev_kv: true });
  await p.both('DeleteRange', { key: b('p/c'), range_end: b('p/e') });
  await p.both('DeleteRange', { key: b('') });
  await p.both('DeleteRange', { key: b('p/'), range_end: b('p0') });
  await p.both('Put', { key: b('q'), value: b('1') });
  await p.both('DeleteRange', { key: b('q'), range_end: b('\0'), prev_kv: true });
  await p.both('Range', { key: b('\0'), range_end: b('\0'), keys_only: true });
});

test('Txn: compares, branches, nested txns, read-only txns, errors', { timeout: 120_000 }, async () => {
  await p.both('Put', { key: b('t/a'), value: b('1') });
  await p.both('Put', { key: b('t/b'), value: b('2') });
  await p.both('Put', { key: b('t/a'), value: b('3') });
  const targets: [number, string, unknown][] = [
    [CT.VERSION, 'version', 2], [CT.CREATE, 'create_revision', 0], [CT.MOD, 'mod_revision', 5],
    [CT.VALUE, 'value', b('3')], [CT.LEASE, 'lease', 0],
  ];
  // every target x result on one key, a missing key and a range
  for (const [target, field, value] of targets) {
    for (const result of Object.values(CMP)) {
      for (const extra of [{}, { range_end: b('t0') }]) {
        for (const key of ['t/a', 't/none']) {
          await p.both('Txn', { compare: [cmp(key, target, result, field, value, extra)], success: [get('t/a')], failure: [get('t/b')] });
        }
      }
    }
  }
  // a compare whose union field does not match its target compares against 0
  await p.both('Txn', { compare: [cmp('t/a', CT.MOD, CMP.GREATER, 'version', 100)], success: [], failure: [] });
  await p.both('Txn', { compare: [{ key: b('t/a'), target: CT.VALUE, result: CMP.GREATER }], success: [], failure: [] });
  // writes in both branches, prev_kv, deletes, reads that see the txn's own writes
  await p.both('Txn', {
    compare: [cmp('t/a', CT.VALUE, CMP.EQUAL, 'value', b('3'))],
    success: [put('t/c', 'c', { prev_kv: true }), put('t/a', '4', { prev_kv: true }), get('t/', { range_end: b('t0') }), del('t/b', { prev_kv: true }), get('t/b')],
    failure: [get('t/a')],
  });
  await p.both('Txn', { compare: [cmp('t/a', CT.VALUE, CMP.EQUAL, 'value', b('3'))], success: [put('t/x', 'x')], failure: [put('t/y', 'y'), get('t/y')] });
  // nothing changes: no new revision; a delete of nothing
  await p.both('Txn', { compare: [], success: [del('t/none')], failure: [] });
  await p.both('Txn', { compare: [], success: [], failure: [] });
  await p.both('Txn', {});
  // nested txns: compares evaluated before the outer txn writes
  await p.both('Txn', {
    compare: [cmp('t/a', CT.VERSION, CMP.GREATER, 'version', 0)],
    success: [
      put('t/n1', '1'),
      { request_txn: { compare: [cmp('t/n1', CT.VERSION, CMP.EQUAL, 'version', 0)], success: [put('t/n2', 'then'), get('t/n1')], failure: [put('t/n3', 'else')] } },
      { request_txn: { compare: [cmp('t/a', CT.VALUE, CMP.EQUAL, 'value', b('nope'))], success: [put('t/n4', 'then')], failure: [put('t/n4', 'else', { prev_kv: true }), del('t/x')] } },
      get('t/', { range_end: b('t0'), sort_order: SORT.DESCEND, sort_target: TARGET.MOD }),
    ],
    failure: [],
  });
  // read-only txns (linearizable and serializable), with revisions
  await p.both('Txn', { compare: [], success: [get('t/a', { revision: 2 }), get('t/', { range_end: b('t0'), count_only: true })], failure: [] });
  await p.both('Txn', { compare: [], success: [get('t/a', { serializable: true })], failure: [get('t/b', { serializable: true })] });
  await p.both('Txn', { compare: [], success: [{ request_txn: { success: [get('t/a')] } }], failure: [] });
  // errors: future revision in a range op (nothing written), missing keys, empty ops, ignore_* on a missing key
  await p.both('Txn', { compare: [], success: [put('t/err1', 'x'), get('t/a', { revision: 100000 })], failure: [] });
  await p.both('Txn', { compare: [], success: [get('t/a', { revision: 100000 })], failure: [] });
  await p.both('Range', { key: b('t/err1') });
  await p.both('Txn', { compare: [], success: [put('t/err2', 'x'), put('t/none', '', { ignore_value: true })], failure: [] });
  await p.both('Txn', { compare: [], success: [put('t/a', '', { ignore_value: true, prev_kv: true })], failure: [] });
  await p.both('Txn', { compare: [], success: [put('t/err3', 'x', { lease: 99 })], failure: [] });
  await p.both('Txn', { compare: [], success: [{}], failure: [] });
  await p.both('Txn', { compare: [{ key: b('') }], success: [], failure: [] });
  await p.both('Txn', { compare: [], success: [], failure: [put('', 'x')] });
  await p.both('Txn', { compare: [], success: [put('t/a', 'v', { ignore_value: true })], failure: [] });
  await p.both('Txn', { compare: [], success: [del('')], failure: [] });
  await p.both('Range', { key: b('t/'), range_end: b('t0') });
});

test('Txn: 128-op limit and the duplicate-key rule', { timeout: 120_000 }, async () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => put(`l/${i}`, String(i)));
  await p.both('Txn', { compare: [], success: many(128), failure: [] });
  await p.both('Txn', { compare: [], success: many(129), failure: [] });
  await p.both('Txn', { compare: [], success: [], failure: many(129) });
  await p.both('Txn', { compare: Array.from({ length: 129 }, () => cmp('l/0', CT.VERSION, CMP.GREATER, 'version', 0)), success: [], failure: [] });
  // nested: the inner limit is what the outer level leaves
  await p.both('Txn', { compare: [], success: [{ request_txn: { success: many(127) } }], failure: [] });
  await p.both('Txn', { compare: [], success: [...many(64), { request_txn: { success: many(65).map((o, i) => put(`l/n${i}`, 'x')) } }], failure: [] });
  await p.both('Txn', { compare: [], success: [...many(64), { request_txn: { success: many(64).map((o, i) => put(`l/n${i}`, 'x')) } }], failure: [] });
  const dups: unknown[][] = [
    [put('d/a', '1'), put('d/a', '2')],
    [put('d/a', '1'), del('d/a')],
    [del('d/', { range_end: b('d0') }), put('d/b', '1')],
    [del('d/a'), del('d/a')],
    [del('d/', { range_end: b('\0') }), put('d/b', '1')],
    [put('d/a', '1'), get('d/a'), { request_txn: { success: [put('d/b', '1')], failure: [put('d/b', '2')] } }],
    [put('d/a', '1'), { request_txn: { success: [put('d/a', '1')] } }],
    [{ request_txn: { success: [put('d/c', '1')] } }, { request_txn: { failure: [put('d/c', '1')] } }],
    [del('d/c'), { request_txn: { failure: [put('d/c', '1')] } }],
    [put('d/c', 'x'), { request_txn: { success: [del('d/c')] } }],
  ];
  for (const success of dups) {
    await p.both('Txn', { compare: [], success, failure: [] });
    await p.both('Txn', { compare: [], success: [], failure: success });
  }
});

test('Compact: errors, physical, reads of compacted revisions, txn range revisions', { timeout: 120_000 }, async () => {
  await p.both('Put', { key: b('c/a'), value: b('1') });
  await p.both('Put', { key: b('c/a'), value: b('2') });
  const rev = Number(((await p.both('Range', { key: b('c/a') })) as { header: { revision: string } }).header.revision);
  await p.both('Compact', { revision: rev + 100 });
  await p.both('Compact', { revision: rev - 5 });
  await p.both('Compact', { revision: rev - 5 });
  await p.both('Compact', { revision: rev - 6 });
  await p.both('Range', { key: b('c/a'), revision: rev - 6 });
  await p.both('Range', { key: b('c/a'), revision: rev - 5 });
  await p.both('Range', { key: b('c/a'), revision: rev - 1 });
  await p.both('Txn', { compare: [], success: [get('c/a', { revision: rev - 6 })], failure: [] });
  await p.both('Txn', { compare: [], success: [put('c/b', 'x'), get('c/a', { revision: rev - 6 })], failure: [] });
  await p.both('Txn', { compare: [], success: [put('c/b', 'x'), get('c/a', { revision: rev - 5 })], failure: [] });
  await p.both('Compact', { revision: rev, physical: true });
  await p.both('Range', { key: b('c/a'), revision: rev });
  await p.both('Range', { key: b('c/a'), revision: rev - 1 });
  await p.both('Compact', { revision: 0 });
  await p.both('Compact', { revision: -1 });
});

test('max-request-bytes: "etcdserver: request is too large"', { timeout: 120_000 }, async () => {
  const big = Buffer.alloc(1.6 * 1024 * 1024, 'a');
  const ok = Buffer.alloc(1024 * 1024, 'b');
  await p.both('Put', { key: b('big'), value: big });
  await p.both('Put', { key: b('big'), value: ok });
  await p.both('Txn', { compare: [], success: [put('big2', '')].map(() => ({ request_put: { key: b('big2'), value: big } })), failure: [] });
  await p.both('DeleteRange', { key: b('big') });
});

test('kube-apiserver request shapes', { timeout: 120_000 }, async () => {
  const reg = '/registry/pods/default/';
  // optimistic create: txn(mod_revision(key) == 0) then put, else get
  const create = (name: string, v: string) => ({
    compare: [cmp(reg + name, CT.MOD, CMP.EQUAL, 'mod_revision', 0)],
    success: [put(reg + name, v)],
    failure: [get(reg + name)],
  });
  for (const n of ['a', 'b', 'c', 'd', 'e']) await p.both('Txn', create(n, `pod-${n}`));
  await p.both('Txn', create('a', 'again'));
  // Get, List with limit + continue key, Count
  await p.both('Range', { key: b(reg + 'a') });
  let key = reg;
  const end = '/registry/pods/default0';
  for (let i = 0; i < 4; i++) {
    const r = (await p.both('Range', { key: b(key), range_end: b(end), limit: 2 })) as { kvs: { key: string }[]; more: boolean };
    if (!r.more) break;
    key = r.kvs[r.kvs.length - 1]!.key + '\0';
  }
  const snap = (await p.both('Range', { key: b(reg), range_end: b(end), limit: 2 })) as { header: { revision: string } };
  await p.both('Put', { key: b(reg + 'f'), value: b('pod-f') });
  await p.both('Range', { key: b(reg + 'b\0'), range_end: b(end), limit: 2, revision: Number(snap.header.revision) });
  await p.both('Range', { key: b('/registry/pods/'), range_end: b('/registry/pods0'), count_only: true });
  // update: txn(mod_revision == X) put else get; a stale X fails and returns the current object
  const cur = (await p.both('Range', { key: b(reg + 'a') })) as { kvs: { mod_revision: string }[] };
  const mod = Number(cur.kvs[0]!.mod_revision);
  const update = (m: number, v: string) => ({
    compare: [cmp(reg + 'a', CT.MOD, CMP.EQUAL, 'mod_revision', m)],
    success: [put(reg + 'a', v, { prev_kv: true })],
    failure: [get(reg + 'a')],
  });
  await p.both('Txn', update(mod, 'updated'));
  await p.both('Txn', update(mod, 'stale'));
  // delete: txn(mod_revision == X) delete(prev_kv) else get
  const cur2 = (await p.both('Range', { key: b(reg + 'b') })) as { kvs: { mod_revision: string }[] };
  const delTxn = (m: number) => ({
    compare: [cmp(reg + 'b', CT.MOD, CMP.EQUAL, 'mod_revision', m)],
    success: [del(reg + 'b', { prev_kv: true })],
    failure: [get(reg + 'b')],
  });
  await p.both('Txn', delTxn(Number(cur2.kvs[0]!.mod_revision)));
  await p.both('Txn', delTxn(Number(cur2.kvs[0]!.mod_revision)));
  // compaction: txn(version(compact_rev_key) == t) put(compact_rev_key, rev) else get; then Compact(rev)
  let t = 0;
  for (let i = 0; i < 3; i++) {
    const head = (await p.both('Range', { key: b('compact_rev_key') })) as { header: { revision: string } };
    const r = Number(head.header.revision);
    const res = (await p.both('Txn', {
      compare: [cmp('compact_rev_key', CT.VERSION, CMP.EQUAL, 'version', t)],
      success: [put('compact_rev_key', String(r))],
      failure: [get('compact_rev_key')],
    })) as { succeeded: boolean; responses: { response_range?: { kvs: { version: string }[] } }[] };
    if (res.succeeded) {
      t += 1;
      await p.both('Compact', { revision: r });
    } else {
      t = Number(res.responses[0]!.response_range!.kvs[0]!.version);
    }
    if (i === 0) t = 0; // a second apiserver with a stale view: its compare fails, it learns the version
  }
});

test('seeded random sequence of puts, deletes, txns and ranges (seed 20261121, 300 ops)', { timeout: 300_000 }, async () => {
  const r = rng(20261121);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const keys = Array.from({ length: 10 }, (_, i) => `z/${String.fromCharCode(97 + i)}`);
  const head = (await p.both('Range', { key: b('z/') })) as { header: { revision: string } };
  const base = Number(head.header.revision);
  let rev = base;
  const randRange = () => {
    const k = pick(keys);
    const req: Record<string, unknown> = { key: b(k) };
    const shape = r();
    if (shape < 0.4) req.range_end = b(pick([...keys, 'z0', '\0']));
    else if (shape < 0.5) req.range_end = b('z0');
    if (r() < 0.3) req.limit = Math.floor(r() * 4);
    if (r() < 0.3) req.sort_order = Math.floor(r() * 3);
    if (r() < 0.3) req.sort_target = Math.floor(r() * 5);
    if (r() < 0.15) req.revision = Math.max(1, rev - Math.floor(r() * 20));
    if (r() < 0.1) req.keys_only = true;
    if (r() < 0.1) req.count_only = true;
    if (r() < 0.1) req.min_mod_revision = rev - Math.floor(r() * 30);
    if (r() < 0.1) req.max_create_revision = rev - Math.floor(r() * 30);
    return req;
  };
  const randPut = () => ({ key: b(pick(keys)), value: b(String(Math.floor(r() * 5))), prev_kv: r() < 0.5, ...(r() < 0.05 ? { ignore_value: true, value: b('') } : {}) });
  const randDel = () => (r() < 0.6 ? { key: b(pick(keys)), prev_kv: r() < 0.5 } : { key: b(pick(keys)), range_end: b(pick([...keys, 'z0'])), prev_kv: r() < 0.5 });
  const randCmp = () => {
    const target = Math.floor(r() * 5);
    const field = ['version', 'create_revision', 'mod_revision', 'value', 'lease'][target]!;
    const value = target === 3 ? b(String(Math.floor(r() * 5))) : target === 4 ? 0 : Math.floor(r() * (target === 0 ? 4 : rev + 2));
    return cmp(pick(keys), target, Math.floor(r() * 4), field, value, r() < 0.2 ? { range_end: b(pick([...keys, 'z0'])) } : {});
  };
  const randOps = (depth: number): unknown[] =>
    Array.from({ length: Math.floor(r() * 4) }, () => {
      const x = r();
      if (x < 0.35) return { request_put: randPut() };
      if (x < 0.55) return { request_delete_range: randDel() };
      if (x < 0.9 || depth > 0) return { request_range: randRange() };
      return { request_txn: { compare: [randCmp()], success: randOps(depth + 1), failure: randOps(depth + 1) } };
    });
  let txnOk = 0;
  for (let i = 0; i < 300; i++) {
    const x = r();
    let res: Record<string, any>;
    if (x < 0.35) res = await p.both('Put', randPut(), `op ${i}`);
    else if (x < 0.5) res = await p.both('DeleteRange', randDel(), `op ${i}`);
    else if (x < 0.75) res = await p.both('Range', randRange(), `op ${i}`);
    else {
      res = await p.both('Txn', { compare: Array.from({ length: Math.floor(r() * 3) }, randCmp), success: randOps(0), failure: randOps(0) }, `op ${i}`);
      if (!res.error) txnOk++;
    }
    if (res.header) rev = Number(res.header.revision);
  }
  assert.ok(rev > base + 50, `the sequence made revisions (${base} -> ${rev})`);
  assert.ok(txnOk > 20, `some txns succeeded (${txnOk})`);
});

test('--max-txn-ops: a lowered limit applies to compares, branches and nested txns', { timeout: 120_000 }, async () => {
  const q = await startPair(21105, { etcdArgs: ['--max-txn-ops', '4'], quorumdArgs: ['--max-txn-ops', '4'] });
  try {
    const many = (n: number) => Array.from({ length: n }, (_, i) => put(`m/${i}`, String(i)));
    await q.both('Txn', { success: many(4) });
    await q.both('Txn', { success: many(5) });
    await q.both('Txn', { compare: Array.from({ length: 5 }, () => cmp('m/0', CT.VERSION, CMP.EQUAL, 'version', 0)) });
    await q.both('Txn', { success: [...many(2), { request_txn: { success: [put('m/x', '1'), put('m/y', '1')] } }] });
    await q.both('Txn', { success: [...many(2), { request_txn: { success: [put('m/x', '1'), put('m/y', '1'), put('m/z', '1')] } }] });
  } finally {
    await q.close();
  }
});
