/**
 * Hosts as they are (issue 9): the host_tools fact decides the firewall backend (ufw when installed and
 * enabled, else nftables) and how the host name is set (hostnamectl, else /etc/hostname); facts -> operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FactSet, type FactRequest, type HostToolsFact, fileContentFact, firewallBackend, hostToolsFact, hostnameFact,
} from '../../../toolkit/facts/index.js';
import { describeCommand, hostnameOp, ufwOp, ufwRules } from '../../../toolkit/operations/index.js';
import { firewallFactRequests, firewallStepOp, ufwStatePath } from '../../../playbooks/provision/firewall.js';
import type { Inventory } from '../../../toolkit/inventory/types.js';

const tools = (t: Partial<HostToolsFact>): HostToolsFact => ({ hostnamectl: true, nft: true, ufw: 'absent', ...t });

test('firewall backend: ufw only when installed and enabled', () => {
  assert.equal(firewallBackend(tools({ ufw: 'absent' })), 'nftables');
  assert.equal(firewallBackend(tools({ ufw: 'inactive' })), 'nftables');
  assert.equal(firewallBackend(tools({ ufw: 'active' })), 'ufw');
  assert.equal(firewallBackend(tools({ ufw: 'active', nft: false })), 'ufw');
});

test('host_tools: a cut-short output is an error, a host with none of the tools is not', () => {
  assert.throws(() => hostToolsFact.parse('has=nft\n', 0, {}), /host_tools: output cut short/);
  assert.deepEqual(hostToolsFact.parse('end\n', 0, {}), { hostnamectl: false, nft: false, ufw: 'absent' });
  // `ufw status` failing (no output) while ufw is installed: not enabled as far as we can tell.
  assert.deepEqual(hostToolsFact.parse('has=ufw\nend\n', 0, {}), { hostnamectl: false, nft: false, ufw: 'inactive' });
});

test('hostname: hostnamectl when present, else /etc/hostname and hostname(1); nothing when already right', () => {
  const f = hostnameFact.parse('localhost\nlocalhost\n', 0, {});
  assert.deepEqual(hostnameOp(f, { name: 'etcd-01' }, { hostnamectl: true }).commands.map(describeCommand), ['hostnamectl set-hostname etcd-01']);
  const without = hostnameOp(f, { name: 'etcd-01' }, { hostnamectl: false });
  assert.equal(without.changed, true);
  assert.deepEqual(without.commands.map((c) => (c.kind === 'put' ? `put ${c.path} ${c.content?.toString()}` : describeCommand(c))),
    ['put /etc/hostname etcd-01\n', 'hostname etcd-01']);
  // Only the running name is wrong: /etc/hostname is left alone.
  const runningOnly = hostnameOp({ current: 'localhost', static: 'etcd-01' }, { name: 'etcd-01' }, { hostnamectl: false });
  assert.deepEqual(runningOnly.commands.map(describeCommand), ['hostname etcd-01']);
  assert.equal(hostnameOp({ current: 'etcd-01', static: 'etcd-01' }, { name: 'etcd-01' }, { hostnamectl: false }).changed, false);
});

const desired = {
  sshPort: 22, clientPort: 2379, peerPorts: [2380, 2381], peers: ['10.0.0.11', '10.0.0.12', '10.0.0.1'],
  comment: 'quorum lab', statePath: '/etc/etcd/ufw.rules',
};

test('ufw: first run adds SSH, client and per-peer rules with the comment and records them', () => {
  const r = ufwOp(undefined, desired);
  assert.equal(r.changed, true);
  const cmds = r.commands.map(describeCommand);
  assert.deepEqual(cmds.slice(0, -1), [
    "ufw allow 22/tcp comment 'quorum lab'",
    "ufw allow 2379/tcp comment 'quorum lab'",
    "ufw allow from 10.0.0.1 to any port 2380,2381 proto tcp comment 'quorum lab'",
    "ufw allow from 10.0.0.11 to any port 2380,2381 proto tcp comment 'quorum lab'",
    "ufw allow from 10.0.0.12 to any port 2380,2381 proto tcp comment 'quorum lab'",
  ]);
  assert.match(cmds.at(-1)!, /^put \/etc\/etcd\/ufw\.rules mode=0644 owner=root:root/);
  assert.ok(!cmds.some((c) => /ufw (reset|disable|enable|default|delete)/.test(c)), 'never resets, toggles or deletes operator rules');
});

test('ufw: the recorded rules are the wanted ones -> no change', () => {
  const recorded = `# rules quorum added with ufw (managed)\n${ufwRules(desired).join('\n')}\n`;
  const r = ufwOp(recorded, desired);
  assert.equal(r.changed, false);
  assert.deepEqual(r.commands, []);
});

test('ufw: a peer leaves -> only its rule (one quorum added) is deleted; a new one is added', () => {
  const recorded = `${ufwRules(desired).join('\n')}\n`;
  const next = { ...desired, peers: ['10.0.0.11', '10.0.0.13', '10.0.0.1'] };
  const cmds = ufwOp(recorded, next).commands.map(describeCommand);
  assert.deepEqual(cmds.slice(0, -1), [
    'ufw delete allow from 10.0.0.12 to any port 2380,2381 proto tcp',
    "ufw allow from 10.0.0.13 to any port 2380,2381 proto tcp comment 'quorum lab'",
  ]);
});

/** A 2-host inventory with the defaults the firewall step reads. */
const inv = {
  file: '/x/inv.yaml',
  cluster: { name: 'lab', clientPort: 2379, peerPort: 2380, metricsPort: 2381, configDir: '/etc/etcd' },
  hosts: [
    { name: 'etcd-01', address: '10.0.0.11', ssh: { port: 2222 } },
    { name: 'etcd-02', address: '10.0.0.12', ssh: { port: 2222 } },
  ],
} as unknown as Inventory;

