/**
 * Monitoring files for an inventory's cluster, written to the operator's machine (`quorum monitoring`):
 * - `prometheus.yml`: a `scrape_configs` fragment, one job per cluster (`quorum-<cluster>`), one static
 *   target `ADDR:METRICS_PORT` per member (provision sets `--listen-metrics-urls http://ADDR:METRICS_PORT`)
 *   with the labels `cluster` and `member`;
 * - `quorum-alerts.yml`: Prometheus alerting rules on etcd 3.4's metric names (quorumd exports them:
 *   docs/OBSERVABILITY.md), thresholds from DESIGN.md (WAL fsync p99 > 10 ms);
 * - `quorum-dashboard.json`: a compact Grafana dashboard (schema 36+) for the same series.
 * All queries select `cluster="<name>"`, the label the scrape config attaches.
 * Source of the metric semantics: etcd 3.4 metrics (https://etcd.io/docs/v3.4/metrics/) and
 * https://etcd.io/docs/v3.4/op-guide/monitoring/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Inventory } from '../../toolkit/inventory/index.js';

/** File names written into the output directory. */
export const MONITORING_FILES = {
  scrape: 'prometheus.yml',
  rules: 'quorum-alerts.yml',
  dashboard: 'quorum-dashboard.json',
} as const;

/** The Prometheus job name for a cluster. */
export function jobName(inv: Inventory): string {
  return `quorum-${inv.cluster.name}`;
}

/** The metrics URL scheme: quorumd's --listen-metrics-urls are plain http (docs/OBSERVABILITY.md). */
const SCHEME = 'http';

/**
 * The `scrape_configs` fragment (an object ready for YAML): one job, one static_configs entry per member so
 * each target carries its own `member` label. Targets are `ADDR:METRICS_PORT` (scheme http, path /metrics).
 */
export function scrapeConfig(inv: Inventory): { scrape_configs: Array<Record<string, unknown>> } {
  return {
    scrape_configs: [{
      job_name: jobName(inv),
      scheme: SCHEME,
      metrics_path: '/metrics',
      scrape_interval: '15s',
      static_configs: inv.hosts.map((h) => ({
        targets: [`${h.address}:${inv.cluster.metricsPort}`],
        labels: { cluster: inv.cluster.name, member: h.name },
      })),
    }],
  };
}

/** One Prometheus alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

/**
 * Alert rules (Prometheus rule-file shape: `{groups: [{name, rules}]}`) on etcd's metric names, for the
 * cluster's `cluster` label. Thresholds: WAL fsync p99 > 10 ms (DESIGN.md), backend commit p99 > 25 ms,
 * db size > 80 % of quota (etcd raises NOSPACE at 100 %), >= 4 leader changes in 15 min, any failed
 * proposal rate over 15 min, a member without leader for 1 min, fewer than a quorum of members up.
 */
export function alertRules(inv: Inventory): { groups: Array<{ name: string; rules: AlertRule[] }> } {
  const sel = `cluster="${inv.cluster.name}"`;
  const c = inv.cluster.name;
  const rule = (alert: string, expr: string, dur: string, severity: 'warning' | 'critical', summary: string, description: string): AlertRule =>
    ({ alert, expr, for: dur, labels: { severity }, annotations: { summary, description } });
  const quorum = Math.floor(inv.hosts.length / 2) + 1;
  return {
    groups: [{
      name: `quorum-${c}`,
      rules: [
        rule('QuorumMembersDown', `sum(up{${sel}}) < ${quorum}`, '3m', 'critical',
          `cluster ${c} has lost quorum`,
          `Fewer than ${quorum} of ${inv.hosts.length} members of ${c} answer the metrics scrape.`),
        rule('QuorumNoLeader', `etcd_server_has_leader{${sel}} == 0`, '1m', 'critical',
          `member {{ $labels.member }} has no leader`,
          `Member {{ $labels.member }} of ${c} has not seen a leader for 1 minute.`),
        rule('QuorumHighLeaderChanges', `increase(etcd_server_leader_changes_seen_total{${sel}}[15m]) >= 4`, '5m', 'warning',
          `frequent leader changes in ${c}`,
          `Member {{ $labels.member }} saw {{ $value }} leader changes in 15 minutes (slow disk, network or CPU starvation).`),
        rule('QuorumProposalsFailing', `rate(etcd_server_proposals_failed_total{${sel}}[15m]) > 0`, '15m', 'warning',
          `proposals failing on {{ $labels.member }}`,
          `Member {{ $labels.member }} of ${c} has failed {{ $value }} proposals per second over 15 minutes.`),
        rule('QuorumHighFsyncDurations',
          `histogram_quantile(0.99, sum by (cluster, member, le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket{${sel}}[5m]))) > 0.01`, '10m', 'warning',
          `slow WAL fsync on {{ $labels.member }}`,
          `99th percentile WAL fsync on {{ $labels.member }} is {{ $value }}s (limit 10 ms).`),
        rule('QuorumHighCommitDurations',
          `histogram_quantile(0.99, sum by (cluster, member, le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{${sel}}[5m]))) > 0.025`, '10m', 'warning',
          `slow backend commit on {{ $labels.member }}`,
          `99th percentile backend commit on {{ $labels.member }} is {{ $value }}s (limit 25 ms).`),
        rule('QuorumDatabaseNearQuota',
          `etcd_mvcc_db_total_size_in_bytes{${sel}} / etcd_server_quota_backend_bytes{${sel}} > 0.8`, '10m', 'warning',
          `database of {{ $labels.member }} near its quota`,
          `Member {{ $labels.member }} uses {{ $value | humanizePercentage }} of --quota-backend-bytes; compact and defragment before NOSPACE.`),
      ],
    }],
  };
}

