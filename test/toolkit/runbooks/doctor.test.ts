/**
 * The doctor's pure parts: the probe output parser (WAL metadata from real encoded bytes, metrics, ports), the
 * histogram quantile, and `diagnose` turning facts into findings: nothing on a healthy cluster, and for each
 * injected cause a finding naming the host(s) and the runbook that fixes it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_THRESHOLDS, type DoctorFacts, type Finding, diagnose, formatFindings, suggestTimeouts } from '../../../playbooks/runbooks/doctor-diagnose.js';
import { certRow, EXAMPLE_NOW_S, exampleDoctorFacts, healthyDoctorFacts } from '../../../playbooks/runbooks/doctor-examples.js';
import { histogramQuantile, parseProbeOutput, parseWalHead, probeScript } from '../../../playbooks/runbooks/doctor-probes.js';
import { planDoctor } from '../../../playbooks/runbooks/doctor.js';
import { exampleInventory } from '../../../playbooks/runbooks/examples.js';
import { encodeRecords, RecordType } from '../../../store/wal/record.js';

const inv = exampleInventory();
const F = '/home/ops/lab.yaml';

function only(findings: Finding[], check: Finding['check']): Finding[] {
  return findings.filter((f) => f.check === check);
}

test('a healthy cluster: no finding, exit-0 text', () => {
  const f = diagnose(inv, healthyDoctorFacts());
  assert.deepEqual(f, []);
  assert.equal(formatFindings(f), 'doctor: no problems found\n');
});

test('parseWalHead reads the member and cluster IDs from a real WAL metadata record', () => {
  const buf = encodeRecords([{ type: RecordType.Metadata, meta: { memberId: 0x924e2e83e93f2560n, clusterId: 0x1c9b0a3d2b5e6f70n } }]);
  const hex = buf.subarray(0, 25).toString('hex');
  assert.deepEqual(parseWalHead(hex), { memberId: '924e2e83e93f2560', clusterId: '1c9b0a3d2b5e6f70' });
  assert.equal(parseWalHead(hex.replace(/^(.{16})01/, '$102')), undefined, 'not a metadata record');
  assert.equal(parseWalHead('00'), undefined);
});

test('parseProbeOutput: the script\'s lines into a HostProbe', () => {
  const buf = encodeRecords([{ type: RecordType.Metadata, meta: { memberId: 0xa8266ecf031671f3n, clusterId: 0x1n } }]);
  const out = [
    'resolve etcd-01 10.88.0.11', 'resolve etcd-02 -', 'resolve etcd-03 10.88.0.13',
    'port 10.88.0.11:2380 0', 'port 10.88.0.11:2379 124', 'port 10.88.0.12:2380 1',
    'datadir present', `walhead ${buf.subarray(0, 25).toString('hex')}`, 'fsync 0.234',
    'now 1795230000', 'unit active',
    'metric etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 3',
    'metric etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 10',
    'metric etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 9',
    'metric etcd_server_leader_changes_seen_total 2',
    'metric process_start_time_seconds 1795229000',
    'corrupt wal: corrupt segment /var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal at offset 4096: CRC mismatch',
    'garbage line',
  ].join('\n');
  const p = parseProbeOutput('etcd-03', out);
  assert.deepEqual(p.resolve, { 'etcd-01': '10.88.0.11', 'etcd-02': undefined, 'etcd-03': '10.88.0.13' });
  assert.deepEqual(p.ports, [{ address: '10.88.0.11', port: 2380, code: 0 }, { address: '10.88.0.11', port: 2379, code: 124 }, { address: '10.88.0.12', port: 2380, code: 1 }]);
  assert.deepEqual(p.dataDir, { present: true, walMemberId: 'a8266ecf031671f3', walClusterId: '1' });
  assert.equal(p.fsyncMeanMs, 2.34);
  assert.deepEqual(p.metrics, { walFsyncBuckets: [[0.001, 3], [0.002, 9], [Number.POSITIVE_INFINITY, 10]], leaderChanges: 2, startTime: 1795229000 });
  assert.equal(p.unit, 'active');
  assert.match(p.corruption!, /CRC mismatch/);
  assert.deepEqual(parseProbeOutput('x', 'datadir absent\nfsync -\n').dataDir, { present: false });
  assert.equal(parseProbeOutput('x', 'fsync -\n').fsyncMeanMs, undefined);
});

test('histogramQuantile interpolates inside the bucket (Prometheus histogram_quantile)', () => {
  assert.equal(histogramQuantile(0.99, []), undefined);
  assert.equal(histogramQuantile(0.5, [[0.001, 50], [0.002, 100], [Number.POSITIVE_INFINITY, 100]]), 0.001);
  assert.ok(Math.abs(histogramQuantile(0.99, [[0.008, 90], [0.016, 100], [Number.POSITIVE_INFINITY, 100]])! - 0.0152) < 1e-9);
  assert.equal(histogramQuantile(0.99, [[0.008, 10], [Number.POSITIVE_INFINITY, 100]]), 0.008);
});

test('ports: a dropped peer port names the host and 2380 with the firewall fix; a refusal names quorumd', () => {
  const f = healthyDoctorFacts();
  for (const p of f.probes) for (const pr of p.ports) if (pr.address === '10.88.0.12' && pr.port === 2380) pr.code = 124;
  const ports = only(diagnose(inv, f), 'ports');
  assert.equal(ports.length, 1);
  assert.deepEqual(ports[0]!.hosts, ['etcd-02']);
  assert.equal(ports[0]!.severity, 'error');
  assert.match(ports[0]!.what, /^peer port 2380 on etcd-02 \(10\.88\.0\.12\) is not reachable from etcd-01, etcd-03 \(timed out/);
  assert.match(ports[0]!.fix, /nft list ruleset .*quorum provision -i \/home\/ops\/lab\.yaml.*nc -zv 10\.88\.0\.12 2380/);

  const g = healthyDoctorFacts();
  g.probes[0]!.ports.find((x) => x.address === '10.88.0.13' && x.port === 2379)!.code = 1;
  const r = only(diagnose(inv, g), 'ports');
  assert.match(r[0]!.what, /^client port 2379 on etcd-03 .* from etcd-01 \(connection refused/);
  assert.match(r[0]!.fix, /replace-member -i \/home\/ops\/lab\.yaml --member etcd-03/);
});

test('members: not answering; a corrupt member is named with its journal line and replace-member', () => {
  const f = healthyDoctorFacts();
  f.cluster = { ...f.cluster, statuses: f.cluster.statuses.map((s, i) => (i === 1 ? { endpoint: s.endpoint, name: s.name, error: 'connect ECONNREFUSED 10.88.0.12:2379' } : s)) };
  f.probes[1]!.unit = 'activating';
  f.probes[1]!.corruption = 'wal: corrupt segment /var/lib/etcd/member/wal/x.wal at offset 512: CRC mismatch';
  const m = only(diagnose(inv, f), 'members');
  assert.equal(m.length, 1);
  assert.deepEqual(m[0]!.hosts, ['etcd-02']);
  assert.match(m[0]!.what, /not answering .*quorumd reports: wal: corrupt segment/);
  assert.match(m[0]!.fix, /quorum runbook replace-member -i \/home\/ops\/lab\.yaml --member etcd-02/);
  const none = { ...f, cluster: { statuses: f.cluster.statuses.map((s) => ({ endpoint: s.endpoint, name: s.name, error: 'down' })) } };
  const all = only(diagnose(inv, none), 'members');
  assert.match(all[0]!.fix, /recover-quorum .*restore/);
});

test('peer-urls: a wrong address, a member outside the inventory, an inventory host outside the membership', () => {
  const f = healthyDoctorFacts();
  const ms = f.cluster.membership!.map((m) => ({ ...m }));
  ms[2]!.peerUrls = ['https://10.88.0.99:2380'];
  ms.push({ id: 'abc', name: 'etcd-09', peerUrls: ['https://10.88.0.19:2380'], isLearner: false });
  ms.splice(1, 1);
  f.cluster = { ...f.cluster, membership: ms };
  const p = only(diagnose(inv, f), 'peer-urls');
  assert.deepEqual(p.map((x) => x.hosts[0]), ['etcd-03', 'etcd-09', 'etcd-02']);
  assert.match(p[0]!.what, /peer URLs https:\/\/10\.88\.0\.99:2380 do not match the inventory's https:\/\/10\.88\.0\.13:2380/);
  assert.match(p[0]!.fix, /replace-member .*--member etcd-03/);
  assert.match(p[1]!.fix, /member remove abc/);
  assert.match(p[2]!.what, /not a member/);
});

test('data-dirs: leftover data dir on a non-member, a WAL of another member, a lost data dir', () => {
  const f = healthyDoctorFacts();
  f.cluster = { ...f.cluster, membership: f.cluster.membership!.filter((m) => m.name !== 'etcd-03') };
  f.probes[1]!.dataDir.walMemberId = 'deadbeef';
  const d = only(diagnose(inv, f), 'data-dirs');
  assert.deepEqual(d.map((x) => x.hosts[0]), ['etcd-02', 'etcd-03']);
  assert.match(d[0]!.what, /belongs to member ID deadbeef, which is not in the membership/);
  assert.match(d[0]!.fix, /reset-member .*--member etcd-02/);
  assert.match(d[1]!.what, /leftover data dir \/var\/lib\/etcd .* on a host that is not a member/);
  assert.match(d[1]!.fix, /replace-member .*--member etcd-03/);

  const g = healthyDoctorFacts();
  g.cluster = { ...g.cluster, statuses: g.cluster.statuses.map((s, i) => (i === 0 ? { endpoint: s.endpoint, name: s.name, error: 'down' } : s)) };
  g.probes[0]!.dataDir = { present: false };
  const lost = only(diagnose(inv, g), 'data-dirs');
  assert.match(lost[0]!.what, /no data dir \/var\/lib\/etcd: its data is lost/);
  assert.match(lost[0]!.fix, /replace-member .*--member etcd-01/);
});

test('resolve: a name that does not resolve, and one that resolves elsewhere', () => {
  const f = healthyDoctorFacts();
  f.probes[0]!.resolve['etcd-03'] = undefined;
  f.probes[2]!.resolve['etcd-03'] = undefined;
  f.probes[1]!.resolve['etcd-01'] = '10.0.0.1';
  const r = only(diagnose(inv, f), 'resolve');
  assert.deepEqual(r.map((x) => [x.hosts, x.what]), [[['etcd-02'], 'etcd-01 resolves to 10.0.0.1, not the inventory\'s 10.88.0.11'], [['etcd-01', 'etcd-03'], 'etcd-03 does not resolve']]);
  assert.match(r[1]!.fix, /quorum provision/);
});

test('disk: fsync p99 above 10 ms warns with heartbeat and election timeouts to use', () => {
  assert.deepEqual(suggestTimeouts(3, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 }), { heartbeatMs: 100, electionMs: 1000 });
  assert.deepEqual(suggestTimeouts(23.4, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 }), { heartbeatMs: 250, electionMs: 2500 });
  const f = healthyDoctorFacts();
  f.probes[1]!.metrics!.walFsyncBuckets = [[0.008, 50], [0.016, 90], [0.032, 200], [Number.POSITIVE_INFINITY, 200]];
  const d = only(diagnose(inv, f), 'disk');
  assert.equal(d.length, 1);
  assert.equal(d[0]!.severity, 'warn');
  assert.match(d[0]!.what, /WAL fsync p99 31\.\d ms over 200 fsyncs/);
  assert.match(d[0]!.fix, /heartbeat-interval: 350 and election-timeout: 3500/);
  // fewer than 100 fsyncs: the histogram is not trusted; the dd probe alone decides
  f.probes[1]!.metrics!.walFsyncBuckets = [[0.032, 50], [Number.POSITIVE_INFINITY, 50]];
  assert.deepEqual(only(diagnose(inv, f), 'disk'), []);
  assert.equal(only(diagnose(inv, f, { ...DEFAULT_THRESHOLDS, fsyncWarnMs: 1 }), 'disk').length, 3, 'threshold honoured');
});

test('leader: no leader, and frequent leader changes (not old ones)', () => {
  const f = healthyDoctorFacts();
  f.probes[2]!.metrics = { ...f.probes[2]!.metrics!, leaderChanges: 12, startTime: EXAMPLE_NOW_S - 30 * 60 };
  f.probes[1]!.metrics = { ...f.probes[1]!.metrics!, leaderChanges: 12, startTime: EXAMPLE_NOW_S - 3 * 86_400 };
  const l = only(diagnose(inv, f), 'leader');
  assert.equal(l.length, 1);
  assert.deepEqual(l[0]!.hosts, ['etcd-03']);
  assert.match(l[0]!.what, /12 leader changes in 30 minutes/);
  const g = healthyDoctorFacts();
  g.cluster = { ...g.cluster, statuses: g.cluster.statuses.map((s, i) => (i === 0 ? { ...s, status: { ...s.status!, leader: 0n } } : s)) };
  assert.deepEqual(only(diagnose(inv, g), 'leader').map((x) => x.hosts), [['etcd-01']]);
});

test('alarms: NOSPACE -> nospace runbook, CORRUPT -> reset-member', () => {
  const f: DoctorFacts = healthyDoctorFacts();
  f.cluster = { ...f.cluster, statuses: f.cluster.statuses.map((s, i) => (i === 0 ? { ...s, status: { ...s.status!, errors: ['memberID:6e3bd23ae5f1eaba alarm:NOSPACE '] } }
    : i === 2 ? { ...s, status: { ...s.status!, errors: ['memberID:a8266ecf031671f3 alarm:CORRUPT '] } } : s)) };
  const a = only(diagnose(inv, f), 'alarms');
  assert.deepEqual(a.map((x) => [x.hosts[0], x.fix]), [['etcd-01', `quorum runbook nospace -i ${F}`], ['etcd-03', `quorum runbook reset-member -i ${F} --member etcd-03`]]);
});

test('certs: near expiry warns, expired or wrong is an error, the CA points to --ca', () => {
  const f = healthyDoctorFacts();
  f.certs = [certRow('etcd-01', 'server', 12), certRow('etcd-02', 'ca', -1), { ...certRow('etcd-03', 'peer', 200), problems: ['SANs lack 10.88.0.13 (fix: quorum certs rotate)'] }, certRow('operator', 'client', 100)];
  const c = only(diagnose(inv, f), 'certs');
  assert.deepEqual(c.map((x) => [x.hosts[0], x.severity]), [['etcd-01', 'warn'], ['etcd-02', 'error'], ['etcd-03', 'error']]);
  assert.match(c[0]!.what, /server certificate expires .*\(12 days left\)/);
  assert.equal(c[1]!.fix, `quorum certs rotate -i ${F} --ca`);
  assert.equal(only(diagnose(inv, f, { ...DEFAULT_THRESHOLDS, certWarnDays: 5 }), 'certs').length, 2);
});

test('the docs example: one error and two warnings, in check order', () => {
  const text = formatFindings(diagnose(inv, exampleDoctorFacts()));
  assert.match(text, /^ERROR \[ports\] etcd-02: peer port 2380/m);
  assert.match(text, /^WARN {2}\[disk\] etcd-03: slow disk/m);
  assert.match(text, /^WARN {2}\[certs\] etcd-01: server certificate/m);
  assert.match(text, /doctor: 3 problem\(s\): 1 error\(s\), 2 warning\(s\)\n$/);
});

test('the plan is read-only probes on every host; the script has every section', () => {
  const plan = planDoctor(inv, healthyDoctorFacts().cluster);
  assert.equal(plan.refused, undefined);
  assert.ok(plan.steps.every((s) => s.kind === 'sh' || s.kind === 'gate'));
  const script = probeScript(inv);
  for (const needle of ['getent ahostsv4', '</dev/tcp/', 'od -An -tx1 -N25', 'oflag=dsync', 'etcd_disk_wal_fsync_duration_seconds_bucket', 'journalctl -u quorumd']) {
    assert.ok(script.includes(needle), needle);
  }
  assert.doesNotMatch(script, /\brm -rf\b|systemctl (stop|restart)|nft (add|insert|delete)/, 'nothing destructive');
});
