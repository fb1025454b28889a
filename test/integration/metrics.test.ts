/**
 * Observability: a running 3-member quorumd cluster exports, on every member's --listen-metrics-urls, every
 * series that the stock etcd Grafana dashboard and etcd's alert rules query, with etcd's label names; and
 * /health, /livez, /readyz answer as etcd does.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdctl, makeCluster, parseStatusJson, run, stopAll, waitFor, type Member } from './quorumd_harness.js';

/**
 * Every metric name the queries of etcd's sample Grafana dashboard use
 * (etcd-io/etcd Documentation/op-guide/grafana.json, etcd 3.4 tree: panels Up, RPC Rate, Active Streams,
 * DB Size, Disk Sync Duration, Memory, Client/Peer Traffic In/Out, Raft Proposals, Leader Elections Per Day).
 */
const DASHBOARD_SERIES = [
  'etcd_server_has_leader',
  'grpc_server_started_total',
  'grpc_server_handled_total',
  'etcd_debugging_mvcc_db_total_size_in_bytes',
  'etcd_disk_wal_fsync_duration_seconds_bucket',
  'etcd_disk_backend_commit_duration_seconds_bucket',
  'process_resident_memory_bytes',
  'etcd_network_client_grpc_received_bytes_total',
  'etcd_network_client_grpc_sent_bytes_total',
  'etcd_network_peer_received_bytes_total',
  'etcd_network_peer_sent_bytes_total',
  'etcd_server_proposals_failed_total',
  'etcd_server_proposals_pending',
  'etcd_server_proposals_committed_total',
  'etcd_server_proposals_applied_total',
  'etcd_server_leader_changes_seen_total',
];

/**
 * Metric names etcd's alert rules use (etcd-io/etcd Documentation/op-guide/etcd3_alert.rules.yml, synced from
 * the etcd mixin), except etcd_http_* (the v2 HTTP API, which quorumd does not serve) and `up` (Prometheus').
 */
const ALERT_SERIES = [
  'etcd_network_peer_sent_failures_total', // exists once a send to a peer has failed: checked in its own test
  'etcd_server_has_leader',
  'etcd_server_leader_changes_seen_total',
  'grpc_server_handled_total',
  'grpc_server_handling_seconds_bucket',
  'etcd_network_peer_round_trip_time_seconds_bucket',
  'etcd_server_proposals_failed_total',
  'etcd_disk_wal_fsync_duration_seconds_bucket',
  'etcd_disk_backend_commit_duration_seconds_bucket',
];

/** Further series the issue names (etcd 3.4 names; lease, watch, keys, identity, runtime). */
const OTHER_SERIES = [
  'etcd_server_is_leader', 'etcd_mvcc_db_total_size_in_bytes', 'etcd_mvcc_db_total_size_in_use_in_bytes',
  'etcd_debugging_mvcc_keys_total', 'etcd_debugging_mvcc_watch_stream_total', 'etcd_debugging_mvcc_watcher_total',
  'etcd_debugging_lease_granted_total', 'etcd_debugging_lease_revoked_total', 'etcd_debugging_lease_renewed_total',
  'etcd_debugging_lease_ttl_total_bucket', 'etcd_server_id', 'etcd_server_version', 'etcd_server_is_learner',
  'etcd_server_quota_backend_bytes', 'process_cpu_seconds_total', 'process_open_fds', 'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_seconds', 'grpc_server_msg_received_total', 'grpc_server_msg_sent_total',
];

/** One sample of a Prometheus text exposition. */
interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parse the Prometheus text format (names, labels, values; comments skipped). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

const find = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));

let members: Member[];
const eps = () => members.map((m) => m.clientUrl).join(',');
const scrape = async (m: Member) => parseExposition(await (await fetch(`${m.metricsUrl}/metrics`)).text());

before(async () => {
  members = await makeCluster(3);
  for (const m of members) m.start();
  await waitFor('a healthy cluster', async () => (await etcdctl(['--endpoints', eps(), 'endpoint', 'health'])).code === 0, 60_000);
  // traffic for the counters: puts, a range, a lease grant, a watch (a bidi stream that stays open a moment)
  for (let i = 0; i < 5; i++) assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, 'put', `/m/k${i}`, 'v'])).code, 0);
  assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, 'get', '/m/k0'])).code, 0);
  assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, 'lease', 'grant', '60'])).code, 0);
  // a watch that is killed after 2 s: its stream ends Canceled on the server
  await run('/usr/bin/etcdctl', ['--endpoints', members[0].clientUrl, 'watch', '/m/', '--prefix', '--rev', '2'], { ETCDCTL_API: '3' }, 2000);
});

after(async () => {
  await stopAll();
});

test('every member exports every series the etcd dashboard and alert rules query', { timeout: 60_000 }, async () => {
  const wanted = [...new Set([...DASHBOARD_SERIES, ...ALERT_SERIES, ...OTHER_SERIES])].filter((n) => n !== 'etcd_network_peer_sent_failures_total');
  for (const m of members) {
    // peer RTT and backend commit appear after the first probe / apply: wait for them
    const samples = await waitFor(`every series on ${m.name}`, async () => {
      const s = await scrape(m);
      const names = new Set(s.map((x) => x.name));
      return wanted.every((n) => names.has(n)) ? s : undefined;
    }, 20_000).catch(async (e: Error) => {
      const names = new Set((await scrape(m)).map((x) => x.name));
      throw new Error(`${m.name} misses ${wanted.filter((n) => !names.has(n)).join(', ')} (${e.message})`);
    });
    assert.equal(find(samples, 'etcd_server_has_leader')[0].value, 1, m.name);
    assert.equal(find(samples, 'etcd_debugging_mvcc_keys_total')[0].value, 5, m.name);
  }
});

