/**
 * etcdserverpb.Maintenance (Status, Alarm) and etcdserverpb.Cluster (MemberList); other methods answer
 * UNIMPLEMENTED (grpc-js default for methods missing from the implementation).
 */
import type { QuorumNode } from './node.js';
import { SERVER_VERSION } from './version.js';
import { header, unary } from './wire.js';

/** The Maintenance service implementation for grpc-js addService. */
export function maintenanceService(node: QuorumNode): Record<string, unknown> {
  return {
    Status: unary(() => {
      const i = node.info();
      const size = node.mvcc.sizeBytes();
      return {
        header: header(node),
        version: SERVER_VERSION,
        dbSize: String(size),
        leader: i.leader.toString(),
        raftIndex: String(i.raftIndex),
        raftTerm: String(i.term),
        raftAppliedIndex: String(i.applied),
        errors: [],
        dbSizeInUse: String(size),
        isLearner: false,
      };
    }),
    // No alarms are ever raised yet: GET lists none; ACTIVATE/DEACTIVATE are accepted and change nothing.
    Alarm: unary(() => ({ header: header(node), alarms: [] })),
  };
}

/** The Cluster service implementation for grpc-js addService. Members are listed sorted by ID, as etcd does. */
export function clusterService(node: QuorumNode): Record<string, unknown> {
  return {
    MemberList: unary(() => ({
      header: header(node),
      members: [...node.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((m) => ({
        ID: m.id.toString(),
        name: m.clientUrls.length > 0 ? m.name : '',
        peerURLs: m.peerUrls,
        clientURLs: m.clientUrls,
        isLearner: false,
      })),
    })),
  };
}
