/**
 * The lessor: leases with a TTL and the keys attached to them, with etcd 3.4's semantics (etcd lease/lessor.go,
 * https://etcd.io/docs/v3.4/learning/api/#lease-api).
 *
 * Two halves:
 * - Replicated state, changed only by applying Raft entries (identical on every member): `grant`, `revoke`,
 *   and key attachment, which follows the MVCC store's committed changes (`observe`, fed by
 *   MvccStore.onCommit): a put carrying lease L attaches the key to L and detaches it from its previous lease,
 *   a delete detaches it.
 * - Expiry, local to each member and outside Raft state: only the primary (the member that is Raft leader)
 *   keeps real deadlines. `promote(extendMs)` (on becoming leader) gives every lease a fresh deadline of
 *   now + TTL + extendMs, so no lease expires because of the leader change; `demote()` makes every deadline
 *   "forever" (followers never expire leases). The leader polls `expired()` and proposes revokes through Raft.
 *
 * Time is injected (`now()`, milliseconds) so tests can use a fake clock. IDs are int64 values held as bigint.
 */

/** A lease ID (int64). 0n means "no lease". */
export type LeaseId = bigint;
export const NO_LEASE: LeaseId = 0n;
/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;
/** After a lease was reported expired, wait this long before reporting it again (etcd expiredLeaseRetryInterval). */
export const EXPIRED_RETRY_MS = 3000;

/** The lease does not exist (etcd lease.ErrLeaseNotFound). */
export class LeaseNotFoundError extends Error {
  constructor() {
    super('lease not found');
    this.name = 'LeaseNotFoundError';
  }
}
/** A grant asked for an ID that is in use (etcd lease.ErrLeaseExists). */
export class LeaseExistsError extends Error {
  constructor() {
    super('lease already exists');
    this.name = 'LeaseExistsError';
  }
}
/** A renew or time-to-live was asked of a member that is not the primary (etcd lease.ErrNotPrimary). */
export class NotPrimaryError extends Error {
  constructor() {
    super('not a primary lessor');
    this.name = 'NotPrimaryError';
  }
}

/** One lease as the API reports it. `remainingMs` is Infinity on a non-primary member. */
export interface LeaseInfo {
  id: LeaseId;
  /** Granted TTL in seconds (after raising to the minimum TTL). */
  ttl: number;
  remainingMs: number;
  keys: Uint8Array[];
}

/** A committed MVCC change, as MvccStore.onCommit reports it (only the fields the lessor reads). */
export interface ObservedEvent {
  type: 'put' | 'delete';
  kv: { key: Uint8Array; lease: bigint };
  prevKv?: { key: Uint8Array; lease: bigint };
}

interface Lease {
  id: LeaseId;
  ttl: number;
  /** Deadline in ms (now() clock); Infinity = never (non-primary). */
  expiry: number;
  /** Not reported by expired() before this time (a revoke was already proposed). */
  retryAt: number;
  keys: Map<string, Uint8Array>;
}

export interface LessorOptions {
  /** Minimum TTL in seconds: shorter grants are raised to it (see minLeaseTtl). */
  minTtl: number;
  /** Clock in milliseconds; Date.now by default. */
  now?: () => number;
}

/**
 * etcd's minimum lease TTL: ceil(((3 * electionTicks) / 2) * heartbeat) in seconds, with electionTicks =
 * election-timeout / heartbeat-interval (integer divisions as in Go). Defaults (100 ms, 1000 ms) give 2 s.
 */
export function minLeaseTtl(heartbeatMs: number, electionTimeoutMs: number): number {
  const electionTicks = Math.floor(electionTimeoutMs / heartbeatMs);
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}

const INT63_MASK = (1n << 63n) - 1n;
const ID_MULTIPLIER = 0x5851f42d4c957f2dn; // odd: multiplication by it is a bijection modulo 2^63

/**
 * The server-chosen ID for a grant applied at Raft index `index`: a bijection of the index modulo 2^63, so
 * every member derives the same ID and two entries never derive the same one; positive and non-zero.
 */
export function deriveLeaseId(index: number): LeaseId {
  return (BigInt(index) * ID_MULTIPLIER) & INT63_MASK;
}

const keyId = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

export class Lessor {
  private readonly leases = new Map<LeaseId, Lease>();
  private primary = false;
  private readonly now: () => number;
  private readonly minTtl: number;
  private goneWaiters = new Map<LeaseId, (() => void)[]>();

  constructor(opts: LessorOptions) {
    this.minTtl = opts.minTtl;
    this.now = opts.now ?? Date.now;
  }

  /** True while this member is the primary lessor (Raft leader). */
  isPrimary(): boolean {
    return this.primary;
  }

