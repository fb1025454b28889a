/**
 * The `quorum` CLI at its edge: exit codes (0 ok, 1 failure, 2 bad input), one-line errors naming the
 * file/line or the option, and the offline plan of the reference inventory (no host is contacted:
 * the example's 192.168.1.x addresses are not ours to reach).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../helpers/proc.js';

const root = new URL('../../../../', import.meta.url).pathname;
const quorum = join(root, 'bin', 'quorum.js');
const example = join(root, 'inventory', 'example.yaml');
const q = (args: string[]) => run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs: 60_000 });

test('provision --dry-run --offline prints the full plan of inventory/example.yaml and contacts nobody', async () => {
  const r = await q(['provision', '-i', example, '--dry-run', '--offline']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no host was contacted/);
  for (const h of ['etcd-01', 'etcd-02', 'etcd-03']) {
    assert.match(r.stdout, new RegExp(`^${h}: \\d+ to change`, 'm'));
    assert.match(r.stdout, new RegExp(`hostnamectl set-hostname ${h}`));
  }
  for (const step of ['hosts file', 'user', 'data dir', 'config dir', 'release', 'pki server.pem', 'config', 'unit', 'firewall']) {
    assert.match(r.stdout, new RegExp(`~ ${step}:`), `plan has step ${step}`);
  }
  assert.match(r.stdout, /useradd --system .*--shell \/usr\/sbin\/nologin etcd/);
  assert.match(r.stdout, /start etcd-01, etcd-02, etcd-03 together \(initial-cluster-state new\)/);
  assert.match(r.stdout, /health gate/);
});

test('--offline without --dry-run is refused before anything is touched', async () => {
  const r = await q(['provision', '-i', example, '--offline']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--offline only plans/);
});

test('a bad inventory exits 2 with file:line:col, the path in the document and the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(example, 'utf8').replace('heartbeat-interval: 100', 'heartbeat-intervall: 100'));
    const r = await q(['provision', '-i', file, '--dry-run', '--offline']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: .*heartbeat-intervall.*did you mean heartbeat-interval`));
    const missing = await q(['provision', '-i', join(dir, 'nope.yaml'), '--dry-run']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('env prints the ETCDCTL_* exports for the inventory without contacting hosts', async () => {
  const r = await q(['env', '-i', example]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ETCDCTL_ENDPOINTS=https:\/\/192\.168\.1\.11:2379,https:\/\/192\.168\.1\.12:2379,https:\/\/192\.168\.1\.13:2379/);
  for (const v of ['ETCDCTL_API=3', 'ETCDCTL_CACERT=', 'ETCDCTL_CERT=', 'ETCDCTL_KEY=']) assert.ok(r.stdout.includes(v), v);
});
