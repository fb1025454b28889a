/**
 * End to end on the lab (real systemd-nspawn hosts, real SSH, real systemd, real nftables):
 * lab up -> quorum provision inventory/lab.yaml -> Debian's etcdctl 3.4 over mTLS (health, put/get across
 * members, member list) -> kill -9 the leader's quorumd (new leader, writes succeed, systemd restarts it and
 * it catches up) -> provision again reports 0 changed -> lab down.
 * Needs root. Slow (minutes); generous timeouts, no timing assertions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, eventually, type RunResult } from '../helpers/proc.js';
import { LAB_HOSTS, must, ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
const quorum = join(root, 'bin', 'quorum.js');
const inventory = join(root, 'inventory', 'lab.yaml');
const hosts = LAB_HOSTS;
let etcdctlEnv: NodeJS.ProcessEnv = {};

function q(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs });
}
function etcdctl(args: string[], endpoint?: string): Promise<RunResult> {
  const env = { ...etcdctlEnv };
  if (endpoint) env.ETCDCTL_ENDPOINTS = endpoint;
  return run('etcdctl', args, { env, timeoutMs: 60_000 });
}
/** Parses `etcdctl endpoint status -w table` into rows keyed by the column titles. */
function statusTable(out: string): Record<string, string>[] {
  const lines = out.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim());
  const head = cells(lines[0]);
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [head[i], c])));
}
async function leaderAddress(): Promise<string> {
  const rows = statusTable(must(await etcdctl(['endpoint', 'status', '-w', 'table']), 'endpoint status'));
  const leaders = rows.filter((r) => r['IS LEADER'] === 'true');
  assert.equal(leaders.length, 1, `exactly one leader expected:\n${JSON.stringify(rows)}`);
  return new URL(leaders[0].ENDPOINT).hostname;
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  if (!existsSync(join(root, 'release', `quorum-${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}-linux-x64.tar.gz`))) {
    must(await run('node', [join(root, 'scripts', 'release.mjs')], { cwd: root, timeoutMs: 600_000 }), 'release build');
  }
  must(await q(['lab', 'up', '--hosts', '3']), 'quorum lab up');
});

after(async () => {
  const r = await q(['lab', 'down']);
  if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
});