  /** Whether lease `id` exists. */
  has(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  /** The granted TTL (s) of `id`, or undefined when it does not exist. */
  ttlOf(id: LeaseId): number | undefined {
    return this.leases.get(id)?.ttl;
  }

  /**
   * Apply a grant. `id` 0n: the ID is derived from `index` (deriveLeaseId), moving to the next value while it is
   * taken. TTLs below the minimum are raised to it. On the primary the lease expires after its TTL; elsewhere
   * it never expires. Returns the lease's ID and TTL.
   * @throws LeaseExistsError when a non-zero `id` is taken.
   */
  grant(id: LeaseId, ttl: number, index: number): { id: LeaseId; ttl: number } {
    if (id === NO_LEASE) {
      let n = index;
      id = deriveLeaseId(n);
      while (this.leases.has(id)) id = deriveLeaseId(++n);
    } else if (this.leases.has(id)) {
      throw new LeaseExistsError();
    }
    const t = Math.max(ttl, this.minTtl);
    const now = this.now();
    this.leases.set(id, { id, ttl: t, expiry: this.primary ? now + t * 1000 : Infinity, retryAt: 0, keys: new Map() });
    return { id, ttl: t };
  }

  /**
   * Apply a revoke: calls `deleteKeys` with the attached keys in byte order (the caller deletes them in ONE
   * MVCC transaction, so watchers see the DELETE events at one revision), then forgets the lease.
   * @throws LeaseNotFoundError when `id` does not exist.
   */
  revoke(id: LeaseId, deleteKeys: (keys: Uint8Array[]) => void): void {
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    const keys = [...l.keys.values()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    if (keys.length > 0) deleteKeys(keys);
    this.leases.delete(id);
    this.wakeGone(id);
  }

  /**
   * Follow committed MVCC changes (the listener of MvccStore.onCommit): attach a put key to its lease (if that
   * lease exists), detach it from its previous lease; detach deleted keys.
   */
  observe(events: readonly ObservedEvent[]): void {
    for (const ev of events) {
      const prevLease = ev.prevKv?.lease ?? NO_LEASE;
      const lease = ev.type === 'put' ? ev.kv.lease : NO_LEASE;
      if (prevLease === lease) continue;
      const k = keyId(ev.kv.key);
      if (prevLease !== NO_LEASE) this.leases.get(prevLease)?.keys.delete(k);
      if (lease !== NO_LEASE) this.leases.get(lease)?.keys.set(k, ev.kv.key);
    }
  }

  /** Become the primary: every lease gets the deadline now + TTL + `extendMs` (etcd Promote). */
  promote(extendMs: number): void {
    this.primary = true;
    const now = this.now();
    for (const l of this.leases.values()) {
      l.expiry = now + extendMs + l.ttl * 1000;
      l.retryAt = 0;
    }
  }

  /** Stop being the primary: no lease expires here; waiters for expired leases are released (etcd Demote). */
  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiry = Infinity;
    for (const id of [...this.goneWaiters.keys()]) this.wakeGone(id);
  }

  /**
   * Renew `id` on the primary: its deadline becomes now + TTL. Returns the TTL in seconds, or 'expired' when
   * its deadline has passed (a revoke is pending: the caller waits with `whenGone` and reports it not found).
   * @throws NotPrimaryError on a non-primary member; LeaseNotFoundError when `id` does not exist.
   */
  renew(id: LeaseId): number | 'expired' {
    if (!this.primary) throw new NotPrimaryError();
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    if (l.expiry <= this.now()) return 'expired';
    l.expiry = this.now() + l.ttl * 1000;
    return l.ttl;
  }

  /** Resolves when `id` is revoked, or when this member is demoted (then it may still exist). */
  whenGone(id: LeaseId): Promise<void> {
    if (!this.leases.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.goneWaiters.get(id) ?? [];
      list.push(resolve);
      this.goneWaiters.set(id, list);
    });
  }

  private wakeGone(id: LeaseId): void {
    const list = this.goneWaiters.get(id);
    if (!list) return;
    this.goneWaiters.delete(id);
    for (const fn of list) fn();
  }

  /**
   * `id`'s granted TTL, remaining time and attached keys (byte order), or undefined when it does not exist.
   * `remainingMs` is Infinity on a non-primary member (etcd answers time-to-live on the leader).
   */
  lookup(id: LeaseId): LeaseInfo | undefined {
    const l = this.leases.get(id);
    if (!l) return undefined;
    const keys = [...l.keys.values()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return { id, ttl: l.ttl, remainingMs: l.expiry === Infinity ? Infinity : l.expiry - this.now(), keys };
  }

  /** Every lease ID, by deadline then ID (etcd Leases sorts by expiry). */
  list(): LeaseId[] {
    return [...this.leases.values()]
      .sort((a, b) => (a.expiry === b.expiry ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.expiry < b.expiry ? -1 : 1))
      .map((l) => l.id);
  }

  /**
   * On the primary: the leases whose deadline has passed and that were not reported in the last
   * EXPIRED_RETRY_MS (the caller proposes a revoke for each). Empty on other members.
   */
  expired(): LeaseId[] {
    if (!this.primary) return [];
    const now = this.now();
    const out: LeaseId[] = [];
    for (const l of this.leases.values()) {
      if (l.expiry <= now && l.retryAt <= now) {
        l.retryAt = now + EXPIRED_RETRY_MS;
        out.push(l.id);
      }
    }
    return out;
  }

  /** Number of leases. */
  size(): number {
    return this.leases.size;
  }
}
