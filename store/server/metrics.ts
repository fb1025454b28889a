/**
 * Prometheus metrics with etcd 3.4's names and label names (so the stock etcd Grafana dashboard and etcd's alert
 * rules work unchanged: Documentation/op-guide/grafana.json and etcd3_alert.rules.yml in etcd-io/etcd) and the
 * metrics/health HTTP listener (--listen-metrics-urls):
 * - GET /metrics: Prometheus text format (prom-client);
 * - GET /health: {"health":"true"}, or status 503 {"health":"false"} (etcd 3.4: no alarm, a leader, a
 *   linearizable read within 1 s; without a bound node only the leader is checked);
 * - GET /livez, /readyz: etcd 3.5.11+/3.6's probes ("ok", 503 on failure, `?verbose` lists each check as
 *   `[+]name ok`). etcd 3.4.23 itself answers 404 on these two paths; quorumd serves them for Kubernetes probes.
 * Values that live in the node (keys, revisions, watchers, member ID) are read at scrape time through a
 * `MetricsSource` bound with `bindSource` (metrics_node.ts builds one from a QuorumNode).
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TlsConfig } from './config.js';
import { GrpcMetrics } from './metrics_grpc.js';

/** What the scrape reads from the member (metrics_node.ts). Counts are plain numbers; memberId is hex. */
export interface MetricsSource {
  memberId(): string;
  keys(): number;
  currentRevision(): number;
  compactRevision(): number;
  watchers(): { total: number; slow: number };
  isLearner(): boolean;
  quotaBytes(): number;
  /** etcd's /health verdict (alarms, leader, linearizable read within 1 s). */
  health(): Promise<boolean>;
  /** Named checks for /livez (`live`) and /readyz (`ready`): each resolves to an error text, or undefined when ok. */
  checks(kind: 'live' | 'ready'): Array<[string, () => Promise<string | undefined>]>;
}

/** etcd's ExponentialBuckets(start, 2, n). */
const exp2 = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start * 2 ** i);

/** The etcd server version the metrics report (etcd_server_version{server_version}). */
const METRICS_SERVER_VERSION = '3.4.0';

/** The metric set of one quorumd process. */
export class Metrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', registers: [this.registry] });
  readonly isLeader = new Gauge({ name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers: [this.registry] });
  readonly proposalsCommitted = new Gauge({ name: 'etcd_server_proposals_committed_total', help: 'The total number of consensus proposals committed.', registers: [this.registry] });
  readonly proposalsApplied = new Gauge({ name: 'etcd_server_proposals_applied_total', help: 'The total number of consensus proposals applied.', registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: 'etcd_server_proposals_pending', help: 'The current number of pending proposals to commit.', registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers: [this.registry] });
  readonly walFsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.',
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192], registers: [this.registry],
  });
  readonly dbTotalSize = new Gauge({ name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', registers: [this.registry] });
  readonly dbSizeInUse = new Gauge({ name: 'etcd_mvcc_db_total_size_in_use_in_bytes', help: 'Total size of the underlying database logically in use in bytes.', registers: [this.registry] });
  readonly peerRtt = new Histogram({
    name: 'etcd_network_peer_round_trip_time_seconds', help: 'Round-Trip-Time histogram between peers', labelNames: ['To'],
    buckets: [0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096, 0.8192], registers: [this.registry],
  });
  readonly peerSentFailures = new Counter({ name: 'etcd_network_peer_sent_failures_total', help: 'The total number of send failures from peers.', labelNames: ['To'], registers: [this.registry] });
  readonly peerSentBytes = new Counter({ name: 'etcd_network_peer_sent_bytes_total', help: 'The total number of bytes sent to peers.', labelNames: ['To'], registers: [this.registry] });
  readonly peerReceivedBytes = new Counter({ name: 'etcd_network_peer_received_bytes_total', help: 'The total number of bytes received from peers.', labelNames: ['From'], registers: [this.registry] });
  /** Time to apply one Ready's committed entries to the MVCC (quorumd's backend is in memory: this is its "commit"). */
  readonly backendCommit = new Histogram({
    name: 'etcd_disk_backend_commit_duration_seconds', help: 'The latency distributions of commit called by backend.',
    buckets: exp2(0.001, 14), registers: [this.registry],
  });
  readonly leaseGranted = new Counter({ name: 'etcd_debugging_lease_granted_total', help: 'The total number of granted leases.', registers: [this.registry] });
  readonly leaseRevoked = new Counter({ name: 'etcd_debugging_lease_revoked_total', help: 'The total number of revoked leases.', registers: [this.registry] });
  readonly leaseRenewed = new Counter({ name: 'etcd_debugging_lease_renewed_total', help: 'The number of renewed leases seen by the leader.', registers: [this.registry] });
  readonly leaseTtl = new Histogram({ name: 'etcd_debugging_lease_ttl_total', help: 'Bucketed histogram of lease TTLs.', buckets: exp2(1, 24), registers: [this.registry] });
  /** gRPC server metrics (go-grpc-prometheus names) and client traffic bytes (metrics_grpc.ts). */
  readonly grpc: GrpcMetrics;
  private source: MetricsSource | undefined;
  private applyStartedAt = 0n;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const reg = [this.registry];
    const src = () => this.source;
    const self = this;
    new Gauge({
      name: 'etcd_debugging_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', registers: reg,
      async collect() { this.set((await self.dbTotalSize.get()).values[0]?.value ?? 0); },
    });
    new Gauge({ name: 'etcd_debugging_mvcc_keys_total', help: 'Total number of keys.', registers: reg, collect() { this.set(src()?.keys() ?? 0); } });
    new Gauge({ name: 'etcd_debugging_mvcc_current_revision', help: 'The current revision of store.', registers: reg, collect() { this.set(src()?.currentRevision() ?? 0); } });
    new Gauge({ name: 'etcd_debugging_mvcc_compact_revision', help: 'The revision of the last compaction in store.', registers: reg, collect() { this.set(src()?.compactRevision() ?? 0); } });
    new Gauge({ name: 'etcd_debugging_mvcc_watcher_total', help: 'Total number of watchers.', registers: reg, collect() { this.set(src()?.watchers().total ?? 0); } });
    new Gauge({ name: 'etcd_debugging_mvcc_slow_watcher_total', help: 'Total number of unsynced slow watchers.', registers: reg, collect() { this.set(src()?.watchers().slow ?? 0); } });
    new Gauge({ name: 'etcd_server_is_learner', help: 'Whether or not this member is a learner. 1 if is, 0 otherwise.', registers: reg, collect() { this.set(src()?.isLearner() ? 1 : 0); } });
    new Gauge({ name: 'etcd_server_quota_backend_bytes', help: 'Current backend storage quota size in bytes.', registers: reg, collect() { this.set(src()?.quotaBytes() ?? 0); } });
    new Gauge({
      name: 'etcd_server_id', help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", labelNames: ['server_id'], registers: reg,
      collect() { this.reset(); const id = src()?.memberId(); if (id) this.set({ server_id: id }, 1); },
    });
    new Gauge({ name: 'etcd_server_version', help: "Which version is running. 1 for 'server_version' label with current version.", labelNames: ['server_version'], registers: reg })
      .set({ server_version: METRICS_SERVER_VERSION }, 1);
    new Gauge({ name: 'etcd_cluster_version', help: "Which version is running. 1 for 'cluster_version' label with current cluster version", labelNames: ['cluster_version'], registers: reg })
      .set({ cluster_version: '3.4' }, 1);
    new Gauge({ name: 'etcd_server_node_version', help: "Which Node.js runs quorumd. 1 for 'server_node_version' label.", labelNames: ['server_node_version'], registers: reg })
      .set({ server_node_version: process.version }, 1);
    this.grpc = new GrpcMetrics(this.registry);
  }

  /** Read node-held values from `source` at scrape time, and answer /health, /livez, /readyz with it. */
  bindSource(source: MetricsSource): void {
    this.source = source;
  }

  /** The bound source, if any (serveMetrics). */
  boundSource(): MetricsSource | undefined {
    return this.source;
  }

  /** Mark the start of applying a Ready's committed entries (node.ts); `applyDone` observes the duration. */
  applyBegin(): void {
    this.applyStartedAt = process.hrtime.bigint();
  }

  /** Observe etcd_disk_backend_commit_duration_seconds for the apply begun by `applyBegin`. */
  applyDone(): void {
    if (this.applyStartedAt === 0n) return;
    this.backendCommit.observe(Number(process.hrtime.bigint() - this.applyStartedAt) / 1e9);
    this.applyStartedAt = 0n;
  }
}

