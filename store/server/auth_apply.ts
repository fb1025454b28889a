/**
 * Applying committed auth entries (called from the node loop's applyEntry). A rejected change is not an
 * apply failure: the AuthError travels back to the proposer in the result, as etcd returns it from apply.
 */
import { AuthError } from '../auth/errors.js';
import type { AuthOp, AuthStore } from '../auth/store.js';

/** The outcome of one auth entry: the KV revision for the response header, a token, or the error. */
export type AuthApplyResult =
  | { op: 'auth'; rev: number; token?: string }
  | { op: 'authError'; rev: number; error: AuthError };

/** Apply `op` (entry `index`) to `store`; `rev` is the current KV revision (etcd puts it in auth headers). */
export function applyAuthOp(store: AuthStore, op: AuthOp, index: number, rev: number): AuthApplyResult {
  try {
    const r = store.apply(op, index);
    return { op: 'auth', rev, token: r.token };
  } catch (e) {
    if (e instanceof AuthError) return { op: 'authError', rev, error: e };
    throw e;
  }
}
