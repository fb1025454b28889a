import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryError, loadInventory, parseInventory } from '../../../toolkit/inventory/index.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const FILE = '/inv/test.yaml';

const three = `hosts:
  - name: etcd-01
    address: 10.0.0.1
  - name: etcd-02
    address: 10.0.0.2
  - name: etcd-03
    address: 10.0.0.3
`;

/** Parse expecting failure; return the problems as `line:col path` plus the message lines. */
function fail(text: string): { where: string[]; message: string } {
  try {
    parseInventory(text, FILE);
  } catch (err) {
    assert.ok(err instanceof InventoryError, `expected InventoryError, got ${String(err)}`);
    return { where: err.problems.map((p) => `${p.line}:${p.col} ${p.path}`), message: err.message };
  }
  assert.fail('expected an InventoryError');
}

test('inventory/example.yaml loads with its values and defaults', () => {
  const inv = loadInventory(join(root, 'inventory/example.yaml'));
  assert.equal(inv.file, join(root, 'inventory/example.yaml'));
  assert.deepEqual(inv.cluster, {
    name: 'etcd-prod', token: 'etcd-cluster-1', clientPort: 2379, peerPort: 2380, metricsPort: 2381,
    user: 'etcd', dataDir: '/var/lib/etcd', configDir: '/etc/etcd',
    store: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, quotaBackendBytes: 2147483648, logLevel: 'info' },
  });
  assert.deepEqual(inv.ssh, { user: 'root', port: 22, connectTimeoutMs: 10000, privateKey: join(homedir(), '.ssh/id_ed25519') });
  assert.deepEqual(inv.pki, { dir: join(homedir(), '.quorum/etcd-prod/pki'), certDays: 365 });
  assert.deepEqual(inv.hosts.map((h) => [h.name, h.address]), [
    ['etcd-01', '192.168.1.11'], ['etcd-02', '192.168.1.12'], ['etcd-03', '192.168.1.13'],
  ]);
  assert.deepEqual(inv.hosts[1].ssh, inv.ssh);
  assert.deepEqual(inv.hosts[2].store, inv.cluster.store);
});

test('inventory/lab.yaml (3-host shape as committed) loads', () => {
  const inv = loadInventory(join(root, 'test/toolkit/inventory/fixtures/lab-3.yaml'));
  assert.equal(inv.cluster.name, 'lab');
  assert.equal(inv.cluster.token, 'lab-cluster-1');
  assert.equal(inv.pki.dir, '/var/lib/quorum-lab/pki');
  assert.equal(inv.ssh.privateKey, '/var/lib/quorum-lab/ssh/id_ed25519');
  assert.deepEqual(inv.hosts.map((h) => h.address), ['10.88.0.11', '10.88.0.12', '10.88.0.13']);
});

test('inventory/lab.yaml as `quorum lab up` last wrote it is valid apart from its member count', () => {
  // lab.yaml lists the lab hosts that are up, so its host count varies; everything else must validate.
  try {
    const inv = loadInventory(join(root, 'inventory/lab.yaml'));
    assert.equal(inv.cluster.name, 'lab');
  } catch (err) {
    assert.ok(err instanceof InventoryError, String(err));
    assert.deepEqual(err.problems.map((p) => p.path), ['/hosts'], err.message);
  }
});

test('defaults: token, pki dir, ports, paths; relative paths resolve against the inventory file', () => {
  const inv = parseInventory(`cluster:\n  name: c1\nssh:\n  private-key: keys/id\npki:\n  ca-csr: ../csr.json\n${three}`, FILE);
  assert.equal(inv.cluster.token, 'c1-token');
  assert.equal(inv.cluster.user, 'etcd');
  assert.equal(inv.pki.dir, join(homedir(), '.quorum/c1/pki'));
  assert.equal(inv.pki.caCsr, '/csr.json');
  assert.equal(inv.ssh.privateKey, '/inv/keys/id');
  assert.equal(inv.cluster.store.quotaBackendBytes, 2 * 1024 ** 3);
  const bare = parseInventory(three, FILE);
  assert.equal(bare.cluster.name, 'quorum');
  assert.equal(bare.cluster.token, 'quorum-token');
  assert.equal(bare.ssh.privateKey, undefined);
  assert.equal(bare.hosts[0].ssh.user, 'root');
});

