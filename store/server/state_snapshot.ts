/**
 * The applied state of a member as the data of a Raft snapshot (Raft paper §7; etcd's snapshot carries its
 * whole backend: keys, leases, auth, membership, alarms). Taken by the node loop every `snapshot-count`
 * applied entries (snapshot_policy.ts), written by store/snap, sent to a lagging follower in MsgSnap, and
 * loaded on restart before the WAL tail is replayed.
 *
 * Format (ours), little endian:
 *
 *   "QST1" u32 | jsonLen u32 | JSON (StateSnapshotMeta, UTF-8) | mvcc (store/mvcc/snapshot.ts, rest of the bytes)
 *
 * Data that starts with the MVCC image's own magic ("QMV1": written by `snapshot restore` and by older
 * members) is read as an MVCC image alone, with no leases, auth or membership.
 */
import type { AuthStore, AuthState } from '../auth/store.js';
import type { Lessor } from '../lease/lessor.js';
import { MvccStore, type MvccState, type MvccStateInput } from '../mvcc/kvstore.js';
import { decodeMvccState, decodeMvccStream, encodeMvccSnapshot } from '../mvcc/snapshot.js';
import type { AlarmStore } from './alarm_store.js';
import type { MemberInfo } from './members.js';

const MAGIC = 0x3154_5351; // "QST1" read as u32 LE
const MVCC_MAGIC = 0x3156_4d51; // "QMV1"

/** A state snapshot that cannot be decoded (bad magic, truncated, bad JSON). */
export class StateSnapshotError extends Error {
  override readonly name = 'StateSnapshotError';
}

/** The non-MVCC part, as JSON (IDs as decimal strings). */
export interface StateSnapshotMeta {
  version: 1;
  /** Leases: ID and granted TTL (s). Attached keys are derived from the MVCC image (each live key's lease). */
  leases: { id: string; ttl: number }[];
  auth: AuthState;
  /** entryVersion: what the member published it decodes (entry_codec_gate.ts); absent in older snapshots = 1. */
  members: { id: string; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean; entryVersion?: number }[];
  /** IDs removed from the cluster (never accepted again). */
  removed: string[];
  alarms: { memberId: string; alarm: number }[];
}

/** What a state snapshot is taken from and restored into (the node's replicated state machines). */
export interface StateHost {
  mvcc: MvccStore;
  lessor: Lessor;
  auth: AuthStore;
  /** The live member list (mutated in place on restore). */
  members: MemberInfo[];
  removed: Set<bigint>;
  alarms: AlarmStore;
}

/** Encodes the whole applied state of `h` (O(stored versions) bytes). */
export function encodeStateSnapshot(h: StateHost): Uint8Array {
  const meta: StateSnapshotMeta = {
    version: 1,
    leases: h.lessor.list().map((id) => ({ id: id.toString(), ttl: h.lessor.ttlOf(id) ?? 0 })),
    auth: h.auth.exportState(),
    members: h.members.map((m) => ({
      id: m.id.toString(), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: !!m.isLearner,
      ...(m.entryVersion !== undefined ? { entryVersion: m.entryVersion } : {}),
    })),
    removed: [...h.removed].map(String),
    alarms: h.alarms.get().map((a) => ({ memberId: a.memberId.toString(), alarm: a.alarm })),
  };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const out = encodeMvccSnapshot(h.mvcc, 8 + json.length); // the image is written after room for the header: no copy of it
  writeStateHeader(out, json);
  return out;
}

/** Writes the "QST1" header and the metadata JSON into the first 8 + json.length bytes of `out`. */
function writeStateHeader(out: Uint8Array, json: Uint8Array): void {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, json.length, true);
  out.set(json, 8);
}

/**
 * The state snapshot bytes of `meta` and an encoded MVCC image (store/mvcc/snapshot.ts), for writers that do not
 * hold a live StateHost (`snapshot restore` building a restored member's state: store/snap/restore.ts).
 */
export function encodeStateImage(meta: StateSnapshotMeta, mvcc: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const out = new Uint8Array(8 + json.length + mvcc.length);
  writeStateHeader(out, json);
  out.set(mvcc, 8 + json.length);
  return out;
}

/** A decoded state snapshot: the MVCC store rebuilt, plus the rest (undefined for a bare MVCC image). */
export interface DecodedState {
  mvcc: MvccStore;
  meta?: StateSnapshotMeta;
}

/**
 * Decodes `encodeStateSnapshot` bytes, or a bare MVCC image.
 * @throws StateSnapshotError on a bad magic, truncation or bad JSON; MvccSnapshotError on a damaged MVCC image.
 */
export function decodeStateSnapshot(data: Uint8Array): DecodedState {
  const d = decodeStateSnapshotRecords(data);
  return { mvcc: MvccStore.restore(d.mvcc as MvccState), ...(d.meta ? { meta: d.meta } : {}) };
}

