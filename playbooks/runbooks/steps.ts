/**
 * The vocabulary of runbook plans (pure data, no I/O): every runbook's planner returns a list of `RunbookStep`s,
 * the executor (execute.ts) runs them one at a time, and `describeStep` renders each as a line plus the exact
 * commands, so `--dry-run`, the progress output and the generated docs/runbooks/ pages all print the same text.
 *
 * Where a step runs: member hosts over SSH (`sh`, `push`, `config`), the operator machine (`local`) or the
 * cluster's API over mTLS from the operator (`api`, shown as the equivalent `quorumctl` command line).
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { memberPaths } from '../provision/files.js';

/** A cluster API call made from the operator over mTLS (StoreClient), through the members in `via`. */
export type ApiCall =
  | { op: 'member-remove'; member: string; id?: string }
  | { op: 'member-add-learner'; member: string }
  | { op: 'member-promote'; member: string }
  | { op: 'move-leader'; from: string; to: string }
  | { op: 'compact' }
  | { op: 'defrag'; member: string }
  | { op: 'disarm' }
  | { op: 'write-check' }
  | { op: 'snapshot'; from: string; file: string }
  | { op: 'verify-restored'; revision: number; /** HashKV at each member's current revision: `revision` is compacted (restore --bump-revision --mark-compacted). */ current?: boolean };

/** One step of a runbook plan. `title` says what and why, in the imperative. */
export type RunbookStep =
  /** Shell commands run (with sudo) on each host of `hosts`, in parallel across hosts, in order on a host. */
  | { kind: 'sh'; hosts: string[]; title: string; cmds: string[]; tolerateUnreachable?: boolean }
  /** Upload of the operator's `local` file to `remote` on each host. */
  | { kind: 'push'; hosts: string[]; title: string; local: string; remote: string }
  /**
   * Rewrite of each host's quorumd config (templates/quorumd.conf.yml.hbs) with initial-cluster = `members`,
   * initial-cluster-state = `state` and initial-cluster-token = `token`; nothing is restarted.
   */
  | { kind: 'config'; hosts: string[]; title: string; members: string[]; state: 'new' | 'existing'; token: string }
  | { kind: 'api'; title: string; via: string[]; call: ApiCall }
  /**
   * Health gate: every member in `members` answers Status over mTLS without errors and all name the same
   * leader; `allowAlarm` tolerates an active NOSPACE alarm (the nospace runbook before it disarms).
   */
  | { kind: 'gate'; members: string[]; title: string; allowAlarm?: boolean }
  /** A step on the operator machine (backup files); `detail` lines are shown as its commands. */
  | { kind: 'local'; title: string; op: 'verify-snapshot' | 'backup' | 'retention'; file: string; detail: string[]; from?: string; keep?: number }
  /** Run the provision playbook over the whole inventory (a brand-new host gets its files and starts). */
  | { kind: 'provision'; title: string };

/** A runbook's plan: the steps, or why it refuses to act (a precondition failed). */
export interface RunbookPlan {
  runbook: string;
  /** One line: what the plan does, for which cluster and members. */
  summary: string;
  steps: RunbookStep[];
  /** Set when a precondition failed: nothing may be done. One line with the fix. */
  refused?: string;
  /** Facts the plan was made from, shown above the steps (`etcd-02: not answering (connect ECONNREFUSED)`). */
  notes: string[];
}

/** The member API endpoint `https://ADDR:clientPort` of `name`. */
export function endpointOf(inv: Inventory, name: string): string {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`${name} is not a host of the inventory ${inv.file}`);
  return `https://${h.address}:${inv.cluster.clientPort}`;
}

/** The peer URL `https://ADDR:peerPort` of `name`. */
export function peerUrlOf(inv: Inventory, name: string): string {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`${name} is not a host of the inventory ${inv.file}`);
  return `https://${h.address}:${inv.cluster.peerPort}`;
}

