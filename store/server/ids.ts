/**
 * Member and cluster IDs, derived as etcd 3.4 derives them (etcdserver/api/membership/member.go and cluster.go):
 * - member ID = first 8 bytes, big-endian, of SHA-1(sorted peer URLs joined with "" + cluster token);
 * - cluster ID = first 8 bytes, big-endian, of SHA-1(the sorted member IDs, each as 8 bytes big-endian).
 * The same inputs give the same IDs, across processes and across fresh clusters.
 */
import { createHash } from 'node:crypto';

/** uint64 member ID of a member with these peer URLs in the cluster named by `token` (initial-cluster-token). */
export function computeMemberId(peerUrls: string[], token: string): bigint {
  const joined = [...peerUrls].sort().join('');
  const hash = createHash('sha1').update(Buffer.from(joined + token, 'utf8')).digest();
  return hash.readBigUInt64BE(0);
}

/** uint64 cluster ID of a cluster made of these member IDs (order does not matter). */
export function computeClusterId(memberIds: bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(buf).digest().readBigUInt64BE(0);
}

/** An ID as etcd prints it: lower-case hex without leading zeros (types.ID.String()). */
export function idToHex(id: bigint): string {
  return id.toString(16);
}
