import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseCommandLine, type ServerConfig } from '../../../store/server/config.js';
import { versionText } from '../../../store/server/main.js';

const IC = 'infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380,infra3=http://127.0.0.1:32380';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const r = parseCommandLine(argv, env);
  assert.equal(r.kind, 'run');
  return (r as { config: ServerConfig }).config;
}

test('etcd defaults', () => {
  const c = run([]);
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, 'default.etcd');
  assert.deepEqual(c.listenClientUrls, ['http://localhost:2379']);
  assert.deepEqual(c.listenPeerUrls, ['http://localhost:2380']);
  assert.deepEqual(c.initialCluster, [{ name: 'default', peerUrls: ['http://localhost:2380'] }]);
  assert.equal(c.initialClusterState, 'new');
  assert.equal(c.initialClusterToken, 'etcd-cluster');
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.listenMetricsUrls, []);
  assert.equal(c.clientTls.clientCertAuth, false);
});

test("the etcd docs' local 3-member command line starts a member", () => {
  const c = run([
    '--name', 'infra1', '--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379',
    '--listen-peer-urls', 'http://127.0.0.1:12380', '--initial-advertise-peer-urls', 'http://127.0.0.1:12380',
    '--initial-cluster-token', 'etcd-cluster-1', '--initial-cluster', IC, '--initial-cluster-state', 'new',
    '--enable-pprof', '--logger=zap', '--log-outputs=stderr',
  ]);
  assert.equal(c.name, 'infra1');
  assert.equal(c.initialCluster.length, 3);
  assert.deepEqual(c.initialCluster[2], { name: 'infra3', peerUrls: ['http://127.0.0.1:32380'] });
  assert.equal(c.initialClusterToken, 'etcd-cluster-1');
  assert.deepEqual(c.ignored.sort(), ['enable-pprof', 'log-outputs', 'logger']);
});

test('=value, single dash and boolean forms', () => {
  const c = run(['-name=a', '--initial-advertise-peer-urls=https://10.0.0.1:2380', '--initial-cluster=a=https://10.0.0.1:2380',
    '--listen-peer-urls=https://10.0.0.1:2380', '--peer-cert-file=p.pem', '--peer-key-file=p-key.pem', '--peer-trusted-ca-file=ca.pem',
    '--peer-client-cert-auth', '--client-cert-auth=false', '--heartbeat-interval=250', '--election-timeout=2500']);
  assert.equal(c.name, 'a');
  assert.equal(c.peerTls.clientCertAuth, true);
  assert.equal(c.peerTls.trustedCaFile, 'ca.pem');
  assert.equal(c.clientTls.clientCertAuth, false);
  assert.equal(c.heartbeatIntervalMs, 250);
  assert.equal(c.electionTimeoutMs, 2500);
});

test('ETCD_* environment variables fill in, flags win', () => {
  const c = run(['--name', 'x', '--initial-cluster', 'x=http://localhost:2380'], { ETCD_NAME: 'y', ETCD_DATA_DIR: '/var/lib/etcd', ETCD_LOG_LEVEL: 'debug' });
  assert.equal(c.name, 'x');
  assert.equal(c.dataDir, '/var/lib/etcd');
  assert.equal(c.logLevel, 'debug');
});

test('bad values name the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--heartbeat-interval', 'abc'], /--heartbeat-interval: invalid value "abc"/],
    [['--election-timeout', '300'], /--election-timeout\[300ms\] should be at least as 5 times as --heartbeat-interval\[100ms\]/],
    [['--initial-cluster-state', 'maybe'], /--initial-cluster-state: must be "new" or "existing"/],
    [['--listen-client-urls', 'ftp://x:1'], /--listen-client-urls: URL scheme must be http or https/],
    [['--listen-client-urls', 'http://x'], /--listen-client-urls: URL must include a port/],
    [['--log-level', 'loud'], /--log-level: must be one of/],
    [['--no-such-flag'], /unknown flag: --no-such-flag/],
    [['--name'], /flag needs an argument: --name/],
    [['stray'], /'stray' is not a valid flag/],
    [['--name', 'zz', '--initial-cluster', 'a=http://localhost:2380'], /couldn't find local name "zz"/],
    [['--client-cert-auth=maybe'], /--client-cert-auth: invalid boolean value/],
    [['--listen-client-urls', 'https://127.0.0.1:2379'], /--cert-file and --key-file are required/],
    [['--initial-cluster', 'default=http://10.0.0.9:2380'], /--initial-cluster has default=http:\/\/10.0.0.9:2380 but missing from --initial-advertise-peer-urls/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseCommandLine(argv, {}), (e: unknown) => e instanceof ConfigError && re.test(e.message), argv.join(' '));
  }
});