/** decodeStateSnapshot without building the store: the MVCC state's records are views into `data`. */
function decodeStateSnapshotRecords(data: Uint8Array, lazy = false, crcChecked = false): { mvcc: MvccStateInput; meta?: StateSnapshotMeta } {
  if (data.length < 8) throw new StateSnapshotError(`state snapshot: ${data.length} bytes is too short`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = v.getUint32(0, true);
  if (magic === MVCC_MAGIC) return { mvcc: lazy ? decodeMvccStream(data, crcChecked) : decodeMvccState(data) };
  if (magic !== MAGIC) throw new StateSnapshotError(`state snapshot: bad magic 0x${magic.toString(16)}`);
  const len = v.getUint32(4, true);
  if (8 + len > data.length) throw new StateSnapshotError('state snapshot: truncated metadata');
  let meta: StateSnapshotMeta;
  try {
    meta = JSON.parse(Buffer.from(data.subarray(8, 8 + len)).toString('utf8')) as StateSnapshotMeta;
  } catch (e) {
    throw new StateSnapshotError(`state snapshot: metadata is not JSON: ${(e as Error).message}`);
  }
  if (meta.version !== 1) throw new StateSnapshotError(`state snapshot: unknown version ${String(meta.version)}`);
  return { mvcc: lazy ? decodeMvccStream(data.subarray(8 + len), crcChecked) : decodeMvccState(data.subarray(8 + len)), meta };
}

/** What restoreStateSnapshot changed, for the log line and the transport. */
export interface RestoreOutcome {
  /** MVCC revisions replayed to watchers (-1: the gap was compacted in the snapshot). */
  replayedRevisions: number;
  /** Members added / removed / whose peer URLs changed, compared with before. */
  added: MemberInfo[];
  removedIds: bigint[];
  changedUrls: MemberInfo[];
}

/**
 * Replaces the applied state of `h` with `data` (a follower installing MsgSnap, or a restart loading its newest
 * snapshot): MVCC in place (watchers hear the revisions they missed), then leases (keys re-attached from the live
 * keys), auth, membership (in place), alarms. A bare MVCC image replaces the MVCC state only.
 * `opts.starting`: the member is starting (nothing serves or watches yet), so past revisions are not replayed to
 * the MVCC's commit listeners (watchers, lessor): the lease keys are re-attached from the live keys below anyway.
 * `opts.crcChecked`: `data` comes from a snapshot file whose CRC (covering all of it) was just checked
 * (store/snap/snapshotter.ts decodeSnapshot), so a fresh store skips the MVCC image's own CRC: one pass, not two.
 * @throws as decodeStateSnapshot (nothing is changed then; except that a fresh store, loaded as the CRC-checked
 *         image is decoded, is left partly loaded by a malformed record: the member then stops, as on any such error).
 */
export function restoreStateSnapshot(h: StateHost, data: Uint8Array, opts: { starting?: boolean; crcChecked?: boolean } = {}): RestoreOutcome {
  // a fresh store (a restart) loads the records straight from the bytes: no intermediate store and key index
  // (half the work with 1M keys); a live store gets a fully decoded, validated state so a bad one changes nothing
  const d = h.mvcc.rev() === 1 && h.mvcc.keyCount() === 0 ? decodeStateSnapshotRecords(data, true, !!opts.crcChecked) : decodeStateSnapshot(data);
  // a starting member has no watcher yet: no replay of every revision to the commit listeners (1M events for nobody)
  const replayedRevisions = h.mvcc.replaceState(d.mvcc instanceof MvccStore ? d.mvcc.exportState() : d.mvcc, !opts.starting);
  const out: RestoreOutcome = { replayedRevisions, added: [], removedIds: [], changedUrls: [] };
  const meta = d.meta;
  if (!meta) return out;
  for (const id of h.lessor.list()) h.lessor.revoke(id, () => undefined);
  for (const l of meta.leases) h.lessor.grant(BigInt(l.id), l.ttl, 0);
  const all = new Uint8Array([0]);
  // (no lease granted: no key to attach, and the scan of every key is skipped: with 1M keys it costs seconds)
  if (meta.leases.length > 0) for (const kv of h.mvcc.range(all, all).kvs) {
    if (kv.lease !== 0n) h.lessor.observe([{ type: 'put', kv }]);
  }
  h.auth.loadState(meta.auth);
  const before = new Map(h.members.map((m) => [m.id, m]));
  const next: MemberInfo[] = meta.members.map((m) => ({
    id: BigInt(m.id), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], ...(m.isLearner ? { isLearner: true } : {}),
    ...(typeof m.entryVersion === 'number' ? { entryVersion: m.entryVersion } : {}),
  }));
  for (const m of next) {
    const old = before.get(m.id);
    if (!old) out.added.push(m);
    else if (old.peerUrls.join() !== m.peerUrls.join()) out.changedUrls.push(m);
  }
  const nextIds = new Set(next.map((m) => m.id));
  for (const id of before.keys()) if (!nextIds.has(id)) out.removedIds.push(id);
  h.members.splice(0, h.members.length, ...next);
  h.removed.clear();
  for (const id of meta.removed) h.removed.add(BigInt(id));
  for (const a of h.alarms.get()) h.alarms.deactivate(a.memberId, a.alarm);
  for (const a of meta.alarms) h.alarms.activate(BigInt(a.memberId), a.alarm);
  return out;
}
