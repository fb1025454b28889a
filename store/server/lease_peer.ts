/**
 * Lease calls that only the leader (the primary lessor) can answer, and how other members reach it.
 *
 * etcd forwards LeaseKeepAlive renewals and LeaseTimeToLive from a follower to the leader over the peer
 * connection (etcd etcdserver/api/v3lease/leasehttp). quorumd does the same over its peer port: a small gRPC
 * service `quorum.lease.LeasePeer` (JSON-encoded messages, no .proto) registered beside the Raft transport,
 * dialed with the peer TLS settings. A follower retries (every 50 ms, up to the request timeout) while there is
 * no leader or the leader answers "not primary" (a leader change in progress), as etcd's LeaseRenew does.
 */
import * as grpc from '@grpc/grpc-js';
import { LeaseNotFoundError, NotPrimaryError, type LeaseId, type Lessor } from '../lease/lessor.js';
import type { TlsConfig } from './config.js';
import { EtcdError, errors } from './errors.js';
import { leaseErrors } from './lease_errors.js';
import { hostPort, peerChannelCredentials } from './tls.js';

/** What the lease forwarding needs from the node (QuorumNode satisfies it). */
export interface LeaseHost {
  readonly lessor: Lessor;
  readonly members: readonly { id: bigint; peerUrls: string[] }[];
  readonly cfg: { peerTls: TlsConfig };
  readonly requestTimeoutMs: number;
  info(): { leader: bigint; isLeader: boolean };
}

/** A time-to-live answer. `ttl` -1 with `grantedTtl` 0 = the lease does not exist (etcd's reply). */
export interface TimeToLive { ttl: number; grantedTtl: number; keys: Uint8Array[] }

interface RenewReq { id: string }
interface RenewRes { ttl: number }
interface TtlReq { id: string; keys: boolean }
interface TtlRes { ttl: number; grantedTtl: number; keys: string[] }

const json = {
  ser: (v: unknown) => Buffer.from(JSON.stringify(v)),
  de: (b: Buffer) => JSON.parse(b.toString('utf8')) as never,
};

function method(name: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/quorum.lease.LeasePeer/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.ser,
    requestDeserialize: json.de,
    responseSerialize: json.ser,
    responseDeserialize: json.de,
  };
}

/** The peer service's definition (for grpc.Server.addService and the client constructor). */
export const LEASE_PEER_SERVICE: grpc.ServiceDefinition = { Renew: method('Renew'), TimeToLive: method('TimeToLive') };

const NOT_PRIMARY = 'quorumd: not the primary lessor';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Renew on this member, which must be the primary. Resolves with the TTL (s).
 * Waits for the pending revoke of an expired lease (then LeaseNotFoundError, as etcd).
 * @throws LeaseNotFoundError; NotPrimaryError when not (or no longer) the primary.
 */
export async function renewLocal(lessor: Lessor, id: LeaseId, timeoutMs: number): Promise<number> {
  const r = lessor.renew(id);
  if (r !== 'expired') return r;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([lessor.whenGone(id), new Promise<void>((res) => (timer = setTimeout(res, timeoutMs)))]);
  clearTimeout(timer);
  if (!lessor.has(id)) throw new LeaseNotFoundError();
  throw new NotPrimaryError();
}

/** Time-to-live on this member, which must be the primary. @throws NotPrimaryError otherwise. */
export function timeToLiveLocal(lessor: Lessor, id: LeaseId, withKeys: boolean): TimeToLive {
  if (!lessor.isPrimary()) throw new NotPrimaryError();
  const l = lessor.lookup(id);
  if (!l) return { ttl: -1, grantedTtl: 0, keys: [] };
  // etcd: int64(Remaining().Seconds()), a truncation
  return { ttl: Math.trunc(l.remainingMs / 1000), grantedTtl: l.ttl, keys: withKeys ? l.keys : [] };
}

