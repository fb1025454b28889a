/**
 * etcdserverpb.Maintenance (implemented in maintenance_rpc.ts) and etcdserverpb.Cluster (MemberList).
 */
import type { QuorumNode } from './node.js';
import { maintenanceRpc } from './maintenance_rpc.js';
import { header, unary } from './wire.js';

/** The Maintenance service implementation for grpc-js addService (every method: maintenance_rpc.ts). */
export function maintenanceService(node: QuorumNode): Record<string, unknown> {
  return maintenanceRpc(node);
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
