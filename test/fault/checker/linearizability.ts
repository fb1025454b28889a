/**
 * Linearizability checker: the Wing & Gong backtracking search over a history's call/return events, with
 * Porcupine's memoization (a cache of (set of linearized operations, model state) pairs already explored),
 * over the whole-store model in model.ts (the history is not split per key: the global revision couples
 * every key). Operations with an unknown outcome get an infinite return time: the search may linearize them
 * anywhere after their call, or leave them out (= they never took effect).
 * Serializable ranges are not linearizable in etcd and are excluded here (see stale.ts).
 * Source: Wing & Gong, "Testing and verifying concurrent objects" (1993); Lowe, "Testing for
 * linearizability" (2017, the cache); Porcupine (anishathalye/porcupine) for the entry-list formulation.
 */
import { initialState, step, stateKey, type ModelState } from './model.js';
import type { Operation } from './types.js';

/** Result of a check. */
export interface LinearizabilityResult {
  ok: boolean;
  /** When ok: the operations in one valid linearization order (ids), unknown ones included only when they took effect. */
  order?: number[];
  /** When !ok: the longest prefix of a linearization the search found, and the ops it could not place next. */
  longestPrefix?: number[];
  stuckAt?: number[];
  /** Search nodes visited (a measure of cost). */
  steps: number;
  /** True when the step budget ran out (then ok is false and the result is inconclusive). */
  exhausted?: boolean;
}

interface Entry {
  op: number; // index into ops
  isCall: boolean;
  time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  match: Entry | undefined; // call -> its return
}

/** The operations the linearizability check covers: every op but serializable ranges and reads of unknown outcome. */
export function linearizableOps(ops: Operation[]): Operation[] {
  return ops.filter((o) => {
    if (o.req.t === 'range' && o.req.serializable) return false;
    if (o.resp === undefined && o.req.t === 'range') return false; // an unanswered read has no effect
    if (o.resp?.t === 'fail') return false; // refused without effect: nothing to place
    return true;
  });
}

/**
 * Check a history. `ops` should already be filtered by `linearizableOps` (the function filters again).
 * maxSteps bounds the search (default 5e6 nodes); on exhaustion the result says so.
 */
export function checkLinearizable(allOps: Operation[], opts: { maxSteps?: number; init?: ModelState } = {}): LinearizabilityResult {
  const ops = linearizableOps(allOps);
  const n = ops.length;
  const maxSteps = opts.maxSteps ?? 5_000_000;
  // Build the entry list sorted by time; at equal times returns go after calls (they overlap: more permissive).
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const o = ops[i];
    const c: Entry = { op: i, isCall: true, time: o.call, prev: undefined, next: undefined, match: undefined };
    const r: Entry = { op: i, isCall: false, time: o.ret === undefined ? Infinity : o.ret, prev: undefined, next: undefined, match: undefined };
    c.match = r;
    entries.push(c, r);
  }
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: undefined, next: undefined, match: undefined };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const unknown = ops.map((o) => o.resp === undefined);

  const lift = (e: Entry) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const r = e.match!;
    r.prev!.next = r.next;
    if (r.next) r.next.prev = r.prev;
  };
  const unlift = (e: Entry) => {
    const r = e.match!;
    r.prev!.next = r;
    if (r.next) r.next.prev = r;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const words = Math.ceil(n / 32) || 1;
  const bits = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: { entry: Entry; state: ModelState }[] = [];
  let state = opts.init ?? initialState();
  let longest: number[] = [];
  let stuck: number[] = [];
  let steps = 0;
  let entry = head.next;
  const bitsKey = () => {
    let s = '';
    for (let i = 0; i < words; i++) s += bits[i].toString(36) + '.';
    return s;
  };
  while (head.next !== undefined) {
    if (++steps > maxSteps) return { ok: false, steps, exhausted: true, longestPrefix: longest, stuckAt: stuck };
    if (entry === undefined) break; // cannot happen: the list ends with a return entry
    if (entry.isCall) {
      const o = ops[entry.op];
      const next = step(state, o.req, o.resp);
      let advanced = false;
      if (next !== undefined) {
        bits[entry.op >> 5] |= 1 << (entry.op & 31);
        const key = bitsKey() + stateKey(next);
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          bits[entry.op >> 5] &= ~(1 << (entry.op & 31));
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return whose call is not linearized yet.
      if (unknown[entry.op]) {
        // Every op with a finite return is placed (their returns come earlier): the rest may never happen.
        break;
      }
      if (stack.length > longest.length) {
        longest = stack.map((f) => ops[f.entry.op].id);
        stuck = [];
        for (let e: Entry | undefined = head.next; e && e.time <= entry.time; e = e.next) if (e.isCall) stuck.push(ops[e.op].id);
      }
      if (stack.length === 0) return { ok: false, steps, longestPrefix: longest, stuckAt: stuck };
      const top = stack.pop()!;
      state = top.state;
      bits[top.entry.op >> 5] &= ~(1 << (top.entry.op & 31));
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true, order: stack.map((f) => ops[f.entry.op].id), steps };
}

/**
 * Replay a linearization order (ids into `ops`) through the model, returning the state after each op,
 * in order. Throws if the order is not valid for the model (a checker bug).
 */
export function replay(ops: Operation[], order: number[], init: ModelState = initialState()): { id: number; before: ModelState; after: ModelState }[] {
  const byId = new Map(ops.map((o) => [o.id, o]));
  const out: { id: number; before: ModelState; after: ModelState }[] = [];
  let s = init;
  for (const id of order) {
    const o = byId.get(id)!;
    const next = step(s, o.req, o.resp);
    if (!next) throw new Error(`replay: op ${id} is not valid here`);
    out.push({ id, before: s, after: next });
    s = next;
  }
  return out;
}
