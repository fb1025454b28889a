/**
 * Runbook `replace-member` (etcd docs "Runtime reconfiguration: Replace a failed machine"): a member's host died
 * or its data is gone. Remove the member, set its data dir aside, add it back as a learner, start it with
 * `initial-cluster-state: existing` (it joins and catches up), promote it once in sync, health gate.
 * A brand-new replacement host (in the inventory, quorumd not installed yet): the members that are no longer in the
 * inventory (the dead host) are removed here, then `quorum provision` adds the new host (its membership phase
 * updates the peers' firewall and /etc/hosts, adds it as a learner, starts and promotes it).
 *
 * `reset-member` (reset-member.ts) is the same procedure on a member that may still run, with a stricter
 * precondition: every other member must be healthy.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { type Runbook, type RunbookOptions, asideCmds, quorumOf, refuse, startCmd, steps, stopCmd } from './common.js';
import { type ClusterFacts, type MembershipEntry, describeFacts, isHealthy, leaderName } from './facts.js';
import { type RunbookPlan, type RunbookStep, peerUrlOf } from './steps.js';

/**
 * The plan of replace-member (`mode` replace) or reset-member (`mode` reset). Pure.
 * Refuses: no/unknown --member; no member answers; removal would leave fewer healthy voters than a quorum of
 * the remaining membership (replace); any other member unhealthy or the member is the only one (reset).
 */
export function planMemberRebuild(mode: 'replace' | 'reset', inv: Inventory, facts: ClusterFacts, opts: RunbookOptions): RunbookPlan {
  const runbook = `${mode}-member`;
  const target = opts.member;
  const notes = describeFacts(facts);
  const summary = `${mode === 'replace' ? 'replace' : 'wipe and re-bootstrap'} member ${target ?? '?'} of cluster ${inv.cluster.name}`;
  if (!target) return refuse(runbook, summary, notes, 'no member given (fix: --member NAME, a host of the inventory)');
  if (!inv.hosts.some((h) => h.name === target)) return refuse(runbook, summary, notes, `${target} is not a host of the inventory (fix: add the replacement host to the inventory first)`);
  const ms = facts.membership;
  if (!ms) return refuse(runbook, summary, notes, 'no member answers MemberList: the cluster has no quorum or is down (fix: `quorum runbook recover-quorum`, or `quorum runbook restore`)');
  const targetUrl = peerUrlOf(inv, target);
  const invNames = new Set(inv.hosts.map((h) => h.name));
  const invUrls = new Set(inv.hosts.map((h) => peerUrlOf(inv, h.name)));
  const isTarget = (m: MembershipEntry) => m.name === target || m.peerUrls.includes(targetUrl);
  const gone = (m: MembershipEntry) => !isTarget(m) && !invNames.has(m.name) && !m.peerUrls.some((u) => invUrls.has(u));
  const removals = ms.filter((m) => isTarget(m) || gone(m));
  const remaining = ms.filter((m) => !removals.includes(m));
  const others = inv.hosts.map((h) => h.name).filter((n) => n !== target);
  const missing = others.filter((n) => !remaining.some((m) => m.name === n || m.peerUrls.includes(peerUrlOf(inv, n))));
  if (missing.length) return refuse(runbook, summary, notes, `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} in the inventory but not in the membership (fix: replace one member at a time: run this runbook for ${missing[0]} first)`);
  const voters = remaining.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => isHealthy(facts, m.name));
  const unhealthyOthers = others.filter((n) => !isHealthy(facts, n));
  if (mode === 'reset') {
    if (!ms.some(isTarget)) return refuse(runbook, summary, notes, `${target} is not in the membership: nothing to reset (fix: \`quorum runbook replace-member --member ${target}\`)`);
    if (!voters.length) return refuse(runbook, summary, notes, `${target} is the only member: wiping it would destroy the data (fix: take a backup and use \`quorum runbook restore\`)`);
    if (unhealthyOthers.length) {
      return refuse(runbook, summary, notes, `${unhealthyOthers.join(', ')} ${unhealthyOthers.length > 1 ? 'are' : 'is'} not healthy: wiping ${target} now could break the quorum `
        + `(fix: repair ${unhealthyOthers[0]} first, e.g. \`quorum runbook replace-member --member ${unhealthyOthers[0]}\`, then retry)`);
    }
  } else if (healthyVoters.length < quorumOf(voters.length) || !voters.length) {
    return refuse(runbook, summary, notes, `only ${healthyVoters.length} of the ${voters.length} remaining voters are healthy: removing ${target} would break the quorum `
      + '(fix: `quorum runbook recover-quorum` when a majority is lost)');
  }
  const via = healthyVoters.map((m) => m.name).filter((n) => invNames.has(n));
  const leader = leaderName(facts);
  const installed = facts.installed?.[target] ?? true;
  const all = inv.hosts.map((h) => h.name);
  const out = steps(
    mode === 'reset' && leader === target && {
      kind: 'api', via, title: `hand leadership from ${target} to ${via[0]}`, call: { op: 'move-leader', from: target, to: via[0]! },
    },
    installed && { kind: 'sh', hosts: [target], title: `stop ${target}`, cmds: [stopCmd] },
    { kind: 'gate', members: via, title: `health gate: ${via.join(', ')} healthy with a leader among them` },
    removals.map((m): RunbookStep => ({
      kind: 'api', via, title: `remove ${m.name || m.peerUrls.join(',')} from the membership`, call: { op: 'member-remove', member: m.name || target, id: m.id },
    })),
    { kind: 'gate', members: via, title: `health gate: ${via.join(', ')} healthy without ${target}` },
    installed && { kind: 'sh', hosts: [target], title: `set ${target}'s data dir aside (kept) and create an empty one`, cmds: asideCmds(inv, mode === 'reset' ? 'reset' : 'replaced', opts.now, true) },
    installed
      ? [
        { kind: 'api', via, title: `add ${target} back as a learner`, call: { op: 'member-add-learner', member: target } },
        { kind: 'config', hosts: [target], title: `configure ${target} to join the existing cluster`, members: all, state: 'existing', token: inv.cluster.token },
        { kind: 'sh', hosts: [target], title: `start ${target} (it joins as a learner and catches up)`, cmds: [startCmd] },
        { kind: 'api', via, title: `promote ${target} once it has caught up`, call: { op: 'member-promote', member: target } },
      ]
      : {
        kind: 'provision',
        title: `provision the new host ${target}: peers' /etc/hosts and firewall first, then member add ${target} as a learner, `
          + 'its release, certificates and config (state existing), start, promote once caught up (provision\'s membership phase)',
      },
    { kind: 'gate', members: all, title: 'health gate: every member healthy, one leader' },
  );
  return { runbook, summary, notes, steps: out };
}

export const replaceMemberRunbook: Runbook = {
  name: 'replace-member',
  summary: 'remove a failed member, clean its data dir, add it back as a learner, start it (state existing), promote it',
  when: 'a member\'s host died or its data dir is gone or corrupt while the others keep the quorum; also for a brand-new host replacing a dead one in the inventory',
  refuses: ['the member is not in the inventory', 'the cluster has no quorum (use recover-quorum)', 'removing the member would leave fewer healthy voters than a quorum', 'another inventory host is also missing from the membership (one at a time)'],
  options: ['--member NAME   the member to replace (an inventory host)'],
  plan: (inv, facts, opts) => planMemberRebuild('replace', inv, facts, opts),
};
