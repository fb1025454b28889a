/** Every runbook, in the order `quorum runbook list` and docs/runbooks/ show them. */
import { backupRunbook } from './backup.js';
import type { Runbook } from './common.js';
import { doctorRunbook } from './doctor.js';
import { nospaceRunbook } from './nospace.js';
import { recoverQuorumRunbook } from './recover-quorum.js';
import { replaceMemberRunbook } from './replace-member.js';
import { resetMemberRunbook } from './reset-member.js';
import { restoreRunbook } from './restore.js';

export const RUNBOOKS: readonly Runbook[] = [
  backupRunbook, restoreRunbook, replaceMemberRunbook, resetMemberRunbook, recoverQuorumRunbook, nospaceRunbook, doctorRunbook,
];

/** The runbook called `name`, or undefined. */
export function findRunbook(name: string): Runbook | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}

/** `quorum runbook list`: one line per runbook. */
export function formatRunbookList(): string {
  const w = Math.max(...RUNBOOKS.map((r) => r.name.length));
  return RUNBOOKS.map((r) => `${r.name.padEnd(w)}  ${r.summary}\n${' '.repeat(w)}  when: ${r.when}\n`).join('');
}
