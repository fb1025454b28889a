/**
 * A member's maintenance state, beside the node loop: the replicated alarms (alarm_store.ts), the space quota
 * (quota.ts), the backend size model and the hashes. The node loop calls in at three points:
 * - `checkPropose(body)` before proposing a client write (etcd's quota check in v3rpc quotaKVServer /
 *   quotaLeaseServer): over quota -> raise NOSPACE through Raft and refuse with "database space exceeded";
 * - `beforeApply(body)` / `afterApply(gate)` around applying each committed request (etcd's applierV3Capped
 *   while NOSPACE is active, and quotaApplierV3 on apply);
 * - `applyAlarm(op)` for committed Alarm requests (etcd applierV3backend.Alarm).
 *
 * Size model (the MVCC is in memory): `dbSizeInUse()` is what the stored versions occupy (MvccStore.sizeBytes,
 * which drops when compaction removes history); `dbSize()` is the size a backend file would have: the
 * high-water mark of the in-use size since the last Defragment (a B+tree file does not shrink on compaction,
 * freed pages are only reused), which Defragment brings down to the in-use size.
 */
import type { MvccStore } from '../mvcc/kvstore.js';
import { crc32c } from '../wal/crc32c.js';
import { AlarmAction, AlarmStore, AlarmType, type AlarmMember } from './alarm_store.js';
import { errors, type EtcdError } from './errors.js';
import { classify, Quota } from './quota.js';

/** An Alarm request inside a Raft entry (etcd AlarmRequest). */
export interface AlarmOp { op: 'alarm'; action: number; memberId: bigint; alarm: number }

/** What MaintenanceState needs from the node. */
export interface MaintenanceHost {
  readonly memberId: bigint;
  readonly mvcc: MvccStore;
  propose(body: AlarmOp): Promise<unknown>;
}

/** Result of `beforeApply`: refuse the request (capped), or apply it and call `afterApply`. */
export interface ApplyGate {
  reject?: EtcdError;
  overQuota: boolean;
}

const TWO32 = 0x1_0000_0000;

/** 8 bytes big-endian. */
function be64(buf: Uint8Array, o: number, n: number): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setUint32(o, Math.floor(n / TWO32));
  v.setUint32(o + 4, n % TWO32);
}

