/**
 * The provision playbook's planning against simulated hosts: a fake connector answers the one
 * combined fact script from a table of command outputs, so the real facts, operations and
 * templates are exercised without SSH. (Lives here because it drives the engine's planning path.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Connector, RunResult } from '../../../toolkit/connectors/types.js';
import { StepError } from '../../../toolkit/engine/index.js';
import type { Inventory } from '../../../toolkit/inventory/types.js';
import { describeCommand } from '../../../toolkit/operations/index.js';
import { hostToolsFact } from '../../../toolkit/facts/host_tools.js';
import { memberPaths, renderMemberFiles } from '../../../playbooks/provision/files.js';
import { type ProvisionInputs, clusterStateOf, planMember, readMember } from '../../../playbooks/provision/plan.js';
import { waitHealthy } from '../../../playbooks/provision/cluster.js';
import { type StatusResult, healthProblems } from '../../../playbooks/provision/store.js';

const store = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, quotaBackendBytes: 2147483648, logLevel: 'info' as const };
const ssh = { user: 'root', port: 22, connectTimeoutMs: 10000 };
const inv: Inventory = {
  file: '/tmp/inv.yaml',
  cluster: { name: 'lab', token: 'lab-token', clientPort: 2379, peerPort: 2380, metricsPort: 2381, user: 'etcd',
    dataDir: '/var/lib/etcd', configDir: '/etc/etcd', store },
  ssh,
  pki: { dir: '/tmp/pki', certDays: 365 },
  hosts: [1, 2, 3].map((i) => ({ name: `etcd-0${i}`, address: `10.88.0.1${i}`, ssh, store })),
};
const SHA = 'ab'.repeat(32);
const pem = (s: string) => Buffer.from(`-----BEGIN ${s}-----\n`);
const inputs: ProvisionInputs = {
  inv,
  release: { tarball: '/src/release/quorum-0.1.0-linux-x64.tar.gz', sha256: SHA, version: '0.1.0' },
  pki: new Map(inv.hosts.map((h) => [h.name, { ca: pem('CA'), server: pem(`S ${h.name}`), serverKey: pem(`SK ${h.name}`), peer: pem(`P ${h.name}`), peerKey: pem(`PK ${h.name}`) }])),
};
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A host simulated by a table: fact command -> [stdout, exit code]; anything else -> ('', 1). */
class FakeHost implements Connector {
  readonly ran: string[] = [];
  constructor(readonly host: string, private readonly answers: Map<string, [string, number]>) {}
  async connect() {}
  async run(cmd: string, opts: { stdin?: string | Buffer } = {}): Promise<RunResult> {
    this.ran.push(cmd);
    const script = String(opts.stdin ?? '');
    let out = '';
    const re = /^echo '@@QUORUM-FACT (\d+) begin'\n\( ([\s\S]*?)\n\) <\/dev\/null 2>\/dev\/null\n/gm;
    for (const m of script.matchAll(re)) {
      const [stdout, code] = this.answers.get(m[2]!) ?? ['', 1];
      out += `@@QUORUM-FACT ${m[1]} begin\n${stdout}\n@@QUORUM-FACT ${m[1]} end ${code}\n`;
    }
    return { code: 0, stdout: out, stderr: '' };
  }
  async putFile() { throw new Error('planning must not write'); }
  async putFileFrom() { throw new Error('planning must not write'); }
  async getFile() { return undefined; }
  async close() {}
}

const stat = (p: string) => `stat -c '%F|%U|%G|%a' -- ${p}`;
const fileCmd = (p: string) => `${stat(p)} && if [ -f ${p} ]; then sha256sum -- ${p}; fi`;
const UNIT_SHOW = (u: string) => `systemctl show ${u} -p LoadState -p ActiveState -p SubState -p UnitFileState -p NeedDaemonReload`;
const OS = 'echo "kernel=$(uname -s)"; echo "arch=$(uname -m)"; echo "init=$(cat /proc/1/comm)"; for c in systemctl ss tar sha256sum getent useradd; do command -v "$c" >/dev/null || echo "missing=$c"; done; cat /etc/os-release';

