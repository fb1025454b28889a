/**
 * Errors of the auth store with etcd 3.4's gRPC status codes and exact message strings
 * (etcd api/v3rpc/rpctypes/error.go and auth/store.go, checked against etcd 3.4.23).
 * store/auth knows nothing about gRPC: `code` is the numeric gRPC status; the server converts an AuthError
 * once at its edge (store/server/auth_guard.ts `authToEtcd`).
 */

/** An auth failure: numeric gRPC status `code` (3 INVALID_ARGUMENT, 7 PERMISSION_DENIED, 9 FAILED_PRECONDITION, ...). */
export class AuthError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const FAILED_PRECONDITION = 9;
const UNAUTHENTICATED = 16;
const UNKNOWN = 2;

/** The auth errors, as functions returning fresh instances (stack traces point at the thrower). */
export const authErrors = {
  rootUserNotExist: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  rootRoleNotExist: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  userAlreadyExist: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  userEmpty: () => new AuthError(INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  userNotFound: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: user name not found'),
  roleAlreadyExist: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  roleNotFound: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleEmpty: () => new AuthError(INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  authFailed: () => new AuthError(INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'),
  permissionDenied: () => new AuthError(PERMISSION_DENIED, 'etcdserver: permission denied'),
  roleNotGranted: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'),
  authNotEnabled: () => new AuthError(FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  invalidAuthToken: () => new AuthError(UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  invalidAuthMgmt: () => new AuthError(INVALID_ARGUMENT, 'etcdserver: invalid auth management'),
  authOldRevision: () => new AuthError(INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'),
  /** etcd 3.4 leaves this one unconverted: gRPC UNKNOWN with the auth package's own text. */
  noPasswordUser: () => new AuthError(UNKNOWN, 'auth: authentication failed, password was given for no password user'),
};

/**
 * etcd 3.4's Maintenance server (Defragment, Hash, HashKV, Snapshot) returns the auth package's errors
 * unconverted: gRPC UNKNOWN with "auth: ..." text. Map an AuthError of the admin check to that form.
 */
export function rawAuthError(e: AuthError): AuthError {
  return new AuthError(UNKNOWN, e.message.replace(/^etcdserver: /, 'auth: '));
}
