/**
 * Client-side distributed lock and leader election on the plain KV, Lease and Watch RPCs, with the same key
 * layout and ordering as etcd's clientv3/concurrency package (which etcdctl 3.4's `lock` and `elect` use), so
 * quorumctl and etcdctl contend correctly on one cluster:
 *  - a Session is a lease (TTL in seconds) kept alive over a LeaseKeepAlive stream every TTL/3;
 *  - a Mutex / Election on prefix P writes key "P/<lease id in lower-case hex>" (create_revision 0 compare
 *    in a Txn, attached to the session lease); the owner is the key with the lowest create_revision under
 *    "P/"; a waiter watches the deletion of the key just before its own (highest create_revision below its
 *    own), one at a time, until none is left.
 * Throws StoreError from the RPCs; `Session.done` resolves when the lease is lost (keep-alive TTL <= 0 or
 * stream error).
 */
import type * as grpc from '@grpc/grpc-js';
import { StoreError, dropEmptyBytes, headerFromWire, kvFromWire, prefixRangeEnd, type KeyValue, type ResponseHeader, type StoreClient } from '../client/client.js';

type WireHeader = Parameters<typeof headerFromWire>[0];
type WireKv = Parameters<typeof kvFromWire>[0];
interface WireRange { header: WireHeader; kvs: WireKv[]; count: string; more: boolean }
interface WireTxn { header: WireHeader; succeeded: boolean; responses: { response_range?: WireRange; response_put?: unknown }[] }

const SORT_CREATE = 2;
const ASCEND = 1;
const DESCEND = 2;

/** A lease kept alive until closed. */
export class Session {
  private stream: grpc.ClientDuplexStream<unknown, { ID: string; TTL: string }> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Resolves when the lease is lost or the session is closed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  private constructor(readonly client: StoreClient, readonly lease: bigint, readonly ttl: number) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Grant a lease of `ttl` seconds (etcdctl's default for lock is 10, for elect 60) and keep it alive. */
  static async create(client: StoreClient, ttl: number): Promise<Session> {
    const r = await client.unary<{ ID: string; TTL: string; error: string }>('Lease', 'LeaseGrant', { TTL: String(ttl), ID: '0' });
    if (r.error) throw new StoreError(client.endpoint, 2, r.error);
    const s = new Session(client, BigInt(r.ID), Number(r.TTL));
    s.keepAlive();
    return s;
  }

  private keepAlive(): void {
    const lease = this.client.rawClient('Lease') as unknown as { LeaseKeepAlive(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { ID: string; TTL: string }> };
    const st = lease.LeaseKeepAlive(this.client.metadata());
    this.stream = st;
    st.on('data', (r) => {
      if (Number(r.TTL) <= 0) this.lost();
    });
    st.on('error', () => this.lost());
    st.on('end', () => this.lost());
    const send = () => {
      if (!this.closed) st.write({ ID: this.lease.toString() });
    };
    send();
    this.timer = setInterval(send, Math.max(500, (this.ttl * 1000) / 3));
  }

  private lost(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.resolveDone();
  }

  /** Stop the keep-alives and revoke the lease (errors ignored: the lease then expires by itself). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stream?.cancel();
    try {
      await this.client.unary('Lease', 'LeaseRevoke', { ID: this.lease.toString() });
    } catch {
      /* expired or unreachable */
    }
    this.resolveDone();
  }
}

/** Range request fields for "the first (or last) created key under prefix". */
function topOf(prefix: Buffer, order: number, maxCreateRev = 0): Record<string, unknown> {
  return {
    key: prefix, range_end: Buffer.from(prefixRangeEnd(prefix)), limit: '1', sort_order: order, sort_target: SORT_CREATE,
    max_create_revision: String(maxCreateRev),
  };
}

