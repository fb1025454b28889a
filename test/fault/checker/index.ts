/**
 * The whole check of a recorded run: linearizability of every non-serializable op (including the final
 * read-back), serializable reads, acknowledged writes, watch guarantees. Returns violations (empty = pass).
 */
import { committedHistory, type Committed } from './committed.js';
import { checkLinearizable, type LinearizabilityResult } from './linearizability.js';
import { checkAckedWrites, checkStaleReads, type Violation } from './stale.js';
import { resolveUnknown } from './resolve.js';
import type { History, KvSnap } from './types.js';
import { checkWatch } from './watch.js';

export type { Violation } from './stale.js';
export * from './types.js';

/** Everything a check found. */
export interface CheckReport { violations: Violation[]; lin: LinearizabilityResult; committed?: Committed }

/**
 * Check a history. `final` = the read-back after healing (a linearizable range of every key and its
 * revision; it must also be in history.ops so the search places it); `liveWatches` = ids of watchers that
 * were still streaming after the cluster settled (they must have everything up to the final revision).
 */
export function checkHistory(h: History, final?: { kvs: KvSnap[]; rev: number }, liveWatches: Set<number> = new Set(), opts: { maxSteps?: number; fullWatch?: number } = {}): CheckReport {
  // A watcher over every key from revision 1 that stayed alive, and whose own check passes, lets the
  // search drop unknown writes nobody observed (resolve.ts).
  let drop = false;
  if (opts.fullWatch !== undefined && liveWatches.has(opts.fullWatch)) drop = true;
  const ops = resolveUnknown(h, drop);
  const lin = checkLinearizable(ops, { maxSteps: opts.maxSteps });
  if (!lin.ok) {
    const detail = lin.exhausted
      ? `search budget exhausted after ${lin.steps} steps (inconclusive)`
      : `no linearization; longest prefix ${lin.longestPrefix?.length} ops, then none of ops [${lin.stuckAt?.join(',')}] fits`;
    return { violations: [{ kind: lin.exhausted ? 'linearizability-inconclusive' : 'not-linearizable', detail }], lin };
  }
  // Unknown-outcome ops the search placed after the last known op are optional ("never happened" is as
  // valid): drop them so the committed history ends at the last observed revision.
  const known = new Set(ops.filter((o) => o.resp !== undefined).map((o) => o.id));
  const order = [...lin.order!];
  while (order.length > 0 && !known.has(order[order.length - 1])) order.pop();
  const committed = committedHistory(ops, order);
  const violations: Violation[] = [...checkStaleReads(ops, committed)];
  if (final) violations.push(...checkAckedWrites(ops, final.kvs, final.rev, committed));
  for (const w of h.watches) violations.push(...checkWatch(w, committed, liveWatches.has(w.id)));
  return { violations, lin, committed };
}
