/**
 * A whole-store sequential model of the etcd v3 KV + Lease API, for the linearizability checker.
 * One global revision couples every key (etcd's MVCC: a fresh store is at revision 1; every Put, every
 * DeleteRange that deletes something, every Txn with a write and every LeaseRevoke that deletes keys makes
 * exactly one new revision; reads do not). States are immutable; `stateKey` is a canonical string for
 * memoization. Source: etcd docs "API guarantees" and "Interacting with etcd / KV API" (revision rules).
 */
import type { Cmp, KvSnap, Request, Response, TxnOp, TxnOpResult, WatchEvent } from './types.js';

/** The model's state: revision, live keys, live leases. */
export interface ModelState { rev: number; kvs: ReadonlyMap<string, KvSnap>; leases: ReadonlySet<string> }

/** A fresh store (etcd: revision 1, no keys, no leases). */
export function initialState(): ModelState {
  return { rev: 1, kvs: new Map(), leases: new Set() };
}

/** Canonical string of a state (equal states give equal strings). */
export function stateKey(s: ModelState): string {
  const keys = [...s.kvs.keys()].sort();
  let out = `${s.rev}|`;
  for (const k of keys) {
    const v = s.kvs.get(k)!;
    out += `${k}=${v.value}@${v.mod},${v.create},${v.ver},${v.lease};`;
  }
  return out + '|' + [...s.leases].sort().join(',');
}

/** True when key is in etcd's range [key, end): end undefined/'' = exactly key, "\0" = every key >= key. */
export function inRange(k: string, key: string, end?: string): boolean {
  if (end === undefined || end === '') return k === key;
  if (end === '\0') return k >= key;
  return k >= key && k < end;
}

