/**
 * The one place where requests are authenticated and authorized (etcd 3.4's checks, spread there over
 * v3_server.go, apply_auth.go, v3rpc/maintenance.go and v3rpc/watch.go, gathered here by method).
 *
 * `guardServer(server, node)` makes every service added to `server` afterwards pass through these checks:
 * for each method it reads the token from the call metadata (`token`, or `authorization` as etcd's gateway),
 * resolves it to a user (an unknown token is "etcdserver: invalid auth token", even while auth is disabled,
 * as etcd), then applies the method's rule to the request. Rules, as etcd 3.4.23 behaves:
 * - Range: read on [key, range_end). Put: write on key; read on key with prev_kv; write on every key already
 *   attached to the lease it names. DeleteRange: write on the range; read with prev_kv. Txn: read on every
 *   compare's range; its ops as above, in success and failure, nested Txns included (etcd 3.4 skips nested
 *   Txns: deliberately stricter here).
 * - LeaseRevoke: write on every key attached to the lease. LeaseGrant, Compact, Alarm: token checked, no
 *   permission needed (etcd 3.4 lets any user compact, grant leases and manage alarms).
 * - MemberAdd/Remove/Update/Promote and every Auth RPC except Authenticate: the root role (admin); UserGet of
 *   one's own user and RoleGet of a role one holds are allowed without it.
 * - Defragment, Hash, HashKV, Snapshot: admin, with errors in etcd 3.4's unconverted form (gRPC UNKNOWN,
 *   "auth: permission denied").
 * - Watch: each WatchCreateRequest needs read on its range; a denied one is answered on the stream with
 *   created + canceled, watch_id -1 and the error as cancel_reason ("rpc error: code = PermissionDenied desc =
 *   etcdserver: permission denied", or "... user name is empty" without a token), and never reaches the Watch
 *   service.
 * - Status, MoveLeader, MemberList, LeaseTimeToLive, LeaseLeases, LeaseKeepAlive, Authenticate: no check.
 * While auth is disabled every check passes. A missing token with auth enabled is "etcdserver: user name is
 * empty". Checks run when the request arrives (etcd re-checks writes at apply time against the auth revision;
 * here a request racing an auth change is judged by the state it arrived in).
 */
import * as grpc from '@grpc/grpc-js';
import { AuthError, authErrors, rawAuthError } from '../auth/errors.js';
import type { AuthInfo, AuthStore } from '../auth/store.js';
import { tokenIndex } from '../auth/tokens.js';
import { EtcdError, toGrpcError } from './errors.js';
import type { QuorumNode } from './node.js';
import { header } from './wire.js';

type Wire = Record<string, any>;
/** A method's rule: `check` throws AuthError when `info` may not do `req`; `raw`: errors in etcd's unconverted form. */
interface Rule { check?: (ctx: CheckCtx, req: Wire) => void; raw?: boolean }
interface CheckCtx { auth: AuthStore; info: AuthInfo | undefined; leaseKeys: (id: bigint) => Uint8Array[] }

/** Convert an AuthError (store/auth) to the server's EtcdError; anything else unchanged. */
export function authToEtcd(e: unknown): unknown {
  return e instanceof AuthError ? new EtcdError(e.code as grpc.status, e.message) : e;
}

const u8 = (b: unknown): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(0));
const EMPTY = new Uint8Array(0);

function checkLeaseKeys(c: CheckCtx, lease: unknown): void {
  const id = BigInt(String(lease ?? '0'));
  if (id === 0n) return;
  for (const k of c.leaseKeys(id)) c.auth.isWritePermitted(c.info, k, EMPTY);
}

function checkPut(c: CheckCtx, r: Wire): void {
  if (u8(r.key).length === 0) return; // the service reports "key is not provided"
  c.auth.isWritePermitted(c.info, u8(r.key), EMPTY);
  checkLeaseKeys(c, r.lease);
  if (r.prev_kv) c.auth.isRangePermitted(c.info, u8(r.key), EMPTY);
}

function checkDelete(c: CheckCtx, r: Wire): void {
  if (u8(r.key).length === 0) return;
  c.auth.isWritePermitted(c.info, u8(r.key), u8(r.range_end));
  if (r.prev_kv) c.auth.isRangePermitted(c.info, u8(r.key), u8(r.range_end));
}

function checkRange(c: CheckCtx, r: Wire): void {
  if (u8(r.key).length === 0) return;
  c.auth.isRangePermitted(c.info, u8(r.key), u8(r.range_end));
}

