/**
 * Auth requests inside Raft entries: the auth part of request.ts's versioned JSON (bytes as base64).
 * Passwords travel only as password.ts hashes; Authenticate carries the token prefix chosen by the proposer
 * and its wall-clock time (ms) so WAL replay can skip tokens that have expired since.
 */
import { AUTH_OPS, type AuthOp } from '../auth/store.js';

export type { AuthOp } from '../auth/store.js';

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: unknown) => new Uint8Array(Buffer.from(String(s ?? ''), 'base64'));

/** Whether a request body is an auth op. */
export function isAuthOp(b: { op: string }): b is AuthOp {
  return AUTH_OPS.has(b.op);
}

/** The JSON fields of an auth op (merged into the request object by encodeRequest). */
export function encodeAuthOp(b: AuthOp): Record<string, unknown> {
  switch (b.op) {
    case 'authRoleGrantPermission':
      return { op: b.op, name: b.name, perm: { permType: b.perm.permType, key: b64(b.perm.key), rangeEnd: b64(b.perm.rangeEnd) } };
    case 'authRoleRevokePermission':
      return { op: b.op, role: b.role, key: b64(b.key), rangeEnd: b64(b.rangeEnd) };
    default:
      return { ...b };
  }
}

/** Decode the fields written by encodeAuthOp. Throws Error on an unknown op. */
export function decodeAuthOp(o: Record<string, any>): AuthOp {
  const s = (x: unknown) => String(x ?? '');
  switch (o.op) {
    case 'authEnable':
    case 'authDisable':
      return { op: o.op };
    case 'authenticate':
      return { op: 'authenticate', name: s(o.name), prefix: s(o.prefix), issuedAt: Number(o.issuedAt) };
    case 'authUserAdd':
      return { op: 'authUserAdd', name: s(o.name), password: o.password === undefined ? undefined : s(o.password), noPassword: !!o.noPassword };
    case 'authUserDelete':
      return { op: 'authUserDelete', name: s(o.name) };
    case 'authUserChangePassword':
      return { op: 'authUserChangePassword', name: s(o.name), password: s(o.password) };
    case 'authUserGrantRole':
      return { op: 'authUserGrantRole', user: s(o.user), role: s(o.role) };
    case 'authUserRevokeRole':
      return { op: 'authUserRevokeRole', name: s(o.name), role: s(o.role) };
    case 'authRoleAdd':
      return { op: 'authRoleAdd', name: s(o.name) };
    case 'authRoleDelete':
      return { op: 'authRoleDelete', role: s(o.role) };
    case 'authRoleGrantPermission':
      return { op: 'authRoleGrantPermission', name: s(o.name), perm: { permType: Number(o.perm?.permType ?? 0), key: unb64(o.perm?.key), rangeEnd: unb64(o.perm?.rangeEnd) } };
    case 'authRoleRevokePermission':
      return { op: 'authRoleRevokePermission', role: s(o.role), key: unb64(o.key), rangeEnd: unb64(o.rangeEnd) };
    default:
      throw new Error(`request: unknown auth op ${JSON.stringify(o.op)}`);
  }
}
