/**
 * Messages and fields of quorumd's operator-facing log lines, named as etcd 3.4's zap logger names them
 * (etcdserver/api/membership/cluster.go: "added member" / "removed member" with `local-member-id`,
 * `added-peer-id`, `removed-remote-peer-id`; etcdserver/server.go applySnapshot: `incoming-leader-snapshot-index`,
 * `incoming-leader-snapshot-term`; rafthttp: `local-member-id`, `remote-peer-id`). Member IDs are lowercase hex
 * strings, as etcd prints them; `term` and `index` are Raft numbers.
 */
import { ConfChangeType } from '../raft/confchange.js';

/** A log message with its fields, for `logger.info(msg, fields)`. */
export interface LogLine { msg: string; fields: Record<string, unknown> }

const hex = (id: bigint): string => id.toString(16);

/** Leader change seen by `local` (`leader` 0n = no leader), at Raft `term` with commit `index`. */
export function leaderChangeLine(local: bigint, leader: bigint, term: number, index: number): LogLine {
  return {
    msg: leader === 0n ? 'lost leader' : 'elected leader',
    fields: { 'local-member-id': hex(local), leader: hex(leader), term, index },
  };
}

/**
 * A membership change applied at entry (`term`, `index`): etcd's message and peer field per type
 * (AddNode / AddLearnerNode: "added member" + `added-peer-id`, `added-peer-peer-urls`, `added-peer-is-learner`;
 * AddNode on a learner: "promoted member" + `promoted-member-id`; RemoveNode: "removed member" +
 * `removed-remote-peer-id`; UpdateNode: "updated member" + `updated-remote-peer-id`, `updated-remote-peer-urls`).
 */
export function memberChangeLine(
  type: ConfChangeType, local: bigint, member: { id: bigint; peerUrls: string[]; isLearner: boolean }, promote: boolean,
  term: number, index: number,
): LogLine {
  const base = { 'local-member-id': hex(local), term, index };
  const id = hex(member.id);
  switch (type) {
    case ConfChangeType.RemoveNode:
      return { msg: 'removed member', fields: { ...base, 'removed-remote-peer-id': id } };
    case ConfChangeType.UpdateNode:
      return { msg: 'updated member', fields: { ...base, 'updated-remote-peer-id': id, 'updated-remote-peer-urls': member.peerUrls } };
    default:
      if (promote) return { msg: 'promoted member', fields: { ...base, 'promoted-member-id': id } };
      return {
        msg: 'added member',
        fields: { ...base, 'added-peer-id': id, 'added-peer-peer-urls': member.peerUrls, 'added-peer-is-learner': type === ConfChangeType.AddLearnerNode || member.isLearner },
      };
  }
}

/** A snapshot from the leader installed by `local` (etcd: "applied snapshot"). */
export function snapshotInstalledLine(local: bigint, snapshot: { index: number; term: number }, previousApplied: number): LogLine {
  return {
    msg: 'applied snapshot',
    fields: {
      'local-member-id': hex(local), 'current-applied-index': previousApplied,
      'incoming-leader-snapshot-index': snapshot.index, 'incoming-leader-snapshot-term': snapshot.term,
    },
  };
}

/** Fields of a peer send failure / recovery line (rafthttp's `local-member-id`, `remote-peer-id`). */
export function peerFields(local: bigint, peer: bigint): Record<string, string> {
  return { 'local-member-id': hex(local), 'remote-peer-id': hex(peer) };
}