function checkTxnOps(c: CheckCtx, ops: Wire[] | undefined): void {
  for (const op of ops ?? []) {
    if (op.request_range) c.auth.isRangePermitted(c.info, u8(op.request_range.key), u8(op.request_range.range_end));
    else if (op.request_put) c.auth.isWritePermitted(c.info, u8(op.request_put.key), EMPTY);
    else if (op.request_delete_range) {
      const d = op.request_delete_range;
      if (d.prev_kv) c.auth.isRangePermitted(c.info, u8(d.key), u8(d.range_end));
      c.auth.isWritePermitted(c.info, u8(d.key), u8(d.range_end));
    } else if (op.request_txn) checkTxn(c, op.request_txn);
  }
}

function checkTxn(c: CheckCtx, r: Wire): void {
  for (const cmp of r.compare ?? []) c.auth.isRangePermitted(c.info, u8(cmp.key), u8(cmp.range_end));
  checkTxnOps(c, r.success);
  checkTxnOps(c, r.failure);
}

const admin: Rule = { check: (c) => c.auth.isAdminPermitted(c.info) };
const tokenOnly: Rule = {};

/** Rules by full method path; methods without a rule are not checked at all. */
const RULES: Record<string, Rule> = {
  '/etcdserverpb.KV/Range': { check: checkRange },
  '/etcdserverpb.KV/Put': { check: checkPut },
  '/etcdserverpb.KV/DeleteRange': { check: checkDelete },
  '/etcdserverpb.KV/Txn': { check: checkTxn },
  '/etcdserverpb.KV/Compact': tokenOnly,
  '/etcdserverpb.Lease/LeaseGrant': tokenOnly,
  '/etcdserverpb.Lease/LeaseRevoke': { check: (c, r) => checkLeaseKeys(c, r.ID) },
  '/etcdserverpb.Cluster/MemberAdd': admin,
  '/etcdserverpb.Cluster/MemberRemove': admin,
  '/etcdserverpb.Cluster/MemberUpdate': admin,
  '/etcdserverpb.Cluster/MemberPromote': admin,
  '/etcdserverpb.Maintenance/Alarm': tokenOnly,
  '/etcdserverpb.Maintenance/Defragment': { ...admin, raw: true },
  '/etcdserverpb.Maintenance/Hash': { ...admin, raw: true },
  '/etcdserverpb.Maintenance/HashKV': { ...admin, raw: true },
  '/etcdserverpb.Maintenance/Snapshot': { ...admin, raw: true },
  '/etcdserverpb.Auth/UserGet': {
    check: (c, r) => {
      try {
        c.auth.isAdminPermitted(c.info);
      } catch (e) {
        if (c.info?.username !== String(r.name ?? '')) throw e;
      }
    },
  },
  '/etcdserverpb.Auth/RoleGet': {
    check: (c, r) => {
      try {
        c.auth.isAdminPermitted(c.info);
      } catch (e) {
        if (!c.info || !c.auth.hasRole(c.info.username, String(r.role ?? ''))) throw e;
      }
    },
  },
};
for (const m of ['AuthEnable', 'AuthDisable', 'UserAdd', 'UserList', 'UserDelete', 'UserChangePassword', 'UserGrantRole',
  'UserRevokeRole', 'RoleAdd', 'RoleList', 'RoleDelete', 'RoleGrantPermission', 'RoleRevokePermission']) {
  RULES[`/etcdserverpb.Auth/${m}`] = admin;
}

const WATCH_PATH = '/etcdserverpb.Watch/Watch';