/** Wait until a DELETE event for `key` at or after revision `rev`. */
export function waitDelete(client: StoreClient, key: Buffer, rev: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = client.rawClient('Watch') as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { canceled: boolean; cancel_reason: string; events: { type: number }[] }> };
    const st = w.Watch(client.metadata());
    let finished = false;
    const finish = (e?: Error) => {
      if (finished) return;
      finished = true;
      st.cancel();
      if (e) reject(e);
      else resolve();
    };
    st.on('data', (r) => {
      if (r.canceled) finish(new StoreError(client.endpoint, 1, r.cancel_reason || 'watch canceled'));
      else if (r.events.some((e: { type: number }) => e.type === 1)) finish();
    });
    st.on('error', (e: grpc.ServiceError) => {
      if (!finished) finish(new StoreError(client.endpoint, e.code, e.details || e.message));
    });
    st.write(dropEmptyBytes({ create_request: { key, range_end: Buffer.alloc(0), start_revision: String(rev), filters: [0] } }));
  });
}

/** Wait until no key under `prefix` has create_revision <= maxCreateRev (concurrency.waitDeletes). */
export async function waitDeletes(client: StoreClient, prefix: Buffer, maxCreateRev: number): Promise<ResponseHeader> {
  for (;;) {
    const r = await client.unary<WireRange>('KV', 'Range', topOf(prefix, DESCEND, maxCreateRev));
    if (r.kvs.length === 0) return headerFromWire(r.header);
    await waitDelete(client, r.kvs[0].key, Number(headerFromWire(r.header).revision));
  }
}

/** The key a session owns under prefix P: "P/<lease hex>" (P already ends with "/"). */
export function sessionKey(pfx: string, lease: bigint): Buffer {
  return Buffer.from(pfx + lease.toString(16), 'utf8');
}

/** A distributed mutex (concurrency.Mutex): lock name `name` means keys under "name/". */
export class Mutex {
  readonly pfx: string;
  key: Buffer = Buffer.alloc(0);
  rev = 0;

  constructor(private readonly s: Session, name: string) {
    this.pfx = name + '/';
  }

  /** Acquire the lock, waiting for earlier holders. */
  async lock(): Promise<void> {
    const c = this.s.client;
    this.key = sessionKey(this.pfx, this.s.lease);
    const pfx = Buffer.from(this.pfx, 'utf8');
    const getOwner = { request_range: topOf(pfx, ASCEND) };
    const r = await c.unary<WireTxn>('KV', 'Txn', {
      compare: [{ result: 0, target: 1, key: this.key, create_revision: '0' }],
      success: [{ request_put: { key: this.key, value: Buffer.alloc(0), lease: this.s.lease.toString() } }, getOwner],
      failure: [{ request_range: { key: this.key } }, getOwner],
    });
    this.rev = headerFromWire(r.header).revision;
    if (!r.succeeded) this.rev = Number(r.responses[0].response_range!.kvs[0].create_revision);
    const owner = r.responses[1].response_range!.kvs;
    if (owner.length === 0 || Number(owner[0].create_revision) === this.rev) return;
    try {
      await waitDeletes(c, pfx, this.rev - 1);
    } catch (e) {
      await this.unlock();
      throw e;
    }
  }

  /** Release the lock (delete our key). */
  async unlock(): Promise<void> {
    await this.s.client.unary('KV', 'DeleteRange', { key: this.key });
  }
}

/** A leader election (concurrency.Election) on keys under "name/". */
export class Election {
  readonly pfx: string;
  key: Buffer = Buffer.alloc(0);
  rev = 0;

  constructor(private readonly s: Session, name: string) {
    this.pfx = name + '/';
  }