/** The facts firewallStepOp reads, answered from `t` (others absent: a fresh host). */
function facts(t: HostToolsFact, ufwState?: string): FactSet {
  const reqs: FactRequest[] = firewallFactRequests(inv);
  const toolsOut = `${t.hostnamectl ? 'has=hostnamectl\n' : ''}${t.nft ? 'has=nft\n' : ''}${t.ufw !== 'absent' ? `has=ufw\nStatus: ${t.ufw}\n` : ''}end\n`;
  return FactSet.fromRequests(reqs, (r) => {
    if (r.fact === hostToolsFact) return { stdout: toolsOut, code: 0 };
    if (r.fact === fileContentFact && (r.args as { path: string }).path === ufwStatePath(inv) && ufwState !== undefined) return { stdout: ufwState, code: 0 };
    if (r.fact.name === 'systemd_unit') return { stdout: 'LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nNeedDaemonReload=no\n', code: 0 };
    return { stdout: '', code: 1 };
  });
}

test('firewall step: nftables host -> quorum table loaded, no ufw command', () => {
  const cmds = firewallStepOp(facts(tools({})), inv, inv.hosts[0]!, 'table inet quorum {}\n', ['10.0.0.1']).commands.map(describeCommand);
  assert.ok(cmds.some((c) => /nft -f -/.test(c)), cmds.join('\n'));
  assert.ok(!cmds.some((c) => /^ufw /.test(c)), cmds.join('\n'));
});

test('firewall step: ufw enabled -> rules through ufw (the host SSH port included), nftables untouched', () => {
  const cmds = firewallStepOp(facts(tools({ ufw: 'active' })), inv, inv.hosts[0]!, 'table inet quorum {}\n', ['10.0.0.1']).commands.map(describeCommand);
  assert.ok(cmds.includes("ufw allow 2222/tcp comment 'quorum lab'"), cmds.join('\n'));
  assert.ok(cmds.includes("ufw allow from 10.0.0.12 to any port 2380,2381 proto tcp comment 'quorum lab'"), cmds.join('\n'));
  assert.ok(!cmds.some((c) => /nft|nftables/.test(c)), cmds.join('\n'));
  // Converged: the recorded rules match -> nothing to do.
  const recorded = ufwRules({ sshPort: 2222, clientPort: 2379, peerPorts: [2380, 2381], peers: ['10.0.0.11', '10.0.0.12', '10.0.0.1'], comment: '', statePath: '' }).join('\n');
  assert.equal(firewallStepOp(facts(tools({ ufw: 'active' }), `${recorded}\n`), inv, inv.hosts[0]!, '', ['10.0.0.1']).changed, false);
});

test('firewall step: ufw installed but disabled -> nftables; neither usable -> a clear error naming the host', () => {
  const cmds = firewallStepOp(facts(tools({ ufw: 'inactive' })), inv, inv.hosts[1]!, 'table inet quorum {}\n', []).commands.map(describeCommand);
  assert.ok(cmds.some((c) => /nft -f -/.test(c)));
  assert.throws(() => firewallStepOp(facts(tools({ nft: false, ufw: 'inactive' })), inv, inv.hosts[1]!, '', []),
    /etcd-02: no firewall tool: nft is not installed and ufw is not enabled \(fix: apt-get install nftables/);
});