test('--version and --help', () => {
  assert.deepEqual(parseCommandLine(['--version'], {}), { kind: 'version' });
  assert.deepEqual(parseCommandLine(['--help'], {}), { kind: 'help' });
  const v = versionText();
  assert.match(v, /^quorumd Version: \d+\.\d+\.\d+.*\nAPI Version: 3\.4\n/);
});

test('YAML config file with etcd keys; other flags ignored as etcd does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qcfg-'));
  const file = join(dir, 'quorumd.conf.yml');
  writeFileSync(file, [
    'name: node1',
    'data-dir: /var/lib/etcd',
    'listen-client-urls: https://10.88.0.11:2379,https://127.0.0.1:2379',
    'advertise-client-urls: https://10.88.0.11:2379',
    'listen-peer-urls: https://10.88.0.11:2380',
    'initial-advertise-peer-urls: https://10.88.0.11:2380',
    'initial-cluster: node1=https://10.88.0.11:2380,node2=https://10.88.0.12:2380,node3=https://10.88.0.13:2380',
    'initial-cluster-state: existing',
    'initial-cluster-token: tok',
    'heartbeat-interval: 200',
    'election-timeout: 2000',
    'quota-backend-bytes: 8589934592',
    'listen-metrics-urls: http://10.88.0.11:2381',
    'snapshot-count: 10000',
    'client-transport-security:',
    '  cert-file: /etc/etcd/pki/server.pem',
    '  key-file: /etc/etcd/pki/server-key.pem',
    '  trusted-ca-file: /etc/etcd/pki/ca.pem',
    '  client-cert-auth: true',
    'peer-transport-security:',
    '  cert-file: /etc/etcd/pki/peer.pem',
    '  key-file: /etc/etcd/pki/peer-key.pem',
    '  trusted-ca-file: /etc/etcd/pki/ca.pem',
    '  client-cert-auth: true',
    '',
  ].join('\n'));
  const c = run(['--config-file', file, '--name', 'ignored']);
  assert.equal(c.name, 'node1');
  assert.equal(c.initialClusterState, 'existing');
  assert.deepEqual(c.listenClientUrls, ['https://10.88.0.11:2379', 'https://127.0.0.1:2379']);
  assert.equal(c.heartbeatIntervalMs, 200);
  assert.equal(c.quotaBackendBytes, 8589934592);
  assert.deepEqual(c.clientTls, { certFile: '/etc/etcd/pki/server.pem', keyFile: '/etc/etcd/pki/server-key.pem', trustedCaFile: '/etc/etcd/pki/ca.pem', clientCertAuth: true });
  assert.equal(c.peerTls.certFile, '/etc/etcd/pki/peer.pem');
  assert.equal(c.peerTls.clientCertAuth, true);
  assert.ok(!c.ignored.includes('snapshot-count'));
  assert.deepEqual(c.snapshot, { count: 10000, catchupEntries: 5000, maxSnapshots: 5, maxWals: 5 }); // etcd's defaults besides the file's

  writeFileSync(file, 'name: n\nheartbeat-interval: fast\n');
  assert.throws(() => run(['--config-file', file]), /heartbeat-interval: invalid value "fast"/);
  writeFileSync(file, 'client-transport-security:\n  client-cert-auth: "yes"\n');
  assert.throws(() => run(['--config-file', file]), /client-cert-auth: expected true or false/);
  assert.throws(() => run(['--config-file', join(dir, 'missing.yml')]), /--config-file: cannot read/);
});
