/**
 * A brute-force linearizability checker for small histories (a reference for testing checker.ts): a plain
 * depth-first search over every order consistent with real time, without memoization. Exponential: use on
 * histories of at most ~9 operations.
 */
import { initialState, step, type ModelState } from './model.js';
import { linearizableOps } from './linearizability.js';
import type { Operation } from './types.js';

/** True when some real-time-respecting order (unknown-outcome ops optional) is valid for the model. */
export function bruteForceLinearizable(allOps: Operation[]): boolean {
  const ops = linearizableOps(allOps);
  const placed = new Array<boolean>(ops.length).fill(false);
  const retOf = (o: Operation) => (o.ret === undefined ? Infinity : o.ret);
  const dfs = (s: ModelState): boolean => {
    // Done when every op with a known outcome is placed.
    if (ops.every((o, i) => placed[i] || o.resp === undefined)) return true;
    // The earliest return among unplaced ops bounds which calls may go next.
    let minRet = Infinity;
    ops.forEach((o, i) => { if (!placed[i]) minRet = Math.min(minRet, retOf(o)); });
    for (let i = 0; i < ops.length; i++) {
      if (placed[i] || ops[i].call > minRet) continue;
      const next = step(s, ops[i].req, ops[i].resp);
      if (!next) continue;
      placed[i] = true;
      if (dfs(next)) return true;
      placed[i] = false;
    }
    return false;
  };
  return dfs(initialState());
}
