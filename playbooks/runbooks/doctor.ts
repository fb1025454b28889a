/**
 * Runbook `doctor`: checks the causes the reference articles give for a cluster that will not form or keeps
 * failing, and names for each finding the host(s) and the runbook or command that fixes it. Read-only.
 *
 * Plan (pure, `doctorRunbook.plan`): the probes every host runs on itself (doctor-probes.ts) and the reads made
 * over mTLS; apply (`runDoctor`, doctor-run.ts): run them, then `diagnose` (pure, doctor-diagnose.ts) turns the facts into
 * findings. Exit code 0 only when there is no finding.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { memberPaths } from '../provision/files.js';
import type { Runbook } from './common.js';
import { probeSections } from './doctor-probes.js';
import { type ClusterFacts, describeFacts } from './facts.js';
import type { RunbookPlan } from './steps.js';

/** The doctor's plan: every probe (read-only) per host, then the cluster reads. Never refuses. */
export function planDoctor(inv: Inventory, facts: ClusterFacts): RunbookPlan {
  const hosts = inv.hosts.map((h) => h.name);
  return {
    runbook: 'doctor',
    summary: `check ${inv.cluster.name} (${hosts.join(', ')}) for the known failure causes; read-only`,
    notes: describeFacts(facts),
    steps: [
      ...probeSections(inv).map((s) => ({ kind: 'sh' as const, hosts, title: s.title, cmds: s.lines, tolerateUnreachable: true })),
      { kind: 'sh', hosts, title: 'read the installed certificates (ca.pem, server.pem, peer.pem) and the operator\'s client.pem', cmds: [`cat ${memberPaths(inv).pkiDir}/ca.pem ${memberPaths(inv).pkiDir}/server.pem ${memberPaths(inv).pkiDir}/peer.pem`], tolerateUnreachable: true },
      { kind: 'gate', members: hosts, title: 'read every member\'s status, alarms and the membership over mTLS (quorumctl endpoint status, member list)' },
    ],
  };
}

export const doctorRunbook: Runbook = {
  name: 'doctor',
  summary: 'check the cluster for the known failure causes and name, per finding, the runbook that fixes it (read-only)',
  when: 'before and after any change, or when a cluster will not form, a member crash-loops or elections flap',
  refuses: ['never: it only reads (exit 0 only when nothing is wrong, 1 otherwise)'],
  options: ['[--fsync-warn-ms MS]   report a WAL fsync p99 (or a measured dsync write) above MS milliseconds (default 10)',
    '[--cert-warn-days N]   report certificates with fewer than N days left (default 30)'],
  plan: (inv, facts) => planDoctor(inv, facts),
};