  /** Campaign with `value`; resolves once elected. */
  async campaign(value: string): Promise<void> {
    const c = this.s.client;
    const k = sessionKey(this.pfx, this.s.lease);
    const r = await c.unary<WireTxn>('KV', 'Txn', {
      compare: [{ result: 0, target: 1, key: k, create_revision: '0' }],
      success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8'), lease: this.s.lease.toString() } }],
      failure: [{ request_range: { key: k } }],
    });
    this.key = k;
    this.rev = headerFromWire(r.header).revision;
    if (!r.succeeded) {
      const kv = r.responses[0].response_range!.kvs[0];
      this.rev = Number(kv.create_revision);
      if (!kv.value.equals(Buffer.from(value, 'utf8'))) {
        await c.unary('KV', 'Txn', {
          compare: [{ result: 0, target: 1, key: k, create_revision: String(this.rev) }],
          success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8'), lease: this.s.lease.toString() } }],
          failure: [],
        });
      }
    }
    try {
      await waitDeletes(c, Buffer.from(this.pfx, 'utf8'), this.rev - 1);
    } catch (e) {
      await this.resign();
      throw e;
    }
  }

  /** Give up leadership (delete our key if it is still ours). */
  async resign(): Promise<void> {
    if (this.key.length === 0) return;
    await this.s.client.unary('KV', 'Txn', {
      compare: [{ result: 0, target: 1, key: this.key, create_revision: String(this.rev) }],
      success: [{ request_delete_range: { key: this.key } }],
      failure: [],
    });
    this.key = Buffer.alloc(0);
  }
}

/**
 * Observe an election (concurrency.Election.Observe): calls `onLeader` with each leader value change (the
 * current leader first, then its updates; after its deletion, the next leader). Runs until `signal` aborts
 * (resolves) or an RPC fails (rejects).
 */
export async function observe(client: StoreClient, name: string, onLeader: (header: ResponseHeader, kv: KeyValue) => void, signal: AbortSignal): Promise<void> {
  const pfx = Buffer.from(name + '/', 'utf8');
  const watch = (key: Buffer, rangeEnd: Buffer, rev: number, onEvents: (h: ResponseHeader, evs: { type: number; kv: WireKv }[]) => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = client.rawClient('Watch') as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { header: WireHeader; canceled: boolean; cancel_reason: string; events: { type: number; kv: WireKv }[] }> };
      const st = w.Watch(client.metadata());
      let finished = false;
      const finish = (e?: Error) => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        st.cancel();
        if (e) reject(e);
        else resolve();
      };
      const onAbort = () => finish();
      st.on('error', (e: grpc.ServiceError) => {
        if (!finished) finish(new StoreError(client.endpoint, e.code, e.details || e.message));
      });
      if (signal.aborted) {
        finish();
        return;
      }
      signal.addEventListener('abort', onAbort);
      st.on('data', (r) => {
        if (r.canceled) finish(new StoreError(client.endpoint, 1, r.cancel_reason || 'watch canceled'));
        else if (r.events.length > 0 && onEvents(headerFromWire(r.header), r.events)) finish();
      });
      st.write(dropEmptyBytes({ create_request: { key, range_end: rangeEnd, start_revision: String(rev) } }));
    });
  while (!signal.aborted) {
    const r = await client.unary<WireRange>('KV', 'Range', topOf(pfx, ASCEND));
    let header = headerFromWire(r.header);
    let kv: KeyValue | undefined = r.kvs[0] ? kvFromWire(r.kvs[0]) : undefined;
    if (!kv) {
      await watch(pfx, Buffer.from(prefixRangeEnd(pfx)), header.revision, (h, evs) => {
        const put = evs.find((e) => e.type === 0);
        if (!put) return false;
        kv = kvFromWire(put.kv);
        header = { ...h, revision: kv.modRevision };
        return true;
      });
      if (signal.aborted || !kv) return;
    }
    const leader: KeyValue = kv;
    onLeader(header, leader);
    await watch(leader.key, Buffer.alloc(0), header.revision + 1, (h, evs) => {
      for (const e of evs) {
        if (e.type === 1) return true;
        onLeader(h, kvFromWire(e.kv));
      }
      return false;
    });
  }
}