function varint(out: number[], n: number | bigint): void {
  let v = BigInt.asUintN(64, BigInt(n));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * An MVCC key-value encoded as etcd stores it in its "key" bucket (mvccpb.KeyValue protobuf, zero fields
 * omitted; a tombstone holds only the key). Deterministic, so hashes over it agree across members.
 */
export function encodeStoredKv(kv: { key: Uint8Array; createRevision: number; modRevision: number; version: number; value: Uint8Array; lease: bigint }, tombstone: boolean): Uint8Array {
  const out: number[] = [];
  const bytes = (tag: number, b: Uint8Array) => {
    if (b.length === 0) return;
    out.push(tag);
    varint(out, b.length);
    for (const x of b) out.push(x);
  };
  const num = (tag: number, n: number | bigint) => {
    if (n === 0 || n === 0n) return;
    out.push(tag);
    varint(out, n);
  };
  bytes(0x0a, kv.key);
  if (!tombstone) {
    num(0x10, kv.createRevision);
    num(0x18, kv.modRevision);
    num(0x20, kv.version);
    bytes(0x2a, kv.value);
    num(0x30, kv.lease);
  }
  return Uint8Array.from(out);
}

/** A revision as etcd's bucket key: main (8 B BE) '_' sub (8 B BE), plus 't' for a tombstone. */
export function revisionBytes(main: number, sub: number, tombstone: boolean): Uint8Array {
  const b = new Uint8Array(tombstone ? 18 : 17);
  be64(b, 0, main);
  b[8] = 0x5f;
  be64(b, 9, sub);
  if (tombstone) b[17] = 0x74;
  return b;
}

const KEY_BUCKET = new TextEncoder().encode('key');

/** Per-member maintenance state; one per QuorumNode. */
export class MaintenanceState {
  readonly alarms = new AlarmStore();
  readonly quota: Quota;
  private highWater = 0;
  private live = false;
  private raising = false;

  constructor(
    private readonly host: MaintenanceHost,
    quotaBackendBytes: number,
  ) {
    this.quota = new Quota(quotaBackendBytes);
  }

  /** Called once the WAL has been replayed: from now on apply-time quota failures raise the alarm. */
  started(): void {
    this.live = true;
    this.track();
  }

  /** Bytes the stored versions occupy (Status.dbSizeInUse). */
  dbSizeInUse(): number {
    return this.host.mvcc.sizeBytes();
  }

  /** Bytes the backend occupies, history included, until the next Defragment (Status.dbSize). */
  dbSize(): number {
    return Math.max(this.highWater, this.dbSizeInUse());
  }

  private track(): void {
    this.highWater = this.dbSize();
  }

  /** Defragment this member's backend: its size drops to the in-use size (etcd Defragment, per member). */
  defragment(): void {
    this.highWater = this.dbSizeInUse();
  }

  /** Propose NOSPACE for this member (once at a time; failures are retried by the next over-quota write). */
  private raiseNoSpace(): void {
    if (this.raising || this.alarms.get(AlarmType.NOSPACE).some((a) => a.memberId === this.host.memberId)) return;
    this.raising = true;
    this.host
      .propose({ op: 'alarm', action: AlarmAction.ACTIVATE, memberId: this.host.memberId, alarm: AlarmType.NOSPACE })
      .catch(() => undefined)
      .finally(() => {
        this.raising = false;
      });
  }

  /**
   * Before proposing `body`: undefined when it may go ahead, else the error to answer (etcd's
   * "etcdserver: mvcc: database space exceeded", RESOURCE_EXHAUSTED) after raising NOSPACE.
   */
  checkPropose(body: { op: string }): EtcdError | undefined {
    if (this.quota.available(body, this.dbSize())) return undefined;
    if (this.live) this.raiseNoSpace();
    return errors.noSpace();
  }

  /**
   * Before applying a committed `body`: while NOSPACE is active, Put, LeaseGrant and Txns that write are
   * refused (not applied); deletes, reads and everything else go ahead.
   */
  beforeApply(body: { op: string }): ApplyGate {
    this.track();
    const c = classify(body);
    if (c.charged && c.writes && this.alarms.has(AlarmType.NOSPACE)) return { reject: errors.noSpace(), overQuota: false };
    return { overQuota: c.charged && !this.quota.available(body, this.dbSize()) };
  }

  /**
   * After applying a request that `beforeApply` let through: the error its proposer gets instead of the
   * result (the write stays applied, as in etcd), raising NOSPACE when it was over quota.
   */
  afterApply(gate: ApplyGate): EtcdError | undefined {
    this.track();
    if (!gate.overQuota) return undefined;
    if (this.live) this.raiseNoSpace();
    return errors.noSpace();
  }

  /** Apply a committed Alarm request; returns the response's alarms (etcd applierV3backend.Alarm). */
  applyAlarm(op: AlarmOp): AlarmMember[] {
    switch (op.action) {
      case AlarmAction.ACTIVATE: {
        const m = this.alarms.activate(op.memberId, op.alarm);
        return m ? [{ ...m }] : [];
      }
      case AlarmAction.DEACTIVATE: {
        const m = this.alarms.deactivate(op.memberId, op.alarm);
        return m ? [{ ...m }] : [];
      }
      default:
        return this.alarms.get(op.alarm).map((a) => ({ ...a }));
    }
  }

  /** Hash of the whole backend (Maintenance.Hash): CRC-32C over every stored version and the alarms. */
  hash(): number {
    let h = crc32c(KEY_BUCKET);
    for (const rec of this.host.mvcc.exportState().records) {
      h = crc32c(revisionBytes(rec.rev.main, rec.rev.sub, rec.tombstone), h);
      h = crc32c(encodeStoredKv(rec.kv, rec.tombstone), h);
    }
    for (const a of this.alarms.get()) {
      const b = new Uint8Array(12);
      new DataView(b.buffer).setBigUint64(0, a.memberId);
      new DataView(b.buffer).setUint32(8, a.alarm);
      h = crc32c(b, h);
    }
    return h >>> 0;
  }

  /**
   * HashKV (etcd mvcc store.HashByRev): CRC-32C (Castagnoli) over "key" and then, in revision order, each
   * stored version at or below `rev` as etcd stores it (revision bytes, then the KeyValue protobuf); of the
   * versions at or below the compacted revision only those still needed to read at `rev` count.
   * `rev` 0 = the current revision. Equal on every member at the same revision.
   * @returns the hash, the store's current revision and its compacted revision (-1 when never compacted).
   * @throws EtcdError "mvcc: required revision has been compacted" when 0 < rev <= compacted revision;
   *         "mvcc: required revision is a future revision" when rev > current revision.
   */
  hashKV(rev: number): { hash: number; revision: number; compactRevision: number } {
    const mvcc = this.host.mvcc;
    const current = mvcc.rev();
    const compact = mvcc.compactRevision();
    if (rev > 0 && compact > 0 && rev <= compact) throw errors.compacted();
    if (rev > current) throw errors.futureRev();
    const at = rev > 0 ? rev : current;
    const records = [...mvcc.exportState().records].filter((r) => r.rev.main <= at);
    // the latest version of each key at or below `at`: versions at or below the compacted revision count only when latest and live
    const latest = new Map<string, string>();
    for (const r of records) latest.set(Buffer.from(r.kv.key).toString('latin1'), `${r.rev.main}_${r.rev.sub}`);
    let h = crc32c(KEY_BUCKET);
    for (const r of records) {
      if (compact > 0 && r.rev.main <= compact) {
        if (r.tombstone || latest.get(Buffer.from(r.kv.key).toString('latin1')) !== `${r.rev.main}_${r.rev.sub}`) continue;
      }
      h = crc32c(revisionBytes(r.rev.main, r.rev.sub, r.tombstone), h);
      h = crc32c(encodeStoredKv(r.kv, r.tombstone), h);
    }
    return { hash: h >>> 0, revision: current, compactRevision: compact > 0 ? compact : -1 };
  }
}
