/**
 * `quorum monitoring`: the scrape config lists every member of inventory/example.yaml with its labels, the
 * alert rules parse as YAML with the expected alerts, and the dashboard parses as JSON and queries only
 * metric names quorumd exports (checked against a live `Metrics` registry of store/server/metrics.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadInventory } from '../../../toolkit/inventory/index.js';
import { MONITORING_FILES, writeMonitoring } from '../../../playbooks/monitoring/index.js';
import { Metrics } from '../../../store/server/metrics.js';
import { main } from '../../../toolkit/cli/main.js';

const root = new URL('../../../../', import.meta.url).pathname;
const example = join(root, 'inventory', 'example.yaml');

/** Every series name quorumd's registry exposes (histograms as _bucket/_sum/_count too). */
async function exportedNames(): Promise<Set<string>> {
  const m = new Metrics();
  const names = new Set<string>();
  for (const x of await m.registry.getMetricsAsJSON()) {
    names.add(x.name);
    if (String(x.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(x.name + s);
  }
  return names;
}

/**
 * Metric names referenced by a PromQL expression: label matchers and `by (...)` lists are removed first, then
 * every identifier before `{` and every etcd_/grpc_/process_/nodejs_ identifier counts.
 */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '{}').replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  const out = new Set<string>();
  for (const m of bare.matchAll(/\b([a-z_][a-z0-9_]*)\{/g)) out.add(m[1]!);
  for (const m of bare.matchAll(/\b((?:etcd|grpc|process|nodejs)_[a-z0-9_]+)/g)) out.add(m[1]!);
  return [...out];
}

function generate(): { dir: string; scrape: any; rules: any; dash: any } {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-monitoring-'));
  writeMonitoring(loadInventory(example), dir);
  return {
    dir,
    scrape: parse(readFileSync(join(dir, MONITORING_FILES.scrape), 'utf8')),
    rules: parse(readFileSync(join(dir, MONITORING_FILES.rules), 'utf8')),
    dash: JSON.parse(readFileSync(join(dir, MONITORING_FILES.dashboard), 'utf8')),
  };
}

test('the scrape config has one job for the cluster and every member as a labelled target', () => {
  const g = generate();
  try {
    const jobs = g.scrape.scrape_configs;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].job_name, 'quorum-etcd-prod');
    assert.equal(jobs[0].scheme, 'http');
    const got = jobs[0].static_configs.map((s: any) => [s.targets, s.labels]);
    assert.deepEqual(got, [
      [['192.168.1.11:2381'], { cluster: 'etcd-prod', member: 'etcd-01' }],
      [['192.168.1.12:2381'], { cluster: 'etcd-prod', member: 'etcd-02' }],
      [['192.168.1.13:2381'], { cluster: 'etcd-prod', member: 'etcd-03' }],
    ]);
  } finally { rmSync(g.dir, { recursive: true, force: true }); }
});

test('the alert rules parse as YAML with the expected alerts on exported metrics', async () => {
  const g = generate();
  try {
    const names = await exportedNames();
    assert.equal(g.rules.groups.length, 1);
    const rules = g.rules.groups[0].rules as Array<{ alert: string; expr: string; for: string; labels: { severity: string } }>;
    const byName = new Map(rules.map((r) => [r.alert, r]));
    for (const a of ['QuorumNoLeader', 'QuorumHighLeaderChanges', 'QuorumProposalsFailing', 'QuorumHighFsyncDurations', 'QuorumDatabaseNearQuota', 'QuorumMembersDown']) {
      assert.ok(byName.has(a), `alert ${a}`);
    }
    assert.match(byName.get('QuorumHighFsyncDurations')!.expr, /histogram_quantile\(0\.99, .*etcd_disk_wal_fsync_duration_seconds_bucket.*\) > 0\.01$/);
    assert.match(byName.get('QuorumNoLeader')!.expr, /^etcd_server_has_leader\{cluster="etcd-prod"\} == 0$/);
    assert.match(byName.get('QuorumMembersDown')!.expr, /< 2$/);
    for (const r of rules) {
      assert.ok(['warning', 'critical'].includes(r.labels.severity), r.alert);
      assert.match(r.for, /^\d+m$/);
      for (const n of metricNames(r.expr)) if (n !== 'up') assert.ok(names.has(n), `${r.alert} uses ${n}, which quorumd does not export`);
    }
  } finally { rmSync(g.dir, { recursive: true, force: true }); }
});

test('the dashboard parses as JSON and every metric it queries is exported by quorumd', async () => {
  const g = generate();
  try {
    const names = await exportedNames();
    const panels = g.dash.panels as Array<{ title: string; gridPos: { x: number; w: number }; targets: Array<{ expr: string }> }>;
    assert.ok(panels.length >= 10);
    const queried = new Set<string>();
    for (const p of panels) {
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, p.title);
      for (const t of p.targets) {
        assert.match(t.expr, /cluster="etcd-prod"/, p.title);
        for (const n of metricNames(t.expr)) queried.add(n);
      }
    }
    for (const n of queried) assert.ok(names.has(n), `dashboard queries ${n}, which quorumd does not export`);
    for (const n of ['etcd_server_has_leader', 'etcd_server_leader_changes_seen_total', 'etcd_server_proposals_committed_total',
      'etcd_server_proposals_applied_total', 'etcd_server_proposals_pending', 'etcd_server_proposals_failed_total',
      'etcd_disk_wal_fsync_duration_seconds_bucket', 'etcd_disk_backend_commit_duration_seconds_bucket',
      'etcd_network_peer_round_trip_time_seconds_bucket', 'etcd_mvcc_db_total_size_in_bytes', 'etcd_server_quota_backend_bytes',
      'grpc_server_started_total', 'grpc_server_handled_total']) {
      assert.ok(queried.has(n), `dashboard has a panel for ${n}`);
    }
  } finally { rmSync(g.dir, { recursive: true, force: true }); }
});

test('quorum monitoring -i FILE --out DIR writes the three files; missing --out is bad input', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-monitoring-cli-'));
  const out = join(dir, 'mon');
  const writes: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = (s: string) => { writes.push(String(s)); return true; };
  let code: number;
  try { code = await main(['monitoring', '-i', example, '--out', out]); } finally { (process.stdout as { write: unknown }).write = orig; }
  try {
    assert.equal(code, 0);
    for (const f of Object.values(MONITORING_FILES)) assert.ok(readFileSync(join(out, f), 'utf8').length > 0, f);
    assert.match(writes.join(''), /wrote .*prometheus\.yml/);
    const origErr = process.stderr.write.bind(process.stderr);
    (process.stderr as { write: unknown }).write = () => true;
    try { assert.equal(await main(['monitoring', '-i', example]), 2); } finally { (process.stderr as { write: unknown }).write = origErr; }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
