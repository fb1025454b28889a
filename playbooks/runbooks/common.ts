/**
 * Shared pieces of the runbook planners: options, the commands that stop, start and set aside a member's data,
 * and quorum arithmetic. Pure.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { UNIT } from '../provision/defaults.js';
import { timeStamp } from '../backup/backup.js';
import type { RunbookPlan, RunbookStep } from './steps.js';
import type { ClusterFacts } from './facts.js';

/** Options every runbook accepts (the CLI fills them; tests give fixed values). */
export interface RunbookOptions {
  /** Time of the run: names aside data dirs, new tokens and files (deterministic in tests). */
  now: Date;
  /** replace-member / reset-member: the member (inventory name). */
  member?: string;
  /** restore / recover-quorum: a verified snapshot file (see verifySnapshot). */
  snapshot?: { file: string; revision: number; hash: string };
  /** restore: etcd 3.5's `--bump-revision N --mark-compacted`, passed to every member's `snapshot restore` (default off). */
  bumpRevision?: number;
  markCompacted?: boolean;
  /** recover-quorum: where the operator keeps the snapshot it takes (default ~/.quorum/<cluster>/runbooks). */
  workDir?: string;
  /** backup: destination dir and retention. */
  dest?: string;
  keep?: number;
}

/** A runbook: its name and texts (for `runbook list` and the docs) and its pure planner. */
export interface Runbook {
  name: string;
  /** One line. */
  summary: string;
  /** When to use it: the symptoms. */
  when: string;
  /** What it refuses and why (doc text). */
  refuses: string[];
  /** Options beyond -i/--dry-run, for the docs: `--member NAME  the member to replace`. */
  options: string[];
  plan(inv: Inventory, facts: ClusterFacts, opts: RunbookOptions): RunbookPlan;
}

/** Number of votes a cluster of `n` voters needs. */
export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

export const stopCmd = `systemctl stop ${UNIT}`;
export const startCmd = `systemctl reset-failed ${UNIT} 2>/dev/null; systemctl restart --no-block ${UNIT}`;

/** Commands that move the data dir aside (kept, never deleted) as `<data-dir>.<why>-<stamp>`. */
export function asideCmds(inv: Inventory, why: string, now: Date, recreate: boolean): string[] {
  const d = inv.cluster.dataDir;
  const cmds = [`if [ -e ${d} ]; then mv ${d} ${d}.${why}-${timeStamp(now)}; fi`];
  if (recreate) cmds.push(`install -d -m 0700 -o ${inv.cluster.user} -g ${inv.cluster.user} ${d}`);
  return cmds;
}

/** The `quorumctl snapshot restore` (offline) into a fresh data dir for `name`, then ownership. */
export function restoreCmds(inv: Inventory, name: string, remoteSnapshot: string, members: string[], token: string, peerUrl: (n: string) => string): string[] {
  const d = inv.cluster.dataDir;
  const cluster = members.map((m) => `${m}=${peerUrl(m)}`).join(',');
  return [
    `quorumctl snapshot restore ${remoteSnapshot} --name ${name} --initial-cluster ${cluster} --initial-cluster-token ${token} `
      + `--initial-advertise-peer-urls ${peerUrl(name)} --data-dir ${d}`,
    `chown -R ${inv.cluster.user}:${inv.cluster.user} ${d} && chmod 0700 ${d}`,
  ];
}

/** A new cluster token for a restored cluster: `<inventory token>-<why>-<stamp>` (lowercase). */
export function newToken(inv: Inventory, why: string, now: Date): string {
  return `${inv.cluster.token}-${why}-${timeStamp(now).toLowerCase()}`;
}

/** A refused plan. */
export function refuse(runbook: string, summary: string, notes: string[], why: string): RunbookPlan {
  return { runbook, summary, notes, steps: [], refused: why };
}

/** A step list builder that keeps order readable. */
export function steps(...s: (RunbookStep | RunbookStep[] | false | undefined)[]): RunbookStep[] {
  return s.flatMap((x) => (x ? (Array.isArray(x) ? x : [x]) : []));
}
