/**
 * The leader's side of leases, outside Raft state (etcd etcdserver/server.go: lessor Promote/Demote and the
 * revokeExpiredLeases loop): on becoming leader the lessor is promoted with the election timeout as extension
 * (no lease expires because of the leader change); while leader, every 500 ms the expired leases are revoked by
 * proposing LeaseRevoke through Raft; on losing leadership the lessor is demoted (followers never expire leases).
 */
import type { Lessor } from '../lease/lessor.js';
import type { Logger } from './log.js';
import type { LeaseRevokeOp } from './lease_request.js';

/** How often the leader looks for expired leases (etcd: 500 ms). */
export const EXPIRY_CHECK_MS = 500;

export class LeaseRunner {
  private timer: NodeJS.Timeout | undefined;
  private leader = false;

  /**
   * @param propose proposes a request through Raft (QuorumNode.propose)
   * @param electionTimeoutMs the promote extension (etcd: the election timeout)
   */
  constructor(
    private readonly lessor: Lessor,
    private readonly propose: (b: LeaseRevokeOp) => Promise<unknown>,
    private readonly electionTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Tell the runner whether this member is now the Raft leader; promotes or demotes on a change. */
  roleChanged(isLeader: boolean): void {
    if (isLeader === this.leader) return;
    this.leader = isLeader;
    if (isLeader) {
      this.lessor.promote(this.electionTimeoutMs);
      this.timer = setInterval(() => this.revokeExpired(), EXPIRY_CHECK_MS);
      this.timer.unref();
    } else {
      this.lessor.demote();
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Propose a revoke for each expired lease (failures are retried by the lessor after its retry interval). */
  revokeExpired(): void {
    for (const id of this.lessor.expired()) {
      this.propose({ op: 'leaseRevoke', id }).then(
        () => this.log.debug('revoked an expired lease', { 'lease-id': id.toString(16) }),
        (e: Error) => this.log.warn('failed to revoke an expired lease', { 'lease-id': id.toString(16), error: e.message }),
      );
    }
  }

  /** Stop the expiry timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