test('label names and values as etcd: grpc_type/service/method/code, To/From, server_id', { timeout: 60_000 }, async () => {
  const s = await scrape(members[0]);
  const put = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' };
  assert.ok(find(s, 'grpc_server_started_total', put)[0].value >= 5);
  assert.ok(find(s, 'grpc_server_handled_total', { ...put, grpc_code: 'OK' })[0].value >= 5);
  assert.equal(find(s, 'grpc_server_handled_total', { ...put, grpc_code: 'Unavailable' })[0].value, 0);
  // the dashboard's "Active Streams" panel selects these two bidi_stream series
  assert.equal(find(s, 'grpc_server_started_total', { grpc_service: 'etcdserverpb.Watch', grpc_type: 'bidi_stream' }).length, 1);
  assert.equal(find(s, 'grpc_server_started_total', { grpc_service: 'etcdserverpb.Lease', grpc_method: 'LeaseKeepAlive', grpc_type: 'bidi_stream' }).length, 1);
  assert.ok(find(s, 'grpc_server_handled_total', { grpc_service: 'etcdserverpb.Watch', grpc_code: 'Canceled' }).length === 1);
  assert.ok(find(s, 'etcd_debugging_lease_granted_total')[0].value >= 1);
  assert.ok(find(s, 'etcd_network_client_grpc_received_bytes_total')[0].value > 0);
  const status = parseStatusJson((await etcdctl(['--endpoints', eps(), 'endpoint', 'status', '-w', 'json'])).stdout);
  for (const [i, m] of members.entries()) {
    const ms = await scrape(m);
    const id = find(ms, 'etcd_server_id')[0];
    assert.equal(id.value, 1);
    assert.equal(BigInt(`0x${id.labels.server_id}`).toString(), status.find((x) => x.endpoint === m.clientUrl)!.memberId, `member ${i}`);
    const others = status.filter((x) => x.endpoint !== m.clientUrl).map((x) => BigInt(x.memberId).toString(16)).sort();
    // every member probes every peer (RTT); payload bytes flow between the leader and each follower
    const leader = find(ms, 'etcd_server_is_leader')[0].value === 1;
    await waitFor(`peer series on ${m.name}`, async () => {
      const cur = await scrape(m);
      const nonZero = (name: string, label: string) => find(cur, name).filter((x) => x.value > 0).map((x) => x.labels[label]).sort();
      const rtt = [...new Set(find(cur, 'etcd_network_peer_round_trip_time_seconds_bucket').map((x) => x.labels.To))].sort();
      const to = nonZero('etcd_network_peer_sent_bytes_total', 'To');
      const from = nonZero('etcd_network_peer_received_bytes_total', 'From');
      const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
      return same(rtt, others) && (leader ? same(to, others) && same(from, others) : to.length === 1 && from.length === 1);
    }, 20_000);
  }
});

test('/health, /livez, /readyz on the metrics listener; 404 elsewhere', { timeout: 30_000 }, async () => {
  const base = members[1].metricsUrl;
  const h = await fetch(`${base}/health`);
  assert.equal(h.status, 200);
  assert.equal(await h.text(), '{"health":"true"}');
  const live = await fetch(`${base}/livez`);
  assert.equal(live.status, 200);
  assert.equal(await live.text(), 'ok');
  const ready = await fetch(`${base}/readyz?verbose`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\nreadyz check passed\n');
  const nf = await fetch(`${base}/nope`);
  assert.equal(nf.status, 404);
  assert.equal(await nf.text(), '404 page not found\n');
});

test('a stopped peer: etcd_network_peer_sent_failures_total{To} grows, and /readyz fails without quorum', { timeout: 90_000 }, async () => {
  const [a, b, c] = members;
  const ids = parseStatusJson((await etcdctl(['--endpoints', eps(), 'endpoint', 'status', '-w', 'json'])).stdout);
  const bId = BigInt(ids.find((x) => x.endpoint === b.clientUrl)!.memberId).toString(16);
  await b.kill('SIGKILL');
  await waitFor('send failures to the stopped member', async () =>
    find(await scrape(a), 'etcd_network_peer_sent_failures_total', { To: bId }).some((x) => x.value > 0), 30_000);
  await c.kill('SIGKILL');
  const r = await waitFor('/readyz failing', async () => {
    const res = await fetch(`${a.metricsUrl}/readyz`);
    return res.status === 503 ? res : undefined;
  }, 60_000);
  assert.match(await r.text(), /\[-\]linearizable_read failed: .*\nreadyz check failed\n$/);
  const h = await fetch(`${a.metricsUrl}/health`);
  assert.equal(h.status, 503);
  assert.equal(await h.text(), '{"health":"false"}');
  assert.equal((await fetch(`${a.metricsUrl}/livez`)).status, 200);
});
