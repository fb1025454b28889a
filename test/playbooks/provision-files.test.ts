import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadInventory, parseInventory } from '../../toolkit/inventory/index.js';
import { memberPaths, renderMemberFiles } from '../../playbooks/provision/files.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const inv = loadInventory(join(root, 'inventory/example.yaml'));
const work = mkdtempSync(join(tmpdir(), 'provision-files-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('config: exactly etcd\'s keys with the member\'s values', () => {
  const f = renderMemberFiles(inv, inv.hosts[1], { clusterState: 'new' });
  assert.deepEqual(parse(f.config), {
    'name': 'etcd-02',
    'data-dir': '/var/lib/etcd',
    'listen-client-urls': 'https://192.168.1.12:2379,https://127.0.0.1:2379',
    'advertise-client-urls': 'https://192.168.1.12:2379',
    'listen-peer-urls': 'https://192.168.1.12:2380',
    'initial-advertise-peer-urls': 'https://192.168.1.12:2380',
    'initial-cluster': 'etcd-01=https://192.168.1.11:2380,etcd-02=https://192.168.1.12:2380,etcd-03=https://192.168.1.13:2380',
    'initial-cluster-state': 'new',
    'initial-cluster-token': 'etcd-cluster-1',
    'listen-metrics-urls': 'http://192.168.1.12:2381',
    'log-level': 'info',
    'heartbeat-interval': 100,
    'election-timeout': 1000,
    'quota-backend-bytes': 2147483648,
    'client-transport-security': {
      'cert-file': '/etc/etcd/pki/server.pem',
      'key-file': '/etc/etcd/pki/server-key.pem',
      'trusted-ca-file': '/etc/etcd/pki/ca.pem',
      'client-cert-auth': true,
    },
    'peer-transport-security': {
      'cert-file': '/etc/etcd/pki/peer.pem',
      'key-file': '/etc/etcd/pki/peer-key.pem',
      'trusted-ca-file': '/etc/etcd/pki/ca.pem',
      'client-cert-auth': true,
    },
  });
  assert.equal(parse(renderMemberFiles(inv, inv.hosts[1], { clusterState: 'existing' }).config)['initial-cluster-state'], 'existing');
});

test('config: per-host overrides and custom ports/dirs reach the file', () => {
  const custom = parseInventory(`cluster:
  name: c
  client-port: 12379
  peer-port: 12380
  metrics-port: 12381
  config-dir: /opt/q/
  data-dir: /srv/q
hosts:
  - name: a
    address: 10.0.0.1
    overrides: {log-level: debug, heartbeat-interval: 200, election-timeout: 2000, quota-backend-bytes: 8589934592}
`, '/x/i.yaml');
  const f = renderMemberFiles(custom, custom.hosts[0], { clusterState: 'new' });
  const cfg = parse(f.config);
  assert.equal(cfg['initial-cluster'], 'a=https://10.0.0.1:12380');
  assert.equal(cfg['listen-client-urls'], 'https://10.0.0.1:12379,https://127.0.0.1:12379');
  assert.equal(cfg['listen-metrics-urls'], 'http://10.0.0.1:12381');
  assert.equal(cfg['data-dir'], '/srv/q');
  assert.equal(cfg['initial-cluster-token'], 'c-token');
  assert.deepEqual([cfg['log-level'], cfg['heartbeat-interval'], cfg['election-timeout'], cfg['quota-backend-bytes']], ['debug', 200, 2000, 8589934592]);
  assert.equal(cfg['peer-transport-security']['cert-file'], '/opt/q/pki/peer.pem');
  assert.match(f.unit, /^ExecStart=\/usr\/local\/bin\/quorumd --config-file \/opt\/q\/quorumd\.conf\.yml$/m);
  assert.equal(memberPaths(custom).config, '/opt/q/quorumd.conf.yml');
});

test('unit: the article\'s service settings', () => {
  const { unit } = renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new' });
  for (const line of ['After=network-online.target', 'Type=notify', 'NotifyAccess=all', 'User=etcd',
    'ExecStart=/usr/local/bin/quorumd --config-file /etc/etcd/quorumd.conf.yml', 'Restart=on-failure',
    'RestartSec=5s', 'LimitNOFILE=40000', 'TimeoutStartSec=120', 'WantedBy=multi-user.target']) {
    assert.ok(unit.split('\n').includes(line), `missing ${line}`);
  }
  assert.match(unit, /^Description=.*etcd-01/m);
  assert.match(unit, /\[Unit\][\s\S]*\[Service\][\s\S]*\[Install\]/);
});

test('hosts: keeps foreign and localhost lines, lists every member, idempotent', () => {
  const { hosts } = renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new' });
  const debian = '127.0.0.1\tlocalhost\n127.0.1.1\tetcd-01\n10.1.1.1 backup.example backup # offsite\n\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\n';
  const once = hosts(debian);
  assert.equal(once, [
    '127.0.0.1\tlocalhost',
    '10.1.1.1 backup.example backup # offsite',
    '',
    '::1     localhost ip6-localhost ip6-loopback',
    'ff02::1 ip6-allnodes',
    '# BEGIN quorum cluster etcd-prod (managed: edits inside this block are overwritten)',
    '192.168.1.11 etcd-01',
    '192.168.1.12 etcd-02',
    '192.168.1.13 etcd-03',
    '# END quorum cluster etcd-prod',
    '',
  ].join('\n'));
  assert.equal(hosts(once), once);
  // A changed membership replaces the block in place; foreign lines after it stay after it.
  const smaller = parseInventory('cluster: {name: etcd-prod}\nhosts:\n  - {name: etcd-01, address: 192.168.1.11}\n', '/i.yaml');
  const edited = once + '10.9.9.9 later\n';
  const replaced = renderMemberFiles(smaller, smaller.hosts[0], { clusterState: 'existing' }).hosts(edited);
  assert.ok(replaced.endsWith('192.168.1.11 etcd-01\n# END quorum cluster etcd-prod\n10.9.9.9 later\n'), replaced);
  assert.ok(!replaced.includes('etcd-02'));
  assert.equal(hosts(''), once.slice(once.indexOf('# BEGIN')));
});

function nftCheck(text: string): { ok: boolean; out: string } {
  const file = join(work, `q-${Math.abs(hash(text))}.nft`);
  writeFileSync(file, text);
  const r = spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}

test('nft: passes `nft -c -f`, only its own table, peer/metrics from members and operators', () => {
  const { nft } = renderMemberFiles(inv, inv.hosts[2], { clusterState: 'new', operatorAddresses: ['10.88.0.0/24', '192.168.1.11', '172.16.0.9'] });
  const r = nftCheck(nft);
  assert.ok(r.ok, r.out);
  assert.ok(nftCheck(renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new' }).nft).ok);
  // operator ranges may overlap member addresses (interval set with auto-merge)
  const overlap = nftCheck(renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new', operatorAddresses: ['192.168.0.0/16'] }).nft);
  assert.ok(overlap.ok, overlap.out);
  // the check can fail: a broken ruleset is refused
  assert.equal(nftCheck(nft.replace('policy accept;', 'policy acept;')).ok, false);
  const lines = nft.split('\n').map((l) => l.trim());
  assert.ok(lines.indexOf('table inet quorum {}') < lines.indexOf('delete table inet quorum'));
  assert.equal(lines.filter((l) => /^(table|delete table|flush)/.test(l)).every((l) => l.includes('inet quorum')), true);
  assert.ok(lines.includes('elements = { 192.168.1.11, 192.168.1.12, 192.168.1.13, 10.88.0.0/24, 172.16.0.9 }'));
  assert.ok(lines.includes('type filter hook input priority 0; policy accept;'));
  assert.ok(lines.includes('ct state established,related accept'));
  assert.ok(lines.includes('tcp dport 22 accept'));
  assert.ok(lines.includes('tcp dport 2379 accept'));
  assert.ok(lines.indexOf('ip saddr @peers tcp dport { 2380, 2381 } accept') < lines.indexOf('tcp dport { 2380, 2381 } drop'));
  assert.throws(() => renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new', operatorAddresses: ['10.0.0.1; flush ruleset'] }), /IPv4/);
});

test('deterministic: same input, byte-identical output; foreign host refused', () => {
  const a = renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new', operatorAddresses: ['10.0.0.1'] });
  const again = loadInventory(join(root, 'inventory/example.yaml'));
  const b = renderMemberFiles(again, again.hosts[0], { clusterState: 'new', operatorAddresses: ['10.0.0.1'] });
  assert.equal(a.config, b.config);
  assert.equal(a.unit, b.unit);
  assert.equal(a.nft, b.nft);
  assert.equal(a.hosts('x'), b.hosts('x'));
  assert.throws(() => renderMemberFiles(inv, { ...inv.hosts[0], address: '10.9.9.9' }, { clusterState: 'new' }), /not a member/);
});

test('QUORUM_TEMPLATES_DIR overrides the templates location', async () => {
  // The module caches compiled templates per path, so a fresh directory is observed.
  const dir = mkdtempSync(join(work, 'tpl-'));
  for (const f of ['quorumd.conf.yml.hbs', 'hosts.hbs', 'quorum.nft.hbs']) writeFileSync(join(dir, f), 'x: 1\n');
  writeFileSync(join(dir, 'quorumd.service.hbs'), 'custom {{name}}\n');
  process.env.QUORUM_TEMPLATES_DIR = dir;
  try {
    assert.equal(renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new' }).unit, 'custom etcd-01\n');
  } finally {
    delete process.env.QUORUM_TEMPLATES_DIR;
  }
  assert.match(renderMemberFiles(inv, inv.hosts[0], { clusterState: 'new' }).unit, /Type=notify/);
});
