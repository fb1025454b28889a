/**
 * Prometheus metrics with etcd's names (so the stock etcd Grafana dashboard works) and the metrics/health HTTP
 * listener (--listen-metrics-urls): GET /metrics (prom-client text format), GET /health ({"health":"true"} when
 * the member sees a leader, {"health":"false"} with status 503 otherwise, as etcd 3.4).
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TlsConfig } from './config.js';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
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
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ health: ok ? 'true' : 'false' }));
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
