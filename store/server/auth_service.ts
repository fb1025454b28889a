/**
 * etcdserverpb.Auth (etcd 3.4 etcdserver/v3_server.go, auth/store.go). Changes go through Raft (auth_request.ts,
 * applied by auth_apply.ts on every member); UserGet/UserList/RoleGet/RoleList are answered locally after a
 * read-index barrier (etcd sends them through Raft; the answer is the same). Who may call what is decided by
 * auth_guard.ts before these handlers run. Response headers carry the KV revision, as etcd's.
 * Authenticate (simple tokens, see store/auth/tokens.ts): the password is checked here (scrypt, off the node
 * loop), then an Authenticate entry with a fresh token prefix is proposed; its Raft index completes the token.
 * If the auth store changed between the check and the apply, the check is redone (etcd's loop).
 */
import { hashPassword } from '../auth/password.js';
import type { AuthOp } from '../auth/store.js';
import { genTokenPrefix } from '../auth/tokens.js';
import type { AuthApplyResult } from './auth_apply.js';
import { authToEtcd } from './auth_guard.js';
import type { QuorumNode } from './node.js';
import { header, unary } from './wire.js';

type Wire = Record<string, any>;

const str = (v: unknown) => String(v ?? '');
const u8 = (b: unknown): Uint8Array => (b instanceof Uint8Array ? new Uint8Array(b) : new Uint8Array(0));
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Propose an auth change; resolves to its apply result, throws the apply's AuthError (as EtcdError). */
async function proposeAuth(node: QuorumNode, op: AuthOp): Promise<{ rev: number; token?: string }> {
  const res = (await node.propose(op)) as AuthApplyResult;
  if (res.op === 'authError') throw res.error;
  if (res.op !== 'auth') throw new Error('internal: unexpected apply result for an auth request');
  return res;
}

/** A unary handler whose AuthErrors are converted to EtcdErrors before wire.unary's single conversion. */
function authUnary(fn: (r: Wire) => Promise<Wire>) {
  return unary(async (r: Wire) => {
    try {
      return await fn(r);
    } catch (e) {
      throw authToEtcd(e);
    }
  });
}

/** A change whose response is only a header. */
function change(node: QuorumNode, toOp: (r: Wire) => AuthOp | Promise<AuthOp>) {
  return authUnary(async (r) => {
    const res = await proposeAuth(node, await toOp(r));
    return { header: header(node, res.rev) };
  });
}

/** A read answered from the local store after a read-index barrier. */
function read(node: QuorumNode, fn: (r: Wire) => Wire) {
  return authUnary(async (r) => {
    await node.readBarrier();
    return { header: header(node), ...fn(r) };
  });
}

/** The Auth service implementation for grpc-js addService. */
export function authService(node: QuorumNode): Record<string, unknown> {
  const a = node.auth;
  return {
    AuthEnable: change(node, () => ({ op: 'authEnable' })),
    AuthDisable: change(node, () => ({ op: 'authDisable' })),
    Authenticate: authUnary(async (r) => {
      await node.readBarrier();
      for (let attempt = 0; ; attempt++) {
        const checked = await a.checkPassword(str(r.name), str(r.password));
        const res = await proposeAuth(node, { op: 'authenticate', name: str(r.name), prefix: genTokenPrefix(), issuedAt: Date.now() });
        if (a.revision() === checked || attempt >= 2) return { header: header(node, res.rev), token: res.token ?? '' };
      }
    }),
    UserAdd: change(node, async (r) => {
      const noPassword = !!r.options?.no_password;
      // etcd rejects an empty name before anything else; hashing is skipped for it and for no-password users
      const name = str(r.name);
      const password = noPassword || name === '' ? undefined : await hashPassword(str(r.password));
      return { op: 'authUserAdd', name, password, noPassword };
    }),
    UserGet: read(node, (r) => ({ roles: a.userGet(str(r.name)) })),
    UserList: read(node, () => ({ users: a.userList() })),
    UserDelete: change(node, (r) => ({ op: 'authUserDelete', name: str(r.name) })),
    UserChangePassword: change(node, async (r) => ({ op: 'authUserChangePassword', name: str(r.name), password: await hashPassword(str(r.password)) })),
    UserGrantRole: change(node, (r) => ({ op: 'authUserGrantRole', user: str(r.user), role: str(r.role) })),
    UserRevokeRole: change(node, (r) => ({ op: 'authUserRevokeRole', name: str(r.name), role: str(r.role) })),
    RoleAdd: change(node, (r) => ({ op: 'authRoleAdd', name: str(r.name) })),
    RoleGet: read(node, (r) => ({
      perm: a.roleGet(str(r.role)).map((p) => ({ permType: p.permType, key: buf(p.key), range_end: buf(p.rangeEnd) })),
    })),
    RoleList: read(node, () => ({ roles: a.roleList() })),
    RoleDelete: change(node, (r) => ({ op: 'authRoleDelete', role: str(r.role) })),
    RoleGrantPermission: change(node, (r) => ({
      op: 'authRoleGrantPermission', name: str(r.name),
      perm: { permType: Number(r.perm?.permType ?? 0), key: u8(r.perm?.key), rangeEnd: u8(r.perm?.range_end) },
    })),
    RoleRevokePermission: change(node, (r) => ({ op: 'authRoleRevokePermission', role: str(r.role), key: u8(r.key), rangeEnd: u8(r.range_end) })),
  };
}
