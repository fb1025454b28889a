import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInventory } from '../../../toolkit/inventory/index.js';
import { KnownHosts, fingerprintOf, hostToken, keyTypeOf } from '../../../toolkit/connectors/known_hosts.js';
import { sshConnectorsFor } from '../../../toolkit/connectors/ssh_cli.js';
import { SshLimiter } from '../../../toolkit/connectors/ssh_jump.js';
import { newKey, publicBlob } from './server.js';

const YAML = `
cluster: { name: prod }
ssh:
  user: deploy
  private-key: keys/id_ed25519
  jump-host: ops@bastion.example.net:2222
  known-hosts: pinned_hosts
  use-agent: true
  sudo-password-prompt: true
  forks: 3
hosts:
  - { name: etcd-01, address: 10.0.0.1 }
  - name: etcd-02
    address: 10.0.0.2
    overrides: { ssh: { port: 2200, jump-host: 10.9.9.9 } }
`;

test('inventory: ssh jump-host, known-hosts, use-agent, sudo-password-prompt and forks (hosts inherit; jump-host per host)', () => {
  const inv = parseInventory(YAML, '/ops/inv/prod.yaml', { allowEven: true });
  assert.deepEqual(inv.ssh.jumpHost, { user: 'ops', address: 'bastion.example.net', port: 2222 });
  assert.equal(inv.ssh.knownHosts, '/ops/inv/pinned_hosts');
  assert.equal(inv.ssh.forks, 3);
  const [a, b] = inv.hosts;
  assert.deepEqual(a!.ssh, {
    user: 'deploy', port: 22, connectTimeoutMs: 10000, privateKey: '/ops/inv/keys/id_ed25519',
    jumpHost: { user: 'ops', address: 'bastion.example.net', port: 2222 }, knownHosts: '/ops/inv/pinned_hosts',
    useAgent: true, sudoPasswordPrompt: true, forks: 3,
  });
  assert.deepEqual(b!.ssh.jumpHost, { user: 'deploy', address: '10.9.9.9', port: 22 });
  assert.equal(b!.ssh.port, 2200);
});

test('inventory: an even host count needs --allow-even', () => {
  assert.throws(() => parseInventory(YAML, '/ops/inv/prod.yaml'), /2 members is an even count \(fix: .*or pass --allow-even\)/);
});

test('inventory: the old shape is unchanged (no extras); bad values are schema errors', () => {
  const inv = parseInventory('hosts: [{ name: a, address: 10.0.0.1 }]\n', '/x/i.yaml');
  assert.deepEqual(inv.hosts[0]!.ssh, { user: 'root', port: 22, connectTimeoutMs: 10000 });
  assert.throws(() => parseInventory('ssh: { forks: 0 }\nhosts: [{ name: a, address: 10.0.0.1 }]\n', '/x/i.yaml'));
  assert.throws(() => parseInventory('ssh: { jump-host: "a b" }\nhosts: [{ name: a, address: 10.0.0.1 }]\n', '/x/i.yaml'));
  assert.throws(() => parseInventory('ssh: { use-agent: maybe }\nhosts: [{ name: a, address: 10.0.0.1 }]\n', '/x/i.yaml'));
});

test('cli: --forks overrides ssh.forks; a bad value is refused', () => {
  const inv = parseInventory(YAML, '/ops/inv/prod.yaml', { allowEven: true });
  const f = sshConnectorsFor(inv, { forks: '2' });
  assert.equal(f(inv.hosts[0]!).host, 'etcd-01 (10.0.0.1)');
  assert.throws(() => sshConnectorsFor(inv, { forks: 'x' }), /--forks must be a positive integer/);
  assert.equal(new SshLimiter(3).forks, 3);
});

test('known_hosts: plain lists, wildcards, negations, hashed entries, ports, markers, other key types', () => {
  const k1 = publicBlob(newKey().public);
  const k2 = publicBlob(newKey().public);
  const b = (k: Buffer) => k.toString('base64');
  const kh = KnownHosts.parse('kh', [
    '# comment', '',
    `etcd-01,10.0.0.1 ssh-ed25519 ${b(k1)} a comment`,
    `10.0.1.*,!10.0.1.9 ssh-ed25519 ${b(k1)}`,
    `[10.0.0.2]:2222 ssh-ed25519 ${b(k2)}`,
    `@cert-authority *.example ssh-ed25519 ${b(k2)}`,
    'garbage-line',
  ].join('\n'));
  assert.deepEqual(kh.verify('10.0.0.1', 22, k1), { kind: 'match', line: 3 });
  assert.equal(kh.verify('etcd-01', 22, k1).kind, 'match');
  assert.equal(kh.verify('10.0.1.5', 22, k1).kind, 'match');
  assert.equal(kh.verify('10.0.1.9', 22, k1).kind, 'unknown', 'negated');
  assert.equal(kh.verify('10.0.0.1', 2222, k1).kind, 'unknown', 'another port is another host');
  assert.equal(kh.verify('10.0.0.2', 2222, k2).kind, 'match');
  assert.deepEqual(kh.verify('10.0.0.2', 2222, k1), { kind: 'changed', known: [{ keyType: 'ssh-ed25519', fingerprint: fingerprintOf(k2), line: 5 }] });
  assert.equal(kh.verify('x.example', 22, k2).kind, 'unknown', '@cert-authority lines are not host keys');
  assert.equal(keyTypeOf(k1), 'ssh-ed25519');
  assert.equal(hostToken('h', 22), 'h');
  assert.equal(hostToken('h', 2200), '[h]:2200');
  assert.match(fingerprintOf(k1), /^SHA256:[A-Za-z0-9+/]{43}$/);
});