/** Run the named checks; returns [all ok, the verbose text]. Each check is given up to `timeoutMs`. */
async function runChecks(checks: Array<[string, () => Promise<string | undefined>]>, exclude: Set<string>, timeoutMs = 2000): Promise<[boolean, string]> {
  let ok = true;
  let text = '';
  for (const [name, check] of checks) {
    if (exclude.has(name)) {
      text += `[+]${name} excluded: ok\n`;
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('timed out'), timeoutMs); });
    const err = await Promise.race([check().catch((e: Error) => e.message), timeout]);
    clearTimeout(timer);
    if (err === undefined) text += `[+]${name} ok\n`;
    else {
      ok = false;
      text += `[-]${name} failed: ${err}\n`;
    }
  }
  return [ok, text];
}

/** Serve /metrics and /health on each URL. `healthy()` decides /health. Returns the servers (close them on stop). */
export async function serveMetrics(urls: string[], metrics: Metrics, healthy: () => boolean, tls: TlsConfig): Promise<Server[]> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
    } else if (path === '/health') {
      const source = metrics.boundSource();
      void Promise.resolve(source ? source.health() : healthy()).catch(() => false).then((ok) => {
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(JSON.stringify({ health: ok ? 'true' : 'false' }));
      });
    } else if (path === '/livez' || path === '/readyz') {
      const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const source = metrics.boundSource();
      const leaderOnly: Array<[string, () => Promise<string | undefined>]> = [['leader', async () => (healthy() ? undefined : 'no leader')]];
      const checks = source ? source.checks(path === '/livez' ? 'live' : 'ready') : path === '/livez' ? [] : leaderOnly;
      void runChecks(checks, new Set(q.getAll('exclude'))).then(([ok, text]) => {
        const name = path.slice(1);
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        if (q.has('verbose') || !ok) res.end(`${text}${ok ? `${name} check passed` : `${name} check failed`}\n`);
        else res.end('ok');
      });
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
    }
  };
  const servers: Server[] = [];
  for (const url of urls) {
    const u = new URL(url);
    const server: Server =
      u.protocol === 'https:'
        ? (createHttps({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, handler) as unknown as Server)
        : createHttp(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`cannot listen on metrics URL ${url}: ${e.message}`)));
      server.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => resolve());
    });
    servers.push(server);
  }
  return servers;
}