test('provision turns the lab hosts into a healthy TLS cluster that etcdctl 3.4 uses', { timeout: 1_500_000 }, async (t) => {
  const first = must(await q(['provision', '-i', inventory]), 'first provision');
  assert.match(first, /etcd-01\s*:\s*ok=\d+\s+changed=[1-9]\d*\s+failed=0/, 'first run changes etcd-01');

  // The operator's monitoring files, beside the PKI directory: every member is a scrape target.
  const scrape = readFileSync('/var/lib/quorum-lab/monitoring/prometheus.yml', 'utf8');
  for (const h of hosts) assert.ok(scrape.includes(`${h.address}:2381`), `${h.name} is a scrape target`);

  const env = must(await q(['env', '-i', inventory]), 'quorum env');
  etcdctlEnv = { ...process.env };
  for (const m of env.matchAll(/(ETCDCTL_[A-Z_]+)=("?)([^"\s]+)\2/g)) etcdctlEnv[m[1]] = m[3];
  assert.ok(etcdctlEnv.ETCDCTL_CACERT && etcdctlEnv.ETCDCTL_CERT && etcdctlEnv.ETCDCTL_KEY, `env lacks TLS files:\n${env}`);
  etcdctlEnv.ETCDCTL_API = '3';
  for (const h of hosts) assert.ok(etcdctlEnv.ETCDCTL_ENDPOINTS!.includes(`https://${h.address}:2379`));

  await t.test('hosts have no Node.js; the release runs on its own; files belong to the store user', async () => {
    for (const h of hosts) {
      assert.notEqual((await ssh(h.address, 'command -v node')).code, 0, `${h.name} must not have node installed`);
      const v = must(await ssh(h.address, 'quorumd --version'), `${h.name} quorumd --version`);
      assert.match(v, /quorumd Version: /);
      const owners = must(await ssh(h.address, 'stat -c "%U %a %n" /var/lib/etcd /etc/etcd/pki/server-key.pem /etc/etcd/pki/peer-key.pem'), 'stat');
      assert.match(owners, /^etcd 700 \/var\/lib\/etcd$/m);
      assert.match(owners, /^etcd 600 \/etc\/etcd\/pki\/server-key\.pem$/m);
      assert.match(owners, /^etcd 600 \/etc\/etcd\/pki\/peer-key\.pem$/m);
      assert.notEqual((await ssh(h.address, 'test -e /etc/etcd/pki/ca-key.pem')).code, 0, 'the CA key never leaves the operator');
      const state = must(await ssh(h.address, 'grep initial-cluster-state /etc/etcd/quorumd.conf.yml'), 'config');
      assert.match(state, /existing/);
      must(await ssh(h.address, 'nft list table inet quorum'), `${h.name} firewall table`);
    }
  });

  await t.test('every member is healthy over mTLS', async () => {
    for (const h of hosts) {
      const r = await etcdctl(['endpoint', 'health'], `https://${h.address}:2379`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /is healthy: successfully committed proposal/);
    }
  });

  await t.test('a put on one member is read on another; member list shows 3', async () => {
    must(await etcdctl(['put', '/registry/pods/default/my-nginx-pod', 'v1'], `https://${hosts[0].address}:2379`), 'put');
    const got = must(await etcdctl(['get', '/registry/pods/default/my-nginx-pod', '--print-value-only'], `https://${hosts[2].address}:2379`), 'get');
    assert.equal(got.trim(), 'v1');
    const members = must(await etcdctl(['member', 'list']), 'member list').trim().split('\n');
    assert.equal(members.length, 3, members.join('\n'));
    for (const h of hosts) assert.ok(members.some((l) => l.includes(h.name) && l.includes(`https://${h.address}:2380`)), `${h.name} in member list`);
  });

  await t.test('without a client certificate the client port refuses', async () => {
    const env = { ...etcdctlEnv };
    delete env.ETCDCTL_CERT;
    delete env.ETCDCTL_KEY;
    const r = await run('etcdctl', ['--dial-timeout=3s', '--command-timeout=5s', 'get', 'x'], { env: { ...env, ETCDCTL_ENDPOINTS: `https://${hosts[0].address}:2379` }, timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
  });

  await t.test('kill -9 of the leader: a new leader, writes succeed, systemd restarts it and it catches up', async () => {
    const old = await leaderAddress();
    const others = hosts.filter((h) => h.address !== old);
    must(await ssh(old, 'kill -9 "$(systemctl show -p MainPID --value quorumd)"'), 'kill -9 leader');
    await eventually(async () => {
      const r = await etcdctl(['put', 'after-failover', 'v2'], others.map((h) => `https://${h.address}:2379`).join(','));
      assert.equal(r.code, 0, r.stderr);
    }, 60_000);
    const newLeader = await eventually(async () => {
      const rows = statusTable((await etcdctl(['endpoint', 'status', '-w', 'table'], others.map((h) => `https://${h.address}:2379`).join(','))).stdout);
      const l = rows.find((r) => r['IS LEADER'] === 'true');
      assert.ok(l, 'a leader among the survivors');
      return new URL(l.ENDPOINT).hostname;
    }, 60_000);
    assert.notEqual(newLeader, old);
    // systemd restarts it (Restart=on-failure, RestartSec=5s) and it catches up: a serializable read on it sees the write.
    await eventually(async () => {
      const r = await etcdctl(['get', 'after-failover', '--print-value-only', '--consistency=s'], `https://${old}:2379`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'v2');
    }, 120_000, 2000);
    const restarts = must(await ssh(old, 'systemctl show -p NRestarts --value quorumd'), 'NRestarts');
    assert.ok(Number(restarts.trim()) >= 1, `systemd restarted quorumd (NRestarts=${restarts.trim()})`);
    for (const h of hosts) {
      const r = await etcdctl(['endpoint', 'health'], `https://${h.address}:2379`);
      assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
    }
  });

  await t.test('a second provision changes nothing and restarts nothing', async () => {
    const pids = await Promise.all(hosts.map(async (h) => must(await ssh(h.address, 'systemctl show -p MainPID --value quorumd'), 'pid').trim()));
    const again = must(await q(['provision', '-i', inventory]), 'second provision');
    for (const h of hosts) assert.match(again, new RegExp(`${h.name}\\s*:\\s*ok=\\d+\\s+changed=0\\s+failed=0`), `${h.name} unchanged:\n${again}`);
    const after = await Promise.all(hosts.map(async (h) => must(await ssh(h.address, 'systemctl show -p MainPID --value quorumd'), 'pid').trim()));
    assert.deepEqual(after, pids, 'no member was restarted');
  });
});
