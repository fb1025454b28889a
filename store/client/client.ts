/**
 * StoreClient: a small etcd v3 API client over @grpc/grpc-js for the toolkit and quorumctl
 * (docs/CONTRACTS.md "store/client"). Works against quorumd and etcd alike.
 * uint64 IDs are bigint (never JS numbers: they exceed 2^53); revisions and indexes are numbers.
 * Every call has a deadline (opts.timeoutMs, default 5000 ms). Failures reject with StoreError.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdPackage, serviceClient } from '../proto/load.js';
import './quiet-ip-servername.js';

/** PEM file paths of the client's TLS material. */
export interface TlsFiles { ca: string; cert: string; key: string }

/** TLS material (PEM contents). cert/key may be omitted when the server does not require client certificates. */
export interface TlsBuffers { ca: Buffer; cert?: Buffer; key?: Buffer }

/** A failed call: gRPC status code and the server's message (etcd's strings, e.g. "etcdserver: request timed out"). */
export class StoreError extends Error {
  constructor(
    readonly endpoint: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
    this.name = 'StoreError';
  }
}

/** mvccpb.KeyValue with numbers/bigints. */
export interface KeyValue { key: Buffer; createRevision: number; modRevision: number; version: number; value: Buffer; lease: bigint }
/** etcdserverpb.ResponseHeader. */
export interface ResponseHeader { clusterId: bigint; memberId: bigint; revision: number; raftTerm: number }
/** Result of Maintenance.Status. */
export interface StatusResult {
  version: string; dbSize: number; leader: bigint; raftIndex: number; raftTerm: number; raftAppliedIndex: number;
  memberId: bigint; clusterId: bigint; revision: number; errors: string[]; dbSizeInUse: number; isLearner: boolean;
  header: ResponseHeader;
}
/** One member of Cluster.MemberList. */
export interface Member { id: bigint; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }
/** Options of a range read (etcd RangeRequest). */
export interface RangeOptions { rangeEnd?: Uint8Array; limit?: number; revision?: number; serializable?: boolean; keysOnly?: boolean; countOnly?: boolean }

type WireHeader = { cluster_id: string; member_id: string; revision: string; raft_term: string } | null;
type WireKv = { key: Buffer; create_revision: string; mod_revision: string; version: string; value: Buffer; lease: string };

const toBuf = (v: string | Uint8Array) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

/** Convert a wire ResponseHeader. */
export function headerFromWire(h: WireHeader): ResponseHeader {
  return {
    clusterId: BigInt(h?.cluster_id ?? '0'), memberId: BigInt(h?.member_id ?? '0'),
    revision: Number(h?.revision ?? 0), raftTerm: Number(h?.raft_term ?? 0),
  };
}

/** Convert a wire KeyValue. */
export function kvFromWire(k: WireKv): KeyValue {
  return {
    key: k.key, createRevision: Number(k.create_revision), modRevision: Number(k.mod_revision),
    version: Number(k.version), value: k.value, lease: BigInt(k.lease),
  };
}

/** Split "https://host:2379" into a gRPC target and whether TLS applies (bare host:port: TLS iff tls given). */
export function parseEndpoint(endpoint: string, haveTls: boolean): { target: string; secure: boolean } {
  const m = /^(https?|unixs?):\/\/(.*)$/.exec(endpoint);
  if (!m) return { target: endpoint, secure: haveTls };
  return { target: m[2].replace(/\/$/, ''), secure: m[1] === 'https' };
}

/** A client bound to one endpoint. */
export class StoreClient {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly target: string;
  private readonly creds: grpc.ChannelCredentials;
  private readonly timeoutMs: number;