function tokenOf(md: grpc.Metadata): string | undefined {
  const v = md.get('token')[0] ?? md.get('authorization')[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Who sends a call (etcd AuthInfoFromCtx): undefined without a token; throws "invalid auth token" for an unknown
 * or expired one. A token naming a Raft index this member has not applied yet waits for a read barrier first.
 */
export async function authInfoOf(node: QuorumNode, md: grpc.Metadata): Promise<AuthInfo | undefined> {
  const token = tokenOf(md);
  if (token === undefined) return undefined;
  const info = node.auth.authInfoFromToken(token);
  if (info) return info;
  const idx = tokenIndex(token);
  if (idx !== undefined && idx > node.info().applied) {
    await node.readBarrier().catch(() => undefined);
    const again = node.auth.authInfoFromToken(token);
    if (again) return again;
  }
  throw authErrors.invalidAuthToken();
}

/** Run the rule of `path` for a call; resolves when allowed, rejects with an EtcdError when not. */
async function authorize(node: QuorumNode, path: string, md: grpc.Metadata, req: Wire): Promise<void> {
  const rule = RULES[path];
  if (!rule) return;
  try {
    const info = await authInfoOf(node, md);
    rule.check?.({ auth: node.auth, info, leaseKeys: (id) => node.lessor.lookup(id)?.keys ?? [] }, req);
  } catch (e) {
    throw authToEtcd(rule.raw && e instanceof AuthError ? rawAuthError(e) : e);
  }
}

/** Go's names of gRPC codes, as etcd formats a watch's cancel_reason ("rpc error: code = <Name> desc = <message>"). */
const GO_CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal',
  'Unavailable', 'DataLoss', 'Unauthenticated'];

/**
 * Why a WatchCreateRequest on a stream with metadata `md` may not start, as etcd's cancel_reason text, or
 * undefined when it may (etcd isWatchPermitted; the token is judged without waiting).
 */
function watchDenied(node: QuorumNode, md: grpc.Metadata, creq: Wire): string | undefined {
  const token = tokenOf(md);
  if (!node.auth.isEnabled() && token === undefined) return undefined;
  try {
    let info: AuthInfo | undefined;
    if (token !== undefined) {
      info = node.auth.authInfoFromToken(token);
      if (!info) throw authErrors.invalidAuthToken();
    }
    node.auth.isRangePermitted(info, u8(creq.key), u8(creq.range_end));
    return undefined;
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    return `rpc error: code = ${GO_CODE_NAMES[e.code] ?? 'Unknown'} desc = ${e.message}`;
  }
}

type Handler = (...args: any[]) => unknown;

/** Wrap the Watch stream handler: denied creates are answered here and never reach the service. */
function guardWatch(node: QuorumNode, handler: Handler): Handler {
  return (call: grpc.ServerDuplexStream<Wire, Wire>) => {
    const stream = call as unknown as { push: (chunk: unknown, enc?: BufferEncoding) => boolean; _read: (n: number) => void };
    const push = stream.push.bind(call);
    stream.push = (chunk, enc) => {
      const creq = (chunk as Wire | null)?.create_request as Wire | null | undefined;
      const reason = creq ? watchDenied(node, call.metadata, creq) : undefined;
      if (reason !== undefined) {
        call.write({
          header: header(node), watch_id: '-1', created: true, canceled: true, compact_revision: '0',
          cancel_reason: reason, fragment: false, events: [],
        });
        setImmediate(() => stream._read(1)); // the swallowed message consumed a read: ask for the next one
        return true;
      }
      return push(chunk, enc);
    };
    return handler(call);
  };
}

/** Wrap every handler of one service according to RULES. */
export function guardImplementation(node: QuorumNode, def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = { ...impl };
  for (const [name, m] of Object.entries(def)) {
    const h = impl[name] as Handler | undefined;
    if (!h) continue;
    if (m.path === WATCH_PATH) {
      out[name] = guardWatch(node, h) as grpc.UntypedHandleCall;
      continue;
    }
    if (!RULES[m.path]) continue;
    if (!m.requestStream && !m.responseStream) {
      out[name] = ((call: grpc.ServerUnaryCall<Wire, Wire>, cb: grpc.sendUnaryData<Wire>) => {
        if (!node.auth.isEnabled() && tokenOf(call.metadata) === undefined) return h(call, cb); // nothing to check
        authorize(node, m.path, call.metadata, call.request).then(
          () => h(call, cb),
          (e) => cb(toGrpcError(e) as grpc.ServiceError),
        );
      }) as grpc.UntypedHandleCall;
    } else if (!m.requestStream && m.responseStream) {
      out[name] = ((call: grpc.ServerWritableStream<Wire, Wire>) => {
        authorize(node, m.path, call.metadata, call.request).then(
          () => h(call),
          (e) => call.emit('error', toGrpcError(e)),
        );
      }) as grpc.UntypedHandleCall;
    } else {
      throw new Error(`auth_guard: no rule form for client-streaming method ${m.path}`);
    }
  }
  return out;
}

/**
 * Make every service added to `server` from now on pass through the auth checks (call right after creating the
 * server, before addService).
 */
export function guardServer(server: grpc.Server, node: QuorumNode): void {
  const add = server.addService.bind(server);
  server.addService = (def, impl) => add(def, guardImplementation(node, def, impl));
}