function freshHost(): Map<string, [string, number]> {
  return new Map<string, [string, number]>([
    [OS, ['kernel=Linux\narch=x86_64\ninit=systemd\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', 0]],
    ['ss -ltnpH', ['LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n', 0]],
    ['echo "${SSH_CLIENT%% *}"', ['10.88.0.1\n', 0]],
    ['hostname; cat /etc/hostname', ['localhost\nlocalhost\n', 0]],
    ['cat -- /etc/hosts', ['127.0.0.1\tlocalhost\n', 0]],
    [fileCmd('/etc/hosts'), ['regular file|root|root|644\n' + `${sha('127.0.0.1\tlocalhost\n')}  /etc/hosts\n`, 0]],
    [UNIT_SHOW('quorumd.service'), ['LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nNeedDaemonReload=no\n', 0]],
    [UNIT_SHOW('nftables.service'), ['LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nNeedDaemonReload=no\n', 0]],
    ['cat -- /etc/nftables.conf', ['#!/usr/sbin/nft -f\nflush ruleset\n', 0]],
    [hostToolsFact.command({}), ['has=hostnamectl\nhas=nft\nend\n', 0]],
  ]);
}

/** The table of a member that a previous run converged, with its config rendered as `state`. */
function convergedHost(i: number, state: 'new' | 'existing'): Map<string, [string, number]> {
  const h = inv.hosts[i]!;
  const p = memberPaths(inv);
  const files = renderMemberFiles(inv, h, { clusterState: state, operatorAddresses: ['10.88.0.1'] });
  const hosts = files.hosts('127.0.0.1\tlocalhost\n');
  const m = freshHost();
  const file = (path: string, content: Buffer | string, owner: string, mode: string) =>
    m.set(fileCmd(path), [`regular file|${owner}|${owner}|${mode}\n${sha(content)}  ${path}\n`, 0]);
  m.set('ss -ltnpH', [m.get('ss -ltnpH')![0] + 'LISTEN 0 4096 10.88.0.11:2380 0.0.0.0:* users:(("quorumd",pid=9,fd=7))\n', 0]);
  m.set('hostname; cat /etc/hostname', [`${h.name}\n${h.name}\n`, 0]);
  m.set('cat -- /etc/hosts', [hosts, 0]);
  file('/etc/hosts', hosts, 'root', '644');
  m.set('getent passwd etcd', ['etcd:x:999:999::/nonexistent:/usr/sbin/nologin\n', 0]);
  m.set(stat('/var/lib/etcd'), ['directory|etcd|etcd|700\n', 0]);
  m.set(stat('/etc/etcd'), ['directory|etcd|etcd|755\n', 0]);
  m.set(stat('/etc/etcd/pki'), ['directory|etcd|etcd|700\n', 0]);
  m.set(stat('/var/lib/etcd/member/wal'), ['directory|etcd|etcd|700\n', 0]);
  m.set('echo "sha256=$(cat /opt/quorum/0.1.0/.release-sha256 2>/dev/null)"; echo "link /usr/local/bin/quorumd=$(readlink /usr/local/bin/quorumd)"; echo "link /usr/local/bin/quorumctl=$(readlink /usr/local/bin/quorumctl)"',
    [`sha256=${SHA}\nlink /usr/local/bin/quorumd=/opt/quorum/0.1.0/bin/quorumd\nlink /usr/local/bin/quorumctl=/opt/quorum/0.1.0/bin/quorumctl\n`, 0]);
  const pki = inputs.pki.get(h.name)!;
  file(`${p.pkiDir}/ca.pem`, pki.ca!, 'etcd', '644');
  file(`${p.pkiDir}/server.pem`, pki.server!, 'etcd', '644');
  file(`${p.pkiDir}/server-key.pem`, pki.serverKey!, 'etcd', '600');
  file(`${p.pkiDir}/peer.pem`, pki.peer!, 'etcd', '644');
  file(`${p.pkiDir}/peer-key.pem`, pki.peerKey!, 'etcd', '600');
  file(p.config, files.config, 'etcd', '644');
  file(p.unit, files.unit, 'root', '644');
  file(p.nft, files.nft, 'root', '644');
  m.set(UNIT_SHOW('quorumd.service'), ['LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nNeedDaemonReload=no\n', 0]);
  m.set(UNIT_SHOW('nftables.service'), ['LoadState=loaded\nActiveState=active\nSubState=exited\nUnitFileState=enabled\nNeedDaemonReload=no\n', 0]);
  m.set('nft list table inet quorum', ['table inet quorum {\n}\n', 0]);
  m.set('cat -- /etc/nftables.conf', ['#!/usr/sbin/nft -f\nflush ruleset\ninclude "/etc/nftables.d/*.nft"\n', 0]);
  return m;
}

