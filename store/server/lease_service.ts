/**
 * etcdserverpb.Lease (etcd etcdserver/api/v3rpc/lease.go and etcdserver/v3_server.go):
 * - LeaseGrant / LeaseRevoke go through Raft (lease_apply.ts); TTL above 9e9 s: "etcdserver: too large lease TTL".
 * - LeaseKeepAlive: one bidirectional stream, one response per request in order; renewed on the leader (a
 *   follower forwards, lease_peer.ts); an unknown or expired lease answers TTL 0 (not an error), as etcd.
 * - LeaseTimeToLive: answered by the leader; an unknown lease answers TTL -1 (not an error), as etcd.
 * - LeaseLeases: this member's lessor, by deadline.
 * Errors are converted once at this edge with toGrpcError.
 */
import type * as grpc from '@grpc/grpc-js';
import { MAX_LEASE_TTL } from '../lease/lessor.js';
import { toGrpcError } from './errors.js';
import type { LeaseApplyResult } from './lease_apply.js';
import { leaseErrors } from './lease_errors.js';
import { leaseTimeToLive, renewLease, type LeaseHost } from './lease_peer.js';
import type { LeaseOp } from './lease_request.js';
import { header, unary } from './wire.js';
import type { QuorumNode } from './node.js';

interface GrantReq { TTL: string; ID: string }
interface IdReq { ID: string }
interface TtlReq { ID: string; keys: boolean }

/** Propose a lease op and return its apply result; lease errors from the apply are thrown. */
async function proposeLease(node: QuorumNode, body: LeaseOp): Promise<LeaseApplyResult> {
  const res = (await node.propose(body as never)) as unknown as LeaseApplyResult;
  if (res.op === 'leaseError') throw res.error;
  return res;
}

/** The Lease service implementation for grpc-js addService. */
export function leaseService(node: QuorumNode): Record<string, unknown> {
  const host = node as unknown as LeaseHost;
  return {
    LeaseGrant: unary(async (r: GrantReq) => {
      const ttl = Number(r.TTL);
      if (ttl > MAX_LEASE_TTL) throw leaseErrors.ttlTooLarge();
      const res = await proposeLease(node, { op: 'leaseGrant', id: BigInt(r.ID), ttl });
      if (res.op !== 'leaseGrant') throw new Error('internal: unexpected apply result');
      return { header: header(node, res.rev), ID: res.id.toString(), TTL: String(res.ttl), error: '' };
    }),
    LeaseRevoke: unary(async (r: IdReq) => {
      const res = await proposeLease(node, { op: 'leaseRevoke', id: BigInt(r.ID) });
      return { header: header(node, res.rev) };
    }),
    LeaseTimeToLive: unary(async (r: TtlReq) => {
      const t = await leaseTimeToLive(host, BigInt(r.ID), r.keys);
      return {
        header: header(node),
        ID: r.ID,
        TTL: String(t.ttl),
        grantedTTL: String(t.grantedTtl),
        keys: t.keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)),
      };
    }),
    LeaseLeases: unary(async () => ({ header: header(node), leases: node.lessor.list().map((id) => ({ ID: id.toString() })) })),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<IdReq, unknown>) => {
      let chain = Promise.resolve();
      let failed = false;
      call.on('data', (req: IdReq) => {
        chain = chain.then(async () => {
          if (failed || call.cancelled) return;
          const id = BigInt(req.ID);
          let ttl: number;
          try {
            ttl = await renewLease(host, id);
          } catch (e) {
            if (e instanceof Error && e.message === leaseErrors.notFound().message) ttl = 0;
            else {
              failed = true;
              call.emit('error', toGrpcError(e));
              return;
            }
          }
          if (!call.cancelled) call.write({ header: header(node), ID: req.ID, TTL: String(ttl) });
        });
      });
      call.on('end', () => {
        void chain.then(() => {
          if (!failed && !call.cancelled) call.end();
        });
      });
      call.on('error', () => { /* the client went away */ });
    },
  };
}