test('per-host overrides change only that host', () => {
  const inv = parseInventory(`cluster:\n  log-level: warn\n${three}    overrides:\n      log-level: debug\n      election-timeout: 2500\n      ssh: {user: admin, port: 2222, private-key: ~/k}\n`, FILE);
  assert.deepEqual(inv.hosts[2].store, { heartbeatIntervalMs: 100, electionTimeoutMs: 2500, quotaBackendBytes: 2147483648, logLevel: 'debug' });
  assert.deepEqual(inv.hosts[2].ssh, { user: 'admin', port: 2222, connectTimeoutMs: 10000, privateKey: join(homedir(), 'k') });
  assert.equal(inv.hosts[0].store.logLevel, 'warn');
  assert.equal(inv.hosts[0].ssh.port, 22);
});

test('bad YAML syntax names the line', () => {
  const r = fail('cluster:\n  name: x\n  user: [etcd\nhosts: []\n');
  assert.equal(r.where.length >= 1, true);
  assert.match(r.message, /^\/inv\/test\.yaml:4:1: \/: YAML /);
});

test('duplicate YAML keys are a syntax error at the second key', () => {
  const r = fail(`cluster:\n  name: a\n  name: b\n${three}`);
  assert.deepEqual(r.where, ['3:3 ']);
  assert.match(r.message, /DUPLICATE_KEY/);
});

test('unknown key is reported at the key with a suggestion', () => {
  const r = fail(`cluster:\n  name: c\n  heartbeat-intervall: 100\n${three}`);
  assert.deepEqual(r.where, ['3:3 /cluster/heartbeat-intervall']);
  assert.equal(r.message, '/inv/test.yaml:3:3: /cluster/heartbeat-intervall: unknown key "heartbeat-intervall", did you mean heartbeat-interval? (fix: rename it to heartbeat-interval)');
});

test('unknown key without a near match lists the known keys; overrides are checked too', () => {
  const r = fail(`${three}    overrides:\n      ssh: {prot: 1}\n      colour: red\n`);
  assert.deepEqual(r.where, ['9:13 /hosts/2/overrides/ssh/prot', '10:7 /hosts/2/overrides/colour']);
  assert.match(r.message, /did you mean port\?/);
  assert.match(r.message, /known keys here: log-level, heartbeat-interval, election-timeout, quota-backend-bytes, ssh/);
});

test('wrong type and enum are reported at the value', () => {
  const r = fail(`cluster:\n  client-port: "2379"\n  log-level: verbose\n${three}`);
  assert.deepEqual(r.where, ['2:16 /cluster/client-port', '3:14 /cluster/log-level']);
  assert.match(r.message, /expected an integer, got "2379"/);
  assert.match(r.message, /"verbose" is not one of debug, info, warn, error/);
});

