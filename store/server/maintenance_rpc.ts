/**
 * etcdserverpb.Maintenance (etcd server/etcdserver/api/v3rpc/maintenance.go), every method:
 * - Status: version, dbSize (backend size until the next Defragment) and dbSizeInUse, leader, raftIndex
 *   (committed), raftTerm, raftAppliedIndex, errors ("etcdserver: no leader" and one
 *   "memberID:<id> alarm:<TYPE> " per active alarm), isLearner;
 * - Alarm: GET / ACTIVATE / DEACTIVATE, all through Raft so every member agrees (response without header,
 *   as etcd's);
 * - Defragment: this member only, not through Raft (response without header, as etcd's);
 * - Hash / HashKV: see MaintenanceState.hash / hashKV (HashKV's header revision is the current revision);
 * - Snapshot: a stream of 32 KiB chunks of a consistent backup image (store/snap/backup.ts) with
 *   remaining_bytes counting down, then one last message carrying the image's SHA-256.
 */
import type * as grpc from '@grpc/grpc-js';
import { encodeImage, sha256, type BackupMeta } from '../snap/backup.js';
import { alarmText } from './alarm_store.js';
import { encodeStateSnapshot } from './state_snapshot.js';
import { toGrpcError } from './errors.js';
import type { QuorumNode } from './node.js';
import { SERVER_VERSION } from './version.js';
import { header, unary } from './wire.js';

/** Size of one Snapshot stream chunk (etcd sends 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

interface AlarmReq { action: number; memberID: string; alarm: number }
interface HashKVReq { revision: string }

/**
 * A consistent backup image of this member, taken synchronously (nothing else runs meanwhile): its whole applied
 * state (MVCC, leases, auth, members, alarms; state_snapshot.ts), so a restore keeps leases and auth as etcd's does.
 */
export function backupImage(node: QuorumNode): Uint8Array {
  const i = node.info();
  const meta: BackupMeta = {
    version: 1,
    clusterId: node.clusterId.toString(),
    memberId: node.memberId.toString(),
    raftIndex: i.applied,
    raftTerm: i.term,
    revision: node.mvcc.rev(),
    compactRevision: node.mvcc.compactRevision(),
    members: node.members.map((m) => ({ id: m.id.toString(), name: m.name, peerUrls: [...m.peerUrls] })),
    alarms: node.maintenance.alarms.get().map((a) => ({ memberId: a.memberId.toString(), alarm: a.alarm })),
  };
  return encodeImage(meta, encodeStateSnapshot({
    mvcc: node.mvcc, lessor: node.lessor, auth: node.auth, members: node.members,
    removed: node.cluster.membership.removed, alarms: node.maintenance.alarms,
  }));
}

/** Write one message, waiting for the stream to drain when its buffer is full; false when the call ended. */
function send(call: grpc.ServerWritableStream<unknown, unknown>, msg: unknown): Promise<boolean> {
  if (call.cancelled || call.destroyed) return Promise.resolve(false);
  if (call.write(msg)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      call.off('drain', onDrain);
      call.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    call.on('drain', onDrain);
    call.on('close', onClose);
  });
}

/** The Maintenance service implementation for grpc-js addService. */
export function maintenanceRpc(node: QuorumNode): Record<string, unknown> {
  return {
    Status: unary(() => {
      const i = node.info();
      const m = node.maintenance;
      const errs: string[] = [];
      if (i.leader === 0n) errs.push('etcdserver: no leader');
      for (const a of m.alarms.get()) errs.push(alarmText(a));
      const self = node.members.find((x) => x.id === node.memberId) as { isLearner?: boolean } | undefined;
      return {
        header: header(node),
        version: SERVER_VERSION,
        dbSize: String(m.dbSize()),
        leader: i.leader.toString(),
        raftIndex: String(i.raftIndex),
        raftTerm: String(i.term),
        raftAppliedIndex: String(i.applied),
        errors: errs,
        dbSizeInUse: String(m.dbSizeInUse()),
        isLearner: !!self?.isLearner,
      };
    }),
    Alarm: unary(async (req: AlarmReq) => {
      const r = await node.propose({ op: 'alarm', action: req.action ?? 0, memberId: BigInt(req.memberID || '0'), alarm: req.alarm ?? 0 });
      const alarms = r.op === 'alarm' ? r.alarms : [];
      return { alarms: alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })) };
    }),
    Defragment: unary(() => {
      node.maintenance.defragment();
      return {};
    }),
    Hash: unary(() => ({ header: header(node), hash: node.maintenance.hash() })),
    HashKV: unary((req: HashKVReq) => {
      const r = node.maintenance.hashKV(Number(req.revision || '0'));
      return { header: header(node, r.revision), hash: r.hash, compact_revision: String(r.compactRevision) };
    }),
    Snapshot: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      void (async () => {
        try {
          const image = backupImage(node);
          for (let off = 0; off < image.length; off += SNAPSHOT_CHUNK_BYTES) {
            const chunk = image.subarray(off, Math.min(image.length, off + SNAPSHOT_CHUNK_BYTES));
            const remaining = image.length - off - chunk.length;
            if (!(await send(call, { remaining_bytes: String(remaining), blob: Buffer.from(chunk) }))) return;
          }
          if (!(await send(call, { remaining_bytes: '0', blob: Buffer.from(sha256(image)) }))) return;
          call.end();
        } catch (e) {
          call.emit('error', toGrpcError(e)); // grpc-js: sends this status and ends the call
        }
      })();
    },
  };
}