test('a fresh host: one fact round trip, every task planned, config says new, nothing written', async () => {
  const conn = new FakeHost('etcd-01', freshHost());
  const m = await readMember(inputs, inv.hosts[0]!, conn);
  assert.equal(conn.ran.length, 1, 'facts are read in one command');
  assert.equal(m.state.bootstrapped, false);
  assert.equal(m.state.operatorAddress, '10.88.0.1');
  assert.equal(clusterStateOf([m]), 'new');
  const steps = planMember(inputs, m, 'new', ['10.88.0.1']);
  assert.deepEqual(steps.map((s) => s.name), ['preflight', 'hostname', 'hosts file', 'user', 'data dir', 'config dir', 'pki dir',
    'release', 'pki ca.pem', 'pki server.pem', 'pki server-key.pem', 'pki peer.pem', 'pki peer-key.pem', 'config', 'unit', 'firewall', 'service enabled']);
  assert.deepEqual(steps.filter((s) => !s.result.changed).map((s) => s.name), ['preflight']);
  const config = steps.find((s) => s.name === 'config')!.result;
  const put = config.commands[0]!;
  assert.equal(put.kind, 'put');
  assert.match(put.kind === 'put' ? put.content!.toString() : '', /^initial-cluster-state: "new"$/m);
  assert.deepEqual(config.notify, ['restart']);
  const key = steps.find((s) => s.name === 'pki server-key.pem')!.result.commands.map(describeCommand);
  assert.match(key[0]!, /^put \/etc\/etcd\/pki\/server-key\.pem mode=0600 owner=etcd:etcd/);
  assert.deepEqual(steps.find((s) => s.name === 'unit')!.result.notify, ['daemon-reload', 'restart']);
});