  /**
   * @param endpoint "https://host:2379", "http://host:2379" or "host:2379"
   * @param tls PEM buffers (required for https:// endpoints whose CA is not in the system store)
   * @param opts timeoutMs: deadline of each call in ms (default 5000)
   */
  constructor(
    readonly endpoint: string,
    tls?: TlsBuffers,
    opts: { timeoutMs?: number; token?: string; insecureSkipVerify?: boolean } = {},
  ) {
    const e = parseEndpoint(endpoint, tls !== undefined);
    this.target = e.target;
    const verify = opts.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : undefined;
    this.creds = e.secure ? grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null, verify) : grpc.credentials.createInsecure();
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.token = opts.token;
  }

  /** Auth token sent as the "token" metadata on every call (etcd's Authenticate result); settable after construction. */
  token: string | undefined;

  /** Call metadata (the auth token when set). */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set('token', this.token);
    return md;
  }

  /** The raw grpc-js client of one etcdserverpb service ("KV", "Watch", "Lease", "Auth", ...), for streams. */
  rawClient(service: string): grpc.Client {
    let c = this.clients.get(service);
    if (!c) {
      const Ctor = serviceClient(etcdPackage(), service);
      c = new Ctor(this.target, this.creds, { 'grpc.max_receive_message_length': 2 ** 31 - 1 });
      this.clients.set(service, c);
    }
    return c;
  }

  /** One unary call with the wire (proto-loader) shapes; rejects with StoreError. */
  unary<T>(service: string, method: string, req: unknown): Promise<T> {
    return this.call<T>(service, method, req);
  }

  private call<T>(service: string, method: string, req: unknown): Promise<T> {
    const c = this.rawClient(service);
    const fn = (c as unknown as Record<string, Function>)[method].bind(c);
    return new Promise<T>((resolve, reject) => {
      fn(dropEmptyBytes(req), this.metadata(), { deadline: Date.now() + this.timeoutMs }, (err: grpc.ServiceError | null, res: T) => {
        if (err) reject(new StoreError(this.endpoint, err.code, err.details || err.message));
        else resolve(res);
      });
    });
  }

  /** Maintenance.Status of this endpoint. */
  async status(): Promise<StatusResult> {
    const r = await this.call<Record<string, any>>('Maintenance', 'Status', {});
    const header = headerFromWire(r.header);
    return {
      version: r.version, dbSize: Number(r.dbSize), leader: BigInt(r.leader), raftIndex: Number(r.raftIndex),
      raftTerm: Number(r.raftTerm), raftAppliedIndex: Number(r.raftAppliedIndex), memberId: header.memberId,
      clusterId: header.clusterId, revision: header.revision, errors: r.errors ?? [], dbSizeInUse: Number(r.dbSizeInUse),
      isLearner: !!r.isLearner, header,
    };
  }

  /** Cluster.MemberList. */
  async memberList(): Promise<Member[]> {
    return (await this.memberListFull()).members;
  }

  /** Cluster.MemberList with its response header. */
  async memberListFull(): Promise<{ header: ResponseHeader; members: Member[] }> {
    const r = await this.call<{ header: WireHeader; members: Record<string, any>[] }>('Cluster', 'MemberList', {});
    return {
      header: headerFromWire(r.header),
      members: r.members.map((m) => ({ id: BigInt(m.ID), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner })),
    };
  }

  /** KV.Put; resolves with the new store revision. */
  async put(key: string | Uint8Array, value: string | Uint8Array): Promise<{ revision: number }> {
    const r = await this.putFull(key, value);
    return { revision: r.header.revision };
  }

  /** KV.Put returning the header and (when prevKv) the previous KeyValue. */
  async putFull(key: string | Uint8Array, value: string | Uint8Array, opts: { prevKv?: boolean; lease?: bigint } = {}): Promise<{ header: ResponseHeader; prevKv?: KeyValue }> {
    const r = await this.call<{ header: WireHeader; prev_kv: WireKv | null }>('KV', 'Put', { key: toBuf(key), value: toBuf(value), prev_kv: !!opts.prevKv, lease: (opts.lease ?? 0n).toString() });
    return { header: headerFromWire(r.header), prevKv: r.prev_kv ? kvFromWire(r.prev_kv) : undefined };
  }

  /** The value of one key, or undefined. Linearizable unless opts.serializable. */
  async get(key: string | Uint8Array, opts: { serializable?: boolean } = {}): Promise<Uint8Array | undefined> {
    const r = await this.range(key, { serializable: opts.serializable });
    return r.kvs[0] ? new Uint8Array(r.kvs[0].value) : undefined;
  }

  /** KV.Range. */
  async range(key: string | Uint8Array, o: RangeOptions = {}): Promise<{ header: ResponseHeader; kvs: KeyValue[]; more: boolean; count: number }> {
    const r = await this.call<{ header: WireHeader; kvs: WireKv[]; more: boolean; count: string }>('KV', 'Range', {
      key: toBuf(key), range_end: o.rangeEnd ? Buffer.from(o.rangeEnd) : Buffer.alloc(0), limit: String(o.limit ?? 0),
      revision: String(o.revision ?? 0), serializable: !!o.serializable, keys_only: !!o.keysOnly, count_only: !!o.countOnly,
    });
    return { header: headerFromWire(r.header), kvs: r.kvs.map(kvFromWire), more: r.more, count: Number(r.count) };
  }

  /** KV.DeleteRange. */
  async deleteRange(key: string | Uint8Array, o: { rangeEnd?: Uint8Array; prevKv?: boolean } = {}): Promise<{ header: ResponseHeader; deleted: number; prevKvs: KeyValue[] }> {
    const r = await this.call<{ header: WireHeader; deleted: string; prev_kvs: WireKv[] }>('KV', 'DeleteRange', {
      key: toBuf(key), range_end: o.rangeEnd ? Buffer.from(o.rangeEnd) : Buffer.alloc(0), prev_kv: !!o.prevKv,
    });
    return { header: headerFromWire(r.header), deleted: Number(r.deleted), prevKvs: r.prev_kvs.map(kvFromWire) };
  }

  /** Maintenance.Alarm GET: the active alarms (memberId, alarm type number: 1 NOSPACE, 2 CORRUPT). */
  async alarmList(): Promise<{ memberId: bigint; alarm: number }[]> {
    const r = await this.call<{ alarms: { memberID: string; alarm: number }[] }>('Maintenance', 'Alarm', { action: 0, memberID: '0', alarm: 0 });
    return r.alarms.map((a) => ({ memberId: BigInt(a.memberID), alarm: a.alarm }));
  }

  /** Close the connections. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/**
 * A copy of a request without empty byte fields. protobufjs writes a present-but-empty bytes field, and etcd
 * (Go) reads that as a non-nil empty slice: an empty range_end then means "to the end of the key space"
 * instead of "this key only". Omitting them gives proto3's absent field.
 */
export function dropEmptyBytes<T>(v: T): T {
  if (Array.isArray(v)) return v.map(dropEmptyBytes) as T;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x instanceof Uint8Array && x.length === 0) continue;
    o[k] = dropEmptyBytes(x);
  }
  return o as T;
}

/** The range_end that selects every key with this prefix (etcd clientv3.GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return new Uint8Array(end.subarray(0, i + 1));
    }
  }
  return new Uint8Array([0]); // all keys
}
