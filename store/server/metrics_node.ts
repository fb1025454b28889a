/**
 * Binds a running member to its Metrics: the values read at scrape time (keys, revisions, watchers, member ID,
 * learner flag, quota), the /health, /livez and /readyz checks, and the lease counters
 * (etcd_debugging_lease_granted_total / revoked_total / renewed_total, lease TTL histogram), recorded by
 * observing this member's Lessor calls (grant and revoke when applied, renew on the leader).
 */
import { AlarmType } from './alarm_store.js';
import type { Metrics, MetricsSource } from './metrics.js';
import type { QuorumNode } from './node.js';
import { watchableFor } from './watch_service.js';

/** How long /health and /readyz wait for a linearizable read (ms), as etcd's 1 s health timeout. */
const READ_TIMEOUT_MS = 1000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The MetricsSource of `node`. */
export function nodeMetricsSource(node: QuorumNode): MetricsSource {
  const linearizable = async (): Promise<string | undefined> => {
    if (node.info().leader === 0n) return 'no leader';
    await withTimeout(node.readBarrier(), READ_TIMEOUT_MS, 'linearizable read timed out');
    return undefined;
  };
  const serializable = async (): Promise<string | undefined> => {
    node.mvcc.rev();
    return undefined;
  };
  const corruption = async (): Promise<string | undefined> =>
    node.maintenance.alarms.get(AlarmType.CORRUPT).length > 0 ? 'alarm activated: CORRUPT' : undefined;
  return {
    memberId: () => node.memberId.toString(16),
    keys: () => node.mvcc.keyCount(),
    currentRevision: () => node.mvcc.rev(),
    compactRevision: () => node.mvcc.compactRevision(),
    watchers: () => {
      const s = watchableFor(node).stats();
      return { total: s.synced + s.unsynced, slow: s.unsynced };
    },
    isLearner: () => node.cluster.membership.members.some((m) => m.id === node.memberId && !!m.isLearner),
    quotaBytes: () => node.maintenance.quota.quotaBytes,
    health: async () => {
      if (node.maintenance.alarms.get().length > 0) return false;
      return (await linearizable().catch(() => 'failed')) === undefined;
    },
    checks: (kind) =>
      kind === 'live'
        ? [['serializable_read', serializable]]
        : [['data_corruption', corruption], ['serializable_read', serializable], ['linearizable_read', linearizable]],
  };
}

/** Bind `node` to `metrics`: scrape-time values, health checks and lease counters. Call once per member. */
export function bindNodeMetrics(metrics: Metrics, node: QuorumNode): void {
  metrics.bindSource(nodeMetricsSource(node));
  const lessor = node.lessor;
  const grant = lessor.grant.bind(lessor);
  lessor.grant = (id, ttl, index) => {
    const r = grant(id, ttl, index);
    metrics.leaseGranted.inc();
    metrics.leaseTtl.observe(r.ttl);
    return r;
  };
  const revoke = lessor.revoke.bind(lessor);
  lessor.revoke = (id, deleteKeys) => {
    revoke(id, deleteKeys);
    metrics.leaseRevoked.inc();
  };
  const renew = lessor.renew.bind(lessor);
  lessor.renew = (id) => {
    const r = renew(id);
    if (r !== 'expired') metrics.leaseRenewed.inc();
    return r;
  };
}
