/**
 * The cluster's membership as this member knows it: --initial-cluster at the start of the log, then changed by
 * the conf change entries it applies (cluster_membership.ts), with each member's client URLs learned when it
 * publishes them through Raft.
 */
import type { ServerConfig } from './config.js';
import { computeClusterId, computeMemberId } from './ids.js';

/** One member, as Cluster.MemberList reports it. */
export interface MemberInfo {
  id: bigint;
  name: string;
  peerUrls: string[];
  /** Empty until the member has published them (etcd shows such a member as "unstarted"). */
  clientUrls: string[];
  /** A non-voting member (etcd learner); absent = voter. */
  isLearner?: boolean;
  /** The newest Raft entry encoding the member published that it decodes (absent = 1; entry_codec_gate.ts). */
  entryVersion?: number;
}

/** The members of the initial cluster with their derived IDs, and the cluster ID (etcd's derivation). */
export function initialMembers(cfg: ServerConfig): { members: MemberInfo[]; clusterId: bigint; selfId: bigint } {
  const members = cfg.initialCluster.map((m) => ({
    id: computeMemberId(m.peerUrls, cfg.initialClusterToken),
    name: m.name,
    peerUrls: [...m.peerUrls],
    clientUrls: [] as string[],
  }));
  const ids = new Set(members.map((m) => m.id));
  if (ids.size !== members.length) throw new Error('--initial-cluster: two members have the same peer URLs');
  const self = members.find((m) => m.name === cfg.name)!;
  self.clientUrls = [...cfg.advertiseClientUrls];
  return { members, clusterId: computeClusterId(members.map((m) => m.id)), selfId: self.id };
}