/** etcd's initial-cluster text for `members` (inventory names), in the given order. */
export function initialClusterOf(inv: Inventory, members: string[]): string {
  return members.map((m) => `${m}=${peerUrlOf(inv, m)}`).join(',');
}

/** `quorumctl --endpoints=E1,E2` (the operator's TLS flags are given once, in the plan header). */
function ctl(inv: Inventory, via: string[]): string {
  return `quorumctl --endpoints=${via.map((v) => endpointOf(inv, v)).join(',')}`;
}

/** The command line equivalent to an API call. */
function apiCommand(inv: Inventory, via: string[], call: ApiCall): string[] {
  switch (call.op) {
    case 'member-remove': return [`${ctl(inv, via)} member remove ${call.id ?? `<ID of ${call.member}>`}`];
    case 'member-add-learner': return [`${ctl(inv, via)} member add ${call.member} --peer-urls=${peerUrlOf(inv, call.member)} --learner`];
    case 'member-promote': return [`${ctl(inv, via)} member promote <ID of ${call.member}>   # retried until the learner is in sync`];
    case 'move-leader': return [`${ctl(inv, [call.from])} move-leader <ID of ${call.to}>`];
    case 'compact': return [`${ctl(inv, via)} compaction <current revision>`];
    case 'defrag': return [`${ctl(inv, [call.member])} defrag`];
    case 'disarm': return [`${ctl(inv, via)} alarm disarm`];
    case 'write-check': return [`${ctl(inv, via)} put quorum-runbook/write-check <time>`, `${ctl(inv, via)} del quorum-runbook/write-check`];
    case 'snapshot': return [`${ctl(inv, [call.from])} snapshot save ${call.file}`];
    case 'verify-restored': return via.map((v) => `${ctl(inv, [v])} endpoint hashkv${call.current ? '' : ` --rev=${call.revision}`}   # equal on every member; revision >= ${call.revision}`);
  }
}

/** The host column of a step: member names, `operator` or `cluster`. */
export function stepHosts(s: RunbookStep): string {
  switch (s.kind) {
    case 'sh': case 'push': case 'config': return s.hosts.join(', ');
    case 'api': case 'local': return 'operator';
    case 'gate': case 'provision': return 'cluster';
  }
}

/** The exact commands of a step, as an operator would type them (on the step's hosts). */
export function stepCommands(inv: Inventory, s: RunbookStep): string[] {
  switch (s.kind) {
    case 'sh': return s.cmds;
    case 'push': return [`scp ${s.local} HOST:${s.remote}   # for HOST in ${s.hosts.join(' ')}`];
    case 'config': return [`write ${memberPaths(inv).config}: initial-cluster=${initialClusterOf(inv, s.members)}, `
      + `initial-cluster-state=${s.state}, initial-cluster-token=${s.token}`];
    case 'api': return apiCommand(inv, s.via, s.call);
    case 'gate': return [`${ctl(inv, s.members)} endpoint status   # every member answers, one leader${s.allowAlarm ? ' (NOSPACE alarm tolerated)' : ''}`];
    case 'local': return s.detail;
    case 'provision': return [`quorum provision -i ${inv.file}`];
  }
}

/** The text of a plan: summary, notes, the TLS flags once, then numbered steps with their commands. */
export function formatRunbookPlan(inv: Inventory, plan: RunbookPlan): string {
  const lines = [`Runbook ${plan.runbook}: ${plan.summary}`];
  for (const n of plan.notes) lines.push(`  fact: ${n}`);
  if (plan.refused) {
    lines.push(`  REFUSED: ${plan.refused}`);
    return `${lines.join('\n')}\n`;
  }
  const p = inv.pki.dir;
  lines.push(`  (quorumctl on the operator runs with --cacert=${p}/ca.pem --cert=${p}/client.pem --key=${p}/client-key.pem)`);
  plan.steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. [${stepHosts(s)}] ${s.title}`);
    for (const c of stepCommands(inv, s)) lines.push(`       $ ${c}`);
  });
  return `${lines.join('\n')}\n`;
}
