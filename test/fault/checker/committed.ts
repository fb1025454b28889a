/**
 * The committed history implied by a linearization: the store's state at every revision, which operation
 * made each revision, and the watch events of each revision. Built by replaying the order the
 * linearizability checker found through the model.
 */
import { apply, initialState, type ModelState } from './model.js';
import type { Operation, WatchEvent } from './types.js';

/** What happened at one revision. */
export interface RevisionInfo { rev: number; state: ModelState; writer?: Operation; events: WatchEvent[] }

/** The committed history: revisions 1..finalRev (index = revision). */
export interface Committed { byRev: Map<number, RevisionInfo>; finalRev: number; finalState: ModelState }

/** Replay `order` (op ids, as returned by checkLinearizable) into the committed history. */
export function committedHistory(ops: Operation[], order: number[]): Committed {
  const byId = new Map(ops.map((o) => [o.id, o]));
  let s = initialState();
  const byRev = new Map<number, RevisionInfo>();
  byRev.set(1, { rev: 1, state: s, events: [] });
  for (const id of order) {
    const o = byId.get(id)!;
    const a = apply(s, o.req);
    if (a.state.rev !== s.rev) byRev.set(a.state.rev, { rev: a.state.rev, state: a.state, writer: o, events: a.events });
    else if (a.state !== s) byRev.set(a.state.rev, { ...byRev.get(a.state.rev)!, state: a.state }); // lease grant/revoke without keys
    s = a.state;
  }
  return { byRev, finalRev: s.rev, finalState: s };
}