function rangeKvs(kvs: ReadonlyMap<string, KvSnap>, key: string, end?: string): KvSnap[] {
  if (end === undefined || end === '') {
    const v = kvs.get(key);
    return v ? [v] : [];
  }
  return [...kvs.values()].filter((v) => inRange(v.key, key, end)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function compare(kvs: ReadonlyMap<string, KvSnap>, c: Cmp): boolean {
  const v = kvs.get(c.key);
  let lhs: number | string;
  if (c.target === 'value') {
    if (!v) return false; // etcd: a value compare against a missing key is false
    lhs = v.value;
  } else if (c.target === 'mod') lhs = v ? v.mod : 0;
  else if (c.target === 'create') lhs = v ? v.create : 0;
  else lhs = v ? v.ver : 0;
  switch (c.op) {
    case '=': return lhs === c.arg;
    case '!=': return lhs !== c.arg;
    case '<': return lhs < c.arg;
    case '>': return lhs > c.arg;
  }
}

/** The outcome of applying one request to a state. */
export interface Applied { state: ModelState; resp: Response; events: WatchEvent[] }

/** Apply a list of writes/reads at one new revision (a Put, a DeleteRange, a Txn branch, a revoke). */
function applyOps(s: ModelState, ops: TxnOp[]): { kvs: Map<string, KvSnap>; results: TxnOpResult[]; events: WatchEvent[]; wrote: boolean } | undefined {
  const kvs = new Map(s.kvs);
  const rev = s.rev + 1;
  const results: TxnOpResult[] = [];
  const events: WatchEvent[] = [];
  let wrote = false;
  for (const op of ops) {
    if (op.t === 'range') {
      results.push({ t: 'range', kvs: rangeKvs(kvs, op.key, op.end) });
    } else if (op.t === 'put') {
      const lease = op.lease ?? '0';
      if (lease !== '0' && !s.leases.has(lease)) return undefined; // "etcdserver: requested lease not found"
      const prev = kvs.get(op.key);
      // etcd: several writes to one key in one txn share the revision; version counts each write.
      const kv: KvSnap = { key: op.key, value: op.value, mod: rev, create: prev ? prev.create : rev, ver: prev ? prev.ver + 1 : 1, lease };
      kvs.set(op.key, kv);
      events.push(prev ? { type: 'put', kv, prev } : { type: 'put', kv });
      results.push({ t: 'put' });
      wrote = true;
    } else {
      const gone = rangeKvs(kvs, op.key, op.end);
      for (const g of gone) {
        kvs.delete(g.key);
        events.push({ type: 'del', kv: { key: g.key, value: '', mod: rev, create: 0, ver: 0, lease: '0' }, prev: g });
      }
      if (gone.length > 0) wrote = true;
      results.push({ t: 'del', deleted: gone.length });
    }
  }
  return { kvs, results, events, wrote };
}

/**
 * Apply a request to a state: the new state, the response a correct server gives, and the watch events
 * (in order) of the new revision. A request the server must refuse without effect (put with a lease that
 * does not exist, revoke of an unknown lease) yields the unchanged state and a "fail" response.
 * Serializable ranges are applied like linearizable ones (the caller excludes them from the search).
 */
export function apply(s: ModelState, req: Request): Applied {
  switch (req.t) {
    case 'range':
      return { state: s, resp: { t: 'range', rev: s.rev, kvs: rangeKvs(s.kvs, req.key, req.end) }, events: [] };
    case 'put': {
      const r = applyOps(s, [req]);
      if (!r) return { state: s, resp: { t: 'fail', msg: 'lease not found' }, events: [] };
      return { state: { rev: s.rev + 1, kvs: r.kvs, leases: s.leases }, resp: { t: 'put', rev: s.rev + 1 }, events: r.events };
    }
    case 'del': {
      const r = applyOps(s, [req])!;
      const rev = r.wrote ? s.rev + 1 : s.rev;
      const deleted = (r.results[0] as { deleted: number }).deleted;
      return { state: r.wrote ? { rev, kvs: r.kvs, leases: s.leases } : s, resp: { t: 'del', rev, deleted }, events: r.events };
    }
    case 'txn': {
      const ok = req.cmp.every((c) => compare(s.kvs, c));
      const r = applyOps(s, ok ? req.then : req.else);
      if (!r) return { state: s, resp: { t: 'fail', msg: 'lease not found' }, events: [] };
      const rev = r.wrote ? s.rev + 1 : s.rev;
      return { state: r.wrote ? { rev, kvs: r.kvs, leases: s.leases } : s, resp: { t: 'txn', rev, succeeded: ok, results: r.results }, events: r.events };
    }
    case 'grant': {
      if (s.leases.has(req.id)) return { state: s, resp: { t: 'fail', msg: 'lease already exists' }, events: [] };
      const leases = new Set(s.leases);
      leases.add(req.id);
      return { state: { rev: s.rev, kvs: s.kvs, leases }, resp: { t: 'grant' }, events: [] };
    }
    case 'revoke': {
      if (!s.leases.has(req.id)) return { state: s, resp: { t: 'fail', msg: 'lease not found' }, events: [] };
      const leases = new Set(s.leases);
      leases.delete(req.id);
      const kvs = new Map(s.kvs);
      const events: WatchEvent[] = [];
      const attached = [...s.kvs.values()].filter((v) => v.lease === req.id).sort((a, b) => (a.key < b.key ? -1 : 1));
      const rev = attached.length > 0 ? s.rev + 1 : s.rev;
      for (const g of attached) {
        kvs.delete(g.key);
        events.push({ type: 'del', kv: { key: g.key, value: '', mod: rev, create: 0, ver: 0, lease: '0' }, prev: g });
      }
      return { state: { rev, kvs, leases }, resp: { t: 'revoke', rev }, events };
    }
  }
}

function sameKvs(a: KvSnap[], b: KvSnap[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.key !== y.key || x.value !== y.value || x.mod !== y.mod || x.create !== y.create || x.ver !== y.ver || x.lease !== y.lease) return false;
  }
  return true;
}

/** True when an observed response equals the model's (every checked field). */
export function sameResponse(observed: Response, model: Response): boolean {
  if (observed.t !== model.t) return false;
  switch (observed.t) {
    case 'put': return observed.rev === (model as typeof observed).rev;
    case 'del': {
      const m = model as typeof observed;
      return observed.rev === m.rev && observed.deleted === m.deleted;
    }
    case 'range': {
      const m = model as typeof observed;
      return observed.rev === m.rev && sameKvs(observed.kvs, m.kvs);
    }
    case 'txn': {
      const m = model as typeof observed;
      if (observed.rev !== m.rev || observed.succeeded !== m.succeeded || observed.results.length !== m.results.length) return false;
      return observed.results.every((r, i) => {
        const q = m.results[i];
        if (r.t !== q.t) return false;
        if (r.t === 'range') return sameKvs(r.kvs, (q as typeof r).kvs);
        if (r.t === 'del') return r.deleted === (q as typeof r).deleted;
        return true;
      });
    }
    case 'grant': return true;
    case 'revoke': return observed.rev === (model as typeof observed).rev;
    case 'fail': return true;
  }
}

/**
 * One step of the model for the search: the next state when `resp` is a possible answer to `req` in state
 * `s`, otherwise undefined. resp undefined (unknown outcome) matches whatever the model answers.
 */
export function step(s: ModelState, req: Request, resp: Response | undefined): ModelState | undefined {
  const a = apply(s, req);
  if (resp === undefined) return a.state;
  return sameResponse(resp, a.resp) ? a.state : undefined;
}
