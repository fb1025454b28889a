/**
 * Watch guarantees checked against the committed history (etcd docs "API guarantees" / watch):
 * ordered (revisions never go back), unique (no event twice), atomic (all events of a revision in one
 * response), reliable (no gap: every committed event in range from the start revision on is delivered, in
 * order, up to the last revision the watcher saw, or up to the final revision when `complete`), and
 * correct content (kv and prev_kv equal to the committed ones).
 */
import type { Committed } from './committed.js';
import { inRange } from './model.js';
import type { Violation } from './stale.js';
import type { KvSnap, WatchEvent, WatchRecord } from './types.js';

const kvStr = (k: KvSnap | undefined) => (k ? `${k.key}=${k.value}@${k.mod}/${k.create}/${k.ver}/${k.lease}` : '-');
const evStr = (e: WatchEvent, withPrev: boolean) => (e.type === 'del' ? `DEL ${e.kv.key}@${e.kv.mod}` : `PUT ${kvStr(e.kv)}`) + (withPrev ? ` prev ${kvStr(e.prev)}` : '');

/**
 * Check one watcher. `complete` = the watcher was still alive after the cluster settled at committed.finalRev,
 * so it must have received everything up to it.
 */
export function checkWatch(w: WatchRecord, committed: Committed, complete: boolean): Violation[] {
  const out: Violation[] = [];
  const v = (kind: string, detail: string) => out.push({ kind, watch: w.id, detail });
  const first = w.startRev > 0 ? w.startRev : w.createdRev + 1;
  // ordered, unique, atomic
  let lastRev = 0;
  const batchOf = new Map<number, number>();
  w.batches.forEach((b, i) => {
    const keys = new Set<string>();
    for (const e of b.events) {
      const r = e.kv.mod;
      if (r < lastRev) v('watch-unordered', `revision ${r} after ${lastRev} (response ${i})`);
      lastRev = Math.max(lastRev, r);
      const at = batchOf.get(r);
      if (at !== undefined && at !== i) v('watch-duplicate-or-split', `revision ${r} in responses ${at} and ${i}`);
      batchOf.set(r, i);
      const k = `${r}/${e.kv.key}`;
      if (keys.has(k)) v('watch-duplicate', `event ${k} twice in response ${i}`);
      keys.add(k);
    }
  });
  // content and no gap, revision by revision
  const got = new Map<number, WatchEvent[]>();
  for (const b of w.batches) for (const e of b.events) got.set(e.kv.mod, [...(got.get(e.kv.mod) ?? []), e]);
  const upTo = complete ? Math.max(committed.finalRev, lastRev) : lastRev;
  for (let r = first; r <= upTo; r++) {
    const info = committed.byRev.get(r);
    const want = (info?.events ?? []).filter((e) => inRange(e.kv.key, w.key, w.end));
    const have = got.get(r) ?? [];
    if (!info && r > committed.finalRev) {
      if (have.length > 0) v('watch-unknown-revision', `events at revision ${r} beyond the committed history (final ${committed.finalRev})`);
      continue;
    }
    const a = have.map((e) => evStr(e, w.prevKv)).sort().join(' | ');
    const b = want.map((e) => evStr(e, w.prevKv)).sort().join(' | ');
    if (a !== b) {
      const kind = have.length === 0 ? 'watch-gap' : want.length === 0 ? 'watch-phantom' : 'watch-wrong-event';
      v(kind, `revision ${r}: expected [${b}] got [${a}]`);
    }
  }
  for (const r of got.keys()) if (r < first) v('watch-before-start', `event at revision ${r} < start ${first}`);
  return out;
}
