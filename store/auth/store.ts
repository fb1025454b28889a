/**
 * The auth store (etcd 3.4 auth/store.go semantics): users, roles, key permissions, the enabled flag, a
 * revision that counts changes, and the simple tokens this member knows.
 *
 * Changes arrive only as committed Raft entries (`apply`, deterministic apart from the token TTL clock);
 * queries (`userGet`, `isOpPermitted`, ...) read the local state. Nothing here does I/O; the state is rebuilt by
 * WAL replay on restart.
 *
 * Special names: user `root` and role `root`. Enabling auth requires user root to exist and hold role root;
 * the role `root` may be granted without being added, bypasses every key permission check, and is required for
 * auth management (`isAdminPermitted`). While auth is enabled, user root cannot be deleted, role root cannot be
 * deleted and cannot be revoked from user root ("etcdserver: invalid auth management").
 * Source: https://etcd.io/docs/v3.4/op-guide/authentication/ and behaviour observed on etcd 3.4.23.
 */
import { AuthError, authErrors } from './errors.js';
import { verifyPassword } from './password.js';
import { compareBytes, permits, PermType, type Permission } from './perm.js';
import { SimpleTokens } from './tokens.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** A user. `password` is a password.ts hash (absent for a no-password user); roles sorted byte-wise. */
export interface User { name: string; password?: string; noPassword: boolean; roles: string[] }
/** A role and its permissions, sorted by key then range_end. */
export interface Role { name: string; perms: Permission[] }

/** Who sends a request, as derived from its token (etcd auth.AuthInfo). */
export interface AuthInfo { username: string; revision: number }

/** AuthStore.exportState's JSON shape (permission bytes as hex). */
export interface AuthState {
  enabled: boolean;
  revision: number;
  users: User[];
  roles: { name: string; perms: { permType: PermType; key: string; rangeEnd: string }[] }[];
}

/** State changes carried in Raft entries (passwords already hashed by the proposer). */
export type AuthOp =
  | { op: 'authEnable' }
  | { op: 'authDisable' }
  | { op: 'authenticate'; name: string; prefix: string; issuedAt: number }
  | { op: 'authUserAdd'; name: string; password?: string; noPassword: boolean }
  | { op: 'authUserDelete'; name: string }
  | { op: 'authUserChangePassword'; name: string; password: string }
  | { op: 'authUserGrantRole'; user: string; role: string }
  | { op: 'authUserRevokeRole'; name: string; role: string }
  | { op: 'authRoleAdd'; name: string }
  | { op: 'authRoleDelete'; role: string }
  | { op: 'authRoleGrantPermission'; name: string; perm: Permission }
  | { op: 'authRoleRevokePermission'; role: string; key: Uint8Array; rangeEnd: Uint8Array };

/** The op names of AuthOp. */
export const AUTH_OPS: ReadonlySet<string> = new Set([
  'authEnable', 'authDisable', 'authenticate', 'authUserAdd', 'authUserDelete', 'authUserChangePassword',
  'authUserGrantRole', 'authUserRevokeRole', 'authRoleAdd', 'authRoleDelete', 'authRoleGrantPermission',
  'authRoleRevokePermission',
]);

const cmpStr = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const sameBytes = (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) === 0;

/** One member's auth state. */
export class AuthStore {
  private enabled = false;
  private rev = 1;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  /** The simple tokens this member knows (filled by applied Authenticate entries). */
  readonly tokens: SimpleTokens;

  constructor(opts: { tokenTtlMs?: number; now?: () => number } = {}) {
    this.tokens = new SimpleTokens(opts.tokenTtlMs, opts.now);
    this.now = opts.now ?? Date.now;
  }

  private readonly now: () => number;

  /** Whether authentication is enabled. */
  isEnabled(): boolean {
    return this.enabled;
  }

  /** The auth revision: incremented by every applied change. */
  revision(): number {
    return this.rev;
  }

