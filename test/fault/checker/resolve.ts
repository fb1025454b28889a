/**
 * Narrow unknown outcomes before the search (as etcd's robustness tests do), because every unknown write
 * multiplies the states the search must consider. Every put carries a unique value, so:
 * - an unknown put (or CAS txn whose then-branch is one put) whose value was observed at mod revision r by
 *   any read or watch event took effect at revision r: its response becomes known (rev r) and its return
 *   time is bounded by the earliest return of an op that observed it; likewise an unknown txn whose
 *   branches hold only puts (each value unique, the branches' values distinct): the branch one of whose
 *   values was observed at r took effect at r;
 * - when `dropUnobserved` (a watcher over every key saw every revision from 1 to the end, and its own
 *   checks passed), an unknown put/CAS whose value nobody observed never took effect, and is dropped.
 * Both are sound given unique values; the second relies on the full watcher (checked separately).
 */
import type { History, Operation } from './types.js';

/** A copy of `ops` with unknown puts resolved where observations allow. */
export function resolveUnknown(h: History, dropUnobserved: boolean): Operation[] {
  const seen = new Map<string, { mod: number; at: number }>(); // value -> first observation
  const note = (value: string, mod: number, at: number) => {
    const s = seen.get(value);
    if (!s || at < s.at) seen.set(value, { mod, at });
  };
  for (const o of h.ops) {
    if (!o.resp || o.ret === undefined) continue;
    if (o.resp.t === 'range') for (const k of o.resp.kvs) note(k.value, k.mod, o.ret);
    if (o.resp.t === 'txn') for (const r of o.resp.results) if (r.t === 'range') for (const k of r.kvs) note(k.value, k.mod, o.ret);
  }
  for (const w of h.watches) for (const b of w.batches) for (const e of b.events) {
    if (e.type === 'put') note(e.kv.value, e.kv.mod, b.at);
    if (e.prev) note(e.prev.value, e.prev.mod, b.at);
  }
  const out: Operation[] = [];
  for (const o of h.ops) {
    if (o.resp !== undefined) {
      out.push(o);
      continue;
    }
    if (o.req.t === 'txn' && o.req.then.length > 0 && [...o.req.then, ...o.req.else].every((x) => x.t === 'put')) {
      // a txn whose branches only put (e.g. a multi-key burst): the branch whose value was seen took effect
      const hit = (b: typeof o.req.then) => b.map((x) => (x.t === 'put' ? seen.get(x.value) : undefined)).find((x) => x !== undefined);
      const sThen = hit(o.req.then);
      const sElse = sThen ? undefined : hit(o.req.else);
      const s = sThen ?? sElse;
      if (s) {
        const branch = sThen ? o.req.then : o.req.else;
        const resp = { t: 'txn' as const, rev: s.mod, succeeded: !!sThen, results: branch.map(() => ({ t: 'put' as const })) };
        out.push({ ...o, ret: Math.max(s.at, o.call), resp, note: `${o.note ?? ''} (resolved: ${sThen ? 'then' : 'else'} branch observed at revision ${s.mod})` });
      } else if (!dropUnobserved) out.push(o);
      continue;
    }
    const single = o.req.t === 'put' ? o.req : o.req.t === 'txn' && o.req.then.length === 1 && o.req.then[0].t === 'put' ? o.req.then[0] : undefined;
    if (!single || single.t !== 'put') {
      out.push(o);
      continue;
    }
    const s = seen.get(single.value);
    if (s) {
      const resp = o.req.t === 'put' ? { t: 'put' as const, rev: s.mod } : { t: 'txn' as const, rev: s.mod, succeeded: true, results: [{ t: 'put' as const }] };
      out.push({ ...o, ret: Math.max(s.at, o.call), resp, note: `${o.note ?? ''} (resolved: observed at revision ${s.mod})` });
    } else if (!dropUnobserved) out.push(o);
  }
  return out;
}