test('preflight names the host and the port another program holds', async () => {
  const t = freshHost();
  t.set('ss -ltnpH', ['LISTEN 0 4096 127.0.0.1:2379 0.0.0.0:* users:(("etcd",pid=77,fd=7))\n', 0]);
  await assert.rejects(readMember(inputs, inv.hosts[1]!, new FakeHost('etcd-02', t)), (e: unknown) => {
    assert.ok(e instanceof StepError);
    assert.match(e.message, /^etcd-02: step "preflight": port 2379 is already taken by etcd .*\(fix: stop that program/);
    return true;
  });
});

test('preflight refuses a host without systemd', async () => {
  const t = freshHost();
  t.set(OS, ['kernel=Linux\narch=x86_64\ninit=bash\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 0]);
  await assert.rejects(readMember(inputs, inv.hosts[0]!, new FakeHost('etcd-01', t)), /etcd-01: step "preflight": .*PID 1 "bash"/);
});

test('a bootstrapped member with a "new" config: only the config changes, to existing, without restart', async () => {
  const m = await readMember(inputs, inv.hosts[0]!, new FakeHost('etcd-01', convergedHost(0, 'new')));
  assert.equal(m.state.bootstrapped, true);
  assert.equal(m.state.wasActive, true);
  assert.equal(clusterStateOf([m]), 'existing');
  const steps = planMember(inputs, m, 'existing', ['10.88.0.1']);
  const changed = steps.filter((s) => s.result.changed);
  assert.deepEqual(changed.map((s) => s.name), ['config']);
  assert.equal(changed[0]!.result.notify, undefined, 'no restart for new -> existing');
});

test('a converged member plans zero changes (second run)', async () => {
  const m = await readMember(inputs, inv.hosts[2]!, new FakeHost('etcd-03', convergedHost(2, 'existing')));
  const steps = planMember(inputs, m, clusterStateOf([m]), ['10.88.0.1']);
  assert.deepEqual(steps.filter((s) => s.result.changed).map((s) => `${s.name}: ${s.result.reason}`), []);
  assert.ok(steps.every((s) => s.result.commands.length === 0));
});

test('a changed certificate on a converged member notifies restart', async () => {
  const m = await readMember(inputs, inv.hosts[2]!, new FakeHost('etcd-03', convergedHost(2, 'existing')));
  const rotated: ProvisionInputs = { ...inputs, pki: new Map(inputs.pki) };
  rotated.pki.set('etcd-03', { ...inputs.pki.get('etcd-03')!, server: pem('NEW') });
  const steps = planMember(rotated, m, 'existing', ['10.88.0.1']);
  const changed = steps.filter((s) => s.result.changed);
  assert.deepEqual(changed.map((s) => [s.name, s.result.notify]), [['pki server.pem', ['restart']]]);
});

function status(name: string, memberId: bigint, leader: bigint, clusterId = 7n): StatusResult {
  return { endpoint: `https://${name}:2379`, name, status: { version: '3.4.0', dbSize: 20480, leader, raftIndex: 9, raftTerm: 2,
    raftAppliedIndex: 9, memberId, clusterId, revision: 1, errors: [] } };
}

test('health: every member answers, one leader everyone agrees on, one cluster', () => {
  assert.deepEqual(healthProblems([status('a', 1n, 2n), status('b', 2n, 2n), status('c', 3n, 2n)]), []);
  assert.match(healthProblems([status('a', 1n, 2n), { endpoint: 'x', name: 'b', error: 'connect ECONNREFUSED' }, status('c', 3n, 2n)])[0]!, /^b: connect ECONNREFUSED/);
  assert.match(healthProblems([status('a', 1n, 1n), status('b', 2n, 2n), status('c', 3n, 2n)])[0]!, /disagree on the leader/);
  assert.match(healthProblems([status('a', 1n, 0n), status('b', 2n, 0n)])[0]!, /a: no leader/);
  assert.match(healthProblems([status('a', 1n, 4n), status('b', 2n, 4n)])[0]!, /exactly one leader, found 0/);
  assert.match(healthProblems([status('a', 1n, 1n), status('b', 2n, 1n, 8n)])[0]!, /different clusters/);
});

test('the health gate polls until healthy, and fails with the problems and a remedy', async () => {
  let calls = 0;
  const healthy = [status('a', 1n, 2n), status('b', 2n, 2n), status('c', 3n, 2n)];
  const r = await waitHealthy(inv, 'bootstrap', { pollMs: 1, timeoutMs: 60_000, probe: async () => (++calls < 3 ? [status('a', 1n, 0n)] : healthy) });
  assert.equal(calls, 3);
  assert.equal(r, healthy);
  await assert.rejects(waitHealthy(inv, 'bootstrap', { pollMs: 1, timeoutMs: 20, probe: async () => [status('a', 1n, 0n)] }),
    /^StepError: cluster: step "health gate \(bootstrap\)": not healthy after 0 s: a: no leader \(fix: look at `journalctl -u quorumd.service`.*nc -zv HOST 2380/);
});

test('gRPC connection errors are shortened to their cause', async () => {
  const { shortError } = await import('../../../playbooks/provision/store.js');
  assert.equal(shortError('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 10.88.0.11:2379. Resolution note: '),
    'connect ECONNREFUSED 10.88.0.11:2379');
  assert.equal(shortError('4 DEADLINE_EXCEEDED: Deadline exceeded\nmore'), '4 DEADLINE_EXCEEDED: Deadline exceeded');
});