  /**
   * Apply one committed change. `index` is the entry's Raft index (it names Authenticate's token).
   * Returns `{ token }` for authenticate, `{}` otherwise. Throws AuthError with etcd's error on a rejected
   * change (the state is then unchanged).
   */
  apply(op: AuthOp, index: number): { token?: string } {
    switch (op.op) {
      case 'authEnable': {
        if (this.enabled) return {};
        const root = this.users.get(ROOT_USER);
        if (!root) throw authErrors.rootUserNotExist();
        if (!root.roles.includes(ROOT_ROLE)) throw authErrors.rootRoleNotExist();
        this.enabled = true;
        this.tokens.clear();
        return this.commit();
      }
      case 'authDisable':
        if (!this.enabled) return {};
        this.enabled = false;
        this.tokens.clear();
        return this.commit();
      case 'authenticate': {
        if (!this.enabled) throw authErrors.authNotEnabled();
        const u = this.users.get(op.name);
        if (!u || u.noPassword) throw authErrors.authFailed();
        const token = `${op.prefix}.${index}`;
        // WAL replay: an Authenticate older than the TTL issued a token that has expired since
        if (this.now() - op.issuedAt < this.tokens.ttlMs) this.tokens.assign(token, op.name);
        return { token };
      }
      case 'authUserAdd': {
        if (op.name.length === 0) throw authErrors.userEmpty();
        if (this.users.has(op.name)) throw authErrors.userAlreadyExist();
        const u: User = { name: op.name, noPassword: op.noPassword, roles: [] };
        if (!op.noPassword && op.password !== undefined) u.password = op.password;
        this.users.set(op.name, u);
        return this.commit();
      }
      case 'authUserDelete': {
        if (this.enabled && op.name === ROOT_USER) throw authErrors.invalidAuthMgmt();
        if (!this.users.delete(op.name)) throw authErrors.userNotFound();
        this.tokens.invalidateUser(op.name);
        return this.commit();
      }
      case 'authUserChangePassword': {
        const u = this.users.get(op.name);
        if (!u) throw authErrors.userNotFound();
        u.password = op.password;
        this.tokens.invalidateUser(op.name);
        return this.commit();
      }
      case 'authUserGrantRole': {
        const u = this.users.get(op.user);
        if (!u) throw authErrors.userNotFound();
        if (op.role !== ROOT_ROLE && !this.roles.has(op.role)) throw authErrors.roleNotFound();
        if (u.roles.includes(op.role)) return {};
        u.roles = [...u.roles, op.role].sort(cmpStr);
        return this.commit();
      }
      case 'authUserRevokeRole': {
        if (this.enabled && op.name === ROOT_USER && op.role === ROOT_ROLE) throw authErrors.invalidAuthMgmt();
        const u = this.users.get(op.name);
        if (!u) throw authErrors.userNotFound();
        if (!u.roles.includes(op.role)) throw authErrors.roleNotGranted();
        u.roles = u.roles.filter((r) => r !== op.role);
        return this.commit();
      }
      case 'authRoleAdd': {
        if (op.name.length === 0) throw authErrors.roleEmpty();
        if (this.roles.has(op.name)) throw authErrors.roleAlreadyExist();
        this.roles.set(op.name, { name: op.name, perms: [] });
        return this.commit();
      }
      case 'authRoleDelete': {
        if (this.enabled && op.role === ROOT_ROLE) throw authErrors.invalidAuthMgmt();
        if (!this.roles.delete(op.role)) throw authErrors.roleNotFound();
        for (const u of this.users.values()) u.roles = u.roles.filter((r) => r !== op.role);
        return this.commit();
      }
      case 'authRoleGrantPermission': {
        const role = this.roles.get(op.name);
        if (!role) throw authErrors.roleNotFound();
        const p = op.perm;
        const same = role.perms.find((x) => sameBytes(x.key, p.key) && sameBytes(x.rangeEnd, p.rangeEnd));
        if (same) same.permType = p.permType;
        else {
          role.perms = [...role.perms, { permType: p.permType, key: p.key, rangeEnd: p.rangeEnd }]
            .sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.rangeEnd, b.rangeEnd));
        }
        return this.commit();
      }
      case 'authRoleRevokePermission': {
        const role = this.roles.get(op.role);
        if (!role) throw authErrors.roleNotFound();
        const kept = role.perms.filter((x) => !(sameBytes(x.key, op.key) && sameBytes(x.rangeEnd, op.rangeEnd)));
        if (kept.length === role.perms.length) throw authErrors.permissionNotGranted();
        role.perms = kept;
        return this.commit();
      }
    }
  }

  private commit(): {} {
    this.rev++;
    return {};
  }

  /**
   * The replicated state as plain JSON (for snapshots: etcd keeps auth in its backend, so a snapshot carries
   * users, roles and the enabled flag). Tokens are not included (they are per member and short-lived).
   */
  exportState(): AuthState {
    const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
    return {
      enabled: this.enabled,
      revision: this.rev,
      users: [...this.users.values()].map((u) => ({ ...u, roles: [...u.roles] })),
      roles: [...this.roles.values()].map((r) => ({ name: r.name, perms: r.perms.map((p) => ({ permType: p.permType, key: hex(p.key), rangeEnd: hex(p.rangeEnd) })) })),
    };
  }

  /** Replace the state with an exportState() result; drops every token. */
  loadState(st: AuthState): void {
    const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
    this.enabled = st.enabled;
    this.rev = st.revision;
    this.users.clear();
    for (const u of st.users) this.users.set(u.name, { ...u, roles: [...u.roles] });
    this.roles.clear();
    for (const r of st.roles) this.roles.set(r.name, { name: r.name, perms: r.perms.map((p) => ({ permType: p.permType, key: unhex(p.key), rangeEnd: unhex(p.rangeEnd) })) });
    this.tokens.clear();
  }

  /** The roles of `name` (sorted). Throws "user name not found". */
  userGet(name: string): string[] {
    const u = this.users.get(name);
    if (!u) throw authErrors.userNotFound();
    return [...u.roles];
  }

  /** Every user name, sorted byte-wise. */
  userList(): string[] {
    return [...this.users.keys()].sort(cmpStr);
  }

  /** The permissions of `role` (sorted). Throws "role name not found". */
  roleGet(role: string): Permission[] {
    const r = this.roles.get(role);
    if (!r) throw authErrors.roleNotFound();
    return r.perms.map((p) => ({ ...p }));
  }

  /** Every role name, sorted byte-wise. */
  roleList(): string[] {
    return [...this.roles.keys()].sort(cmpStr);
  }

  /** Whether user `user` exists and holds role `role`. */
  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  /**
   * Check a password before an Authenticate is proposed (etcd CheckPassword). Resolves to the auth revision
   * the check saw. Throws "authentication is not enabled", "authentication failed, invalid user ID or
   * password", or (no-password user) etcd 3.4's unconverted "auth: authentication failed, password was given
   * for no password user".
   */
  async checkPassword(name: string, password: string): Promise<number> {
    if (!this.enabled) throw authErrors.authNotEnabled();
    const u = this.users.get(name);
    if (!u) throw authErrors.authFailed();
    if (u.noPassword) throw authErrors.noPasswordUser();
    const rev = this.rev;
    if (!u.password || !(await verifyPassword(password, u.password))) throw authErrors.authFailed();
    return rev;
  }

  /**
   * Resolve a token to who sent it (etcd AuthInfoFromCtx): undefined when the token is unknown or expired
   * (the caller reports "invalid auth token"). The revision is the current auth revision.
   */
  authInfoFromToken(token: string): AuthInfo | undefined {
    const user = this.tokens.lookup(token);
    return user === undefined ? undefined : { username: user, revision: this.rev };
  }

  /**
   * Whether `info` may manage auth/cluster (etcd IsAdminPermitted): always when auth is disabled; else throws
   * "user name is empty" (no token), "user name not found", or "permission denied" (no root role).
   */
  isAdminPermitted(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (!info || info.username === '') throw authErrors.userEmpty();
    const u = this.users.get(info.username);
    if (!u) throw authErrors.userNotFound();
    if (!u.roles.includes(ROOT_ROLE)) throw authErrors.permissionDenied();
  }

  /**
   * Whether `info` may read/write key (rangeEnd empty) or [key, rangeEnd) (etcd isOpPermitted): always when auth
   * is disabled; else throws "user name is empty" (no token), "revision of auth store is old" (the auth store
   * changed since `info` was taken), or "permission denied". The root role may do anything.
   */
  isOpPermitted(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, want: PermType.READ | PermType.WRITE): void {
    if (!this.enabled) return;
    if (!info || info.revision === 0) throw authErrors.userEmpty();
    if (info.revision < this.rev) throw authErrors.authOldRevision();
    const u = this.users.get(info.username);
    if (!u) throw authErrors.permissionDenied();
    if (u.roles.includes(ROOT_ROLE)) return;
    const perms: Permission[] = [];
    for (const r of u.roles) perms.push(...(this.roles.get(r)?.perms ?? []));
    if (!permits(perms, want, key, rangeEnd)) throw authErrors.permissionDenied();
  }

  /** isOpPermitted for reading. */
  isRangePermitted(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.isOpPermitted(info, key, rangeEnd, PermType.READ);
  }

  /** isOpPermitted for writing. */
  isWritePermitted(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    this.isOpPermitted(info, key, rangeEnd, PermType.WRITE);
  }
}

export { AuthError, PermType, type Permission };
