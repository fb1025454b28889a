/**
 * Checks of serializable (stale) reads, which etcd does not make linearizable: each must return the exact
 * store state of some committed revision R (no invented state), R must have been created by a write called
 * before the read returned (not from the future), and one client's reads through one member incarnation
 * must not go back in revision. Source: etcd docs "API guarantees" (serializable reads may be stale).
 */
import type { Committed } from './committed.js';
import { inRange } from './model.js';
import type { KvSnap, Operation } from './types.js';

/** A violation found by a checker: which op, and why. */
export interface Violation { kind: string; op?: number; watch?: number; detail: string }

const kvStr = (k: KvSnap) => `${k.key}=${k.value}@${k.mod}/${k.create}/${k.ver}/${k.lease}`;

/** Check every answered serializable range of `ops` against the committed history. */
export function checkStaleReads(ops: Operation[], committed: Committed): Violation[] {
  const out: Violation[] = [];
  const lastBySession = new Map<string, number>();
  const reads = ops.filter((o) => o.req.t === 'range' && o.req.serializable && o.resp?.t === 'range').sort((a, b) => a.call - b.call);
  for (const o of reads) {
    const req = o.req as { key: string; end?: string };
    const resp = o.resp as { rev: number; kvs: KvSnap[] };
    const info = committed.byRev.get(resp.rev);
    if (!info) {
      out.push({ kind: 'stale-read-unknown-revision', op: o.id, detail: `serializable read returned revision ${resp.rev}, not in the committed history (final ${committed.finalRev})` });
      continue;
    }
    if (info.writer && info.writer.call > o.ret!) {
      out.push({ kind: 'stale-read-from-future', op: o.id, detail: `revision ${resp.rev} was written by op ${info.writer.id} called after this read returned` });
    }
    const expect = [...info.state.kvs.values()].filter((v) => inRange(v.key, req.key, req.end)).sort((a, b) => (a.key < b.key ? -1 : 1));
    const got = resp.kvs.map(kvStr).join(' ');
    const want = expect.map(kvStr).join(' ');
    if (got !== want) out.push({ kind: 'stale-read-wrong-state', op: o.id, detail: `at revision ${resp.rev} expected [${want}] got [${got}]` });
    const session = `${o.client}/${o.member}/${o.incarnation ?? 0}`;
    const prev = lastBySession.get(session) ?? 0;
    if (resp.rev < prev) out.push({ kind: 'stale-read-not-monotonic', op: o.id, detail: `revision ${resp.rev} after ${prev} on session ${session}` });
    lastBySession.set(session, Math.max(prev, resp.rev));
  }
  return out;
}

/**
 * No acknowledged write lost: every answered write's revision is at most the final revision, and every key
 * whose last acknowledged put is at revision r is, in the final dump, either at a mod revision >= r or
 * deleted by a later committed revision. `finalKvs` is a linearizable read of every key at `finalRev`.
 */
export function checkAckedWrites(ops: Operation[], finalKvs: KvSnap[], finalRev: number, committed: Committed): Violation[] {
  const out: Violation[] = [];
  const final = new Map(finalKvs.map((k) => [k.key, k]));
  for (const o of ops) {
    if (o.resp === undefined) continue;
    if (o.resp.t === 'put' || (o.resp.t === 'txn' && o.resp.succeeded && o.req.t === 'txn' && o.req.then.some((t) => t.t === 'put'))) {
      const rev = o.resp.rev;
      if (rev > finalRev) out.push({ kind: 'lost-write', op: o.id, detail: `acknowledged at revision ${rev} but the final revision is ${finalRev}` });
      const key = o.req.t === 'put' ? o.req.key : (o.req as { then: { t: string; key: string }[] }).then.find((t) => t.t === 'put')!.key;
      const kv = final.get(key);
      if (kv && kv.mod >= rev) continue;
      // Deleted or overwritten later: some committed revision after `rev` must touch the key.
      let touched = false;
      for (let r = rev + 1; r <= committed.finalRev && !touched; r++) touched = (committed.byRev.get(r)?.events ?? []).some((e) => e.kv.key === key);
      if (!touched) out.push({ kind: 'lost-write', op: o.id, detail: `put of ${key} acknowledged at revision ${rev}; final ${kv ? kvStr(kv) : 'absent'} and nothing later touched it` });
    }
  }
  return out;
}