test('missing hosts, empty hosts, host without address', () => {
  assert.deepEqual(fail('cluster:\n  name: x\n').where, ['1:1 /hosts']);
  assert.match(fail('cluster:\n  name: x\n').message, /missing required key "hosts" \(fix: add a `hosts:` list/);
  assert.deepEqual(fail('').where, ['1:1 /hosts']);
  assert.deepEqual(fail('cluster: {}\nhosts: []\n').where, ['2:8 /hosts']);
  assert.deepEqual(fail('hosts:\n').where, ['1:1 /hosts']);
  assert.deepEqual(fail('hosts:\n  - name: a\n').where, ['2:5 /hosts/0/address']);
});

test('duplicate names and addresses point at the second occurrence', () => {
  const r = fail('hosts:\n  - name: a\n    address: 10.0.0.1\n  - name: A\n    address: 10.0.0.2\n  - name: c\n    address: 10.0.0.1\n');
  assert.deepEqual(r.where, ['4:11 /hosts/1/name', '7:14 /hosts/2/address']);
  assert.match(r.message, /duplicate host name "A" \(also \/hosts\/0\/name\)/);
  assert.match(r.message, /duplicate address 10\.0\.0\.1 \(also \/hosts\/0\/address\)/);
});

test('bad address and bad host name', () => {
  const r = fail('hosts:\n  - name: a\n    address: 10.0.0.1\n  - name: etcd_02\n    address: 192.168.1.300\n  - name: c\n    address: 010.0.0.3\n');
  assert.deepEqual(r.where, ['4:11 /hosts/1/name', '5:14 /hosts/1/address', '7:14 /hosts/2/address']);
  assert.ok(r.message.includes('/inv/test.yaml:5:14: /hosts/1/address: "192.168.1.300" is not an IPv4 address (fix: use the host\'s IPv4 address, e.g. 192.168.1.12)'));
});

test('even member count is rejected with 3/5/7 advice; more than 7 too', () => {
  const r = fail('hosts:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n');
  assert.deepEqual(r.where, ['2:3 /hosts']);
  assert.match(r.message, /2 members is an even count \(fix: use 3 members/);
  const four = fail('hosts:\n' + [1, 2, 3, 4].map((i) => `  - {name: h${i}, address: 10.0.0.${i}}\n`).join(''));
  assert.match(four.message, /use 3 or 5 members/);
  const nine = fail('hosts:\n' + [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `  - {name: h${i}, address: 10.0.0.${i}}\n`).join(''));
  assert.match(nine.message, /9 members is more than 7/);
  assert.equal(parseInventory('hosts:\n  - {name: solo, address: 10.0.0.1}\n', FILE).hosts.length, 1);
});

test('election-timeout must be >= 5 x heartbeat-interval, cluster-wide and per host', () => {
  const r = fail(`cluster:\n  heartbeat-interval: 300\n  election-timeout: 1000\n${three}`);
  assert.deepEqual(r.where, ['3:21 /cluster/election-timeout']);
  assert.match(r.message, /election-timeout 1000 ms is less than 5 x heartbeat-interval 300 ms \(fix: raise election-timeout to at least 1500 ms/);
  const h = fail(`${three}    overrides:\n      heartbeat-interval: 500\n`);
  assert.deepEqual(h.where, ['9:27 /hosts/2/overrides/heartbeat-interval']);
  assert.match(h.message, / on etcd-03 /);
  assert.match(fail(`cluster:\n  election-timeout: 60000\n${three}`).message, /above etcd's maximum 50000 ms/);
});

test('ports must be distinct and in range', () => {
  const r = fail(`cluster:\n  peer-port: 2379\n${three}`);
  assert.deepEqual(r.where, ['2:14 /cluster/peer-port']);
  assert.match(r.message, /peer-port and client-port are both 2379/);
  assert.deepEqual(fail(`cluster:\n  metrics-port: 70000\n${three}`).where, ['2:17 /cluster/metrics-port']);
});

test('all schema problems are reported at once, one line each, in document order', () => {
  const r = fail('ssh:\n  port: 0\ncluster:\n  data-dir: var/lib\nhosts:\n  - name: a\n    adress: 10.0.0.1\n');
  assert.deepEqual(r.where, ['2:9 /ssh/port', '4:13 /cluster/data-dir', '6:5 /hosts/0/address', '7:5 /hosts/0/adress']);
  assert.equal(r.message.split('\n').length, 4);
  assert.match(r.message, /not an absolute path/);
});

test('loadInventory reports an unreadable file as an InventoryError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inv-'));
  try {
    assert.throws(() => loadInventory(join(dir, 'missing.yaml')), (e: unknown) =>
      e instanceof InventoryError && /missing\.yaml:1:1: \/: cannot read the inventory \(ENOENT\)/.test(e.message));
    writeFileSync(join(dir, 'i.yaml'), 'hosts:\n  - {name: a, address: 1.2.3.999}\n');
    assert.throws(() => loadInventory(join(dir, 'i.yaml')), (e: unknown) =>
      e instanceof InventoryError && e.message.startsWith(`${join(dir, 'i.yaml')}:2:`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