/** The LeasePeer service implementation answering other members' forwarded calls. */
export function leasePeerImpl(host: LeaseHost): grpc.UntypedServiceImplementation {
  const fail = (cb: grpc.sendUnaryData<never>, e: unknown) => {
    if (e instanceof LeaseNotFoundError) cb({ code: grpc.status.NOT_FOUND, details: 'lease not found' });
    else if (e instanceof NotPrimaryError) cb({ code: grpc.status.UNAVAILABLE, details: NOT_PRIMARY });
    else cb({ code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) });
  };
  return {
    Renew: (call: grpc.ServerUnaryCall<RenewReq, RenewRes>, cb: grpc.sendUnaryData<RenewRes>) => {
      renewLocal(host.lessor, BigInt(call.request.id), host.requestTimeoutMs).then((ttl) => cb(null, { ttl }), (e) => fail(cb, e));
    },
    TimeToLive: (call: grpc.ServerUnaryCall<TtlReq, TtlRes>, cb: grpc.sendUnaryData<TtlRes>) => {
      try {
        const r = timeToLiveLocal(host.lessor, BigInt(call.request.id), call.request.keys);
        cb(null, { ttl: r.ttl, grantedTtl: r.grantedTtl, keys: r.keys.map((k) => Buffer.from(k).toString('base64')) });
      } catch (e) {
        fail(cb, e);
      }
    },
  };
}

const PeerClient = grpc.makeGenericClientConstructor(LEASE_PEER_SERVICE, 'LeasePeer');
const clients = new Map<string, grpc.Client>();

function clientFor(url: string, tls: TlsConfig): grpc.Client {
  let c = clients.get(url);
  if (!c) {
    c = new PeerClient(hostPort(url), peerChannelCredentials(url, tls));
    clients.set(url, c);
  }
  return c;
}

/** Close the cached peer clients (on shutdown). */
export function closeLeasePeerClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

function callPeer<Req, Res>(host: LeaseHost, leader: bigint, name: 'Renew' | 'TimeToLive', req: Req, deadline: number): Promise<Res> {
  const m = host.members.find((x) => x.id === leader);
  if (!m || m.peerUrls.length === 0) return Promise.reject(new NotPrimaryError());
  const c = clientFor(m.peerUrls[0]!, host.cfg.peerTls) as grpc.Client & Record<string, Function>;
  return new Promise((resolve, reject) => {
    c[name](req, { deadline: Math.min(deadline, Date.now() + 2000) }, (err: grpc.ServiceError | null, res: Res) => {
      if (!err) resolve(res);
      else if (err.code === grpc.status.NOT_FOUND) reject(new LeaseNotFoundError());
      else reject(new NotPrimaryError());
    });
  });
}

/** Run `local` on the leader or `remote` toward it, retrying leader changes until the request timeout. */
async function onLeader<T>(host: LeaseHost, local: () => Promise<T> | T, remote: (leader: bigint, deadline: number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + host.requestTimeoutMs;
  for (;;) {
    const { leader, isLeader } = host.info();
    try {
      if (isLeader && host.lessor.isPrimary()) return await local();
      if (leader !== 0n && !isLeader) return await remote(leader, deadline);
    } catch (e) {
      if (!(e instanceof NotPrimaryError)) throw e;
    }
    if (Date.now() >= deadline) throw leader === 0n ? errors.noLeader() : errors.timeout();
    await sleep(50);
  }
}

/**
 * Renew lease `id` wherever the leader is (etcd EtcdServer.LeaseRenew). Resolves with the TTL in seconds.
 * @throws EtcdError "etcdserver: requested lease not found"; "etcdserver: no leader" / "request timed out".
 */
export async function renewLease(host: LeaseHost, id: LeaseId): Promise<number> {
  try {
    return await onLeader(
      host,
      () => renewLocal(host.lessor, id, host.requestTimeoutMs),
      (leader, deadline) => callPeer<RenewReq, RenewRes>(host, leader, 'Renew', { id: id.toString() }, deadline).then((r) => r.ttl),
    );
  } catch (e) {
    if (e instanceof LeaseNotFoundError) throw leaseErrors.notFound();
    throw e;
  }
}

/**
 * Time-to-live of lease `id` from the leader (etcd EtcdServer.LeaseTimeToLive).
 * @throws EtcdError "etcdserver: no leader" / "request timed out" when no leader answers in time.
 */
export async function leaseTimeToLive(host: LeaseHost, id: LeaseId, withKeys: boolean): Promise<TimeToLive> {
  return onLeader(
    host,
    () => timeToLiveLocal(host.lessor, id, withKeys),
    async (leader, deadline) => {
      const r = await callPeer<TtlReq, TtlRes>(host, leader, 'TimeToLive', { id: id.toString(), keys: withKeys }, deadline);
      return { ttl: r.ttl, grantedTtl: r.grantedTtl, keys: r.keys.map((k) => new Uint8Array(Buffer.from(k, 'base64'))) };
    },
  );
}

export { EtcdError };