/** One Grafana panel target. */
interface Target { expr: string; legendFormat: string; refId: string }

/** A Grafana timeseries (or stat) panel. */
interface Panel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: 'prometheus'; uid: string };
  fieldConfig: { defaults: { unit: string }; overrides: [] };
  targets: Target[];
}

/**
 * A compact Grafana dashboard (JSON model, schemaVersion 39) with a `$datasource` variable; panels:
 * has_leader, leader changes, proposals committed/applied, pending/failed, WAL fsync and backend commit p99,
 * peer RTT p99, db size vs quota, gRPC rate by method and code. Every query selects the cluster's label.
 */
export function dashboard(inv: Inventory): Record<string, unknown> {
  const sel = `cluster="${inv.cluster.name}"`;
  const ds = { type: 'prometheus' as const, uid: '${datasource}' };
  const panels: Panel[] = [];
  let x = 0;
  let y = 0;
  const add = (type: Panel['type'], title: string, unit: string, w: number, targets: Array<[string, string]>): void => {
    if (x + w > 24) { x = 0; y += 8; }
    panels.push({
      id: panels.length + 1, type, title, datasource: ds,
      gridPos: { x, y, w, h: 8 },
      fieldConfig: { defaults: { unit }, overrides: [] },
      targets: targets.map(([expr, legendFormat], i) => ({ expr, legendFormat, refId: String.fromCharCode(65 + i) })),
    });
    x += w;
  };
  const p99 = (m: string): string => `histogram_quantile(0.99, sum by (member, le) (rate(${m}{${sel}}[5m])))`;
  add('stat', 'Has leader', 'none', 8, [[`etcd_server_has_leader{${sel}}`, '{{member}}']]);
  add('stat', 'Leader changes (1h)', 'none', 8, [[`sum(increase(etcd_server_leader_changes_seen_total{${sel}}[1h]))`, 'changes']]);
  add('stat', 'Leader', 'none', 8, [[`etcd_server_is_leader{${sel}} == 1`, '{{member}}']]);
  add('timeseries', 'Proposals committed / applied (rate)', 'ops', 12, [
    [`sum by (member) (rate(etcd_server_proposals_committed_total{${sel}}[1m]))`, 'committed {{member}}'],
    [`sum by (member) (rate(etcd_server_proposals_applied_total{${sel}}[1m]))`, 'applied {{member}}'],
  ]);
  add('timeseries', 'Proposals pending / failed', 'short', 12, [
    [`etcd_server_proposals_pending{${sel}}`, 'pending {{member}}'],
    [`sum by (member) (rate(etcd_server_proposals_failed_total{${sel}}[1m]))`, 'failed/s {{member}}'],
  ]);
  add('timeseries', 'WAL fsync p99', 's', 12, [[p99('etcd_disk_wal_fsync_duration_seconds_bucket'), '{{member}}']]);
  add('timeseries', 'Backend commit p99', 's', 12, [[p99('etcd_disk_backend_commit_duration_seconds_bucket'), '{{member}}']]);
  add('timeseries', 'Peer round trip p99', 's', 12, [
    [`histogram_quantile(0.99, sum by (member, To, le) (rate(etcd_network_peer_round_trip_time_seconds_bucket{${sel}}[5m])))`, '{{member}} -> {{To}}'],
  ]);
  add('timeseries', 'DB size vs quota', 'bytes', 12, [
    [`etcd_mvcc_db_total_size_in_bytes{${sel}}`, 'size {{member}}'],
    [`etcd_mvcc_db_total_size_in_use_in_bytes{${sel}}`, 'in use {{member}}'],
    [`max(etcd_server_quota_backend_bytes{${sel}})`, 'quota'],
  ]);
  add('timeseries', 'gRPC requests by method', 'reqps', 12, [
    [`sum by (grpc_method) (rate(grpc_server_started_total{${sel},grpc_type="unary"}[1m]))`, '{{grpc_method}}'],
  ]);
  add('timeseries', 'gRPC handled by code', 'reqps', 12, [
    [`sum by (grpc_code) (rate(grpc_server_handled_total{${sel}}[1m]))`, '{{grpc_code}}'],
  ]);
  return {
    title: `quorum ${inv.cluster.name}`,
    uid: `quorum-${inv.cluster.name}`.slice(0, 40),
    tags: ['quorum', 'etcd'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source', current: {}, hide: 0 }],
    },
    panels,
  };
}

/** Paths of the files `writeMonitoring` wrote. */
export interface MonitoringOutput { scrape: string; rules: string; dashboard: string }

/**
 * Writes the three files into `outDir` (created if missing; existing files are overwritten).
 * Throws the fs error (EACCES, ENOTDIR…) when the directory cannot be written.
 */
export function writeMonitoring(inv: Inventory, outDir: string): MonitoringOutput {
  mkdirSync(outDir, { recursive: true });
  const out: MonitoringOutput = {
    scrape: join(outDir, MONITORING_FILES.scrape),
    rules: join(outDir, MONITORING_FILES.rules),
    dashboard: join(outDir, MONITORING_FILES.dashboard),
  };
  const header = `# Generated by \`quorum monitoring\` for cluster ${inv.cluster.name} (${inv.file}).\n`;
  writeFileSync(out.scrape, header + '# Merge scrape_configs into your prometheus.yml; load quorum-alerts.yml with rule_files.\n' + stringify(scrapeConfig(inv)));
  writeFileSync(out.rules, header + stringify(alertRules(inv)));
  writeFileSync(out.dashboard, JSON.stringify(dashboard(inv), null, 2) + '\n');
  return out;
}
