/**
 * Runbook `backup`: a verified snapshot of the keyspace from one healthy member, kept on the operator's machine
 * with a retention count ("replication is not a backup"). The same as `quorum backup -i FILE --dest DIR`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { timeStamp } from '../backup/backup.js';
import { type Runbook, refuse } from './common.js';
import { describeFacts, isHealthy } from './facts.js';

/** Default destination: `~/.quorum/<cluster>/backups`. */
export function defaultBackupDir(cluster: string): string {
  return join(homedir(), '.quorum', cluster, 'backups');
}

export const backupRunbook: Runbook = {
  name: 'backup',
  summary: 'take a verified snapshot from a healthy member and keep the newest N',
  when: 'before any risky change, and on a schedule (`quorum backup schedule`); restore needs one',
  refuses: ['no member is healthy (a snapshot of a member without a leader may be stale)'],
  options: ['--dest DIR   where backups are kept (default ~/.quorum/<cluster>/backups)', '--keep N   retention count (default 48; 0 keeps all)'],
  plan(inv, facts, opts) {
    const dest = opts.dest ?? defaultBackupDir(inv.cluster.name);
    const keep = opts.keep ?? 48;
    const from = inv.hosts.find((h) => isHealthy(facts, h.name))?.name;
    const summary = `snapshot cluster ${inv.cluster.name} into ${dest}, keep ${keep || 'all'}`;
    const notes = describeFacts(facts);
    if (!from) return refuse('backup', summary, notes, 'no member is healthy: a snapshot now could be stale (fix: `quorum status`; if a majority is lost use `quorum runbook recover-quorum`)');
    const stamp = timeStamp(opts.now);
    const part = `${dest}/.${inv.cluster.name}-${stamp}.taking`;
    return {
      runbook: 'backup', summary, notes,
      steps: [
        {
          kind: 'local', op: 'backup', file: dest, from,
          title: `take a snapshot from ${from} over mTLS and verify it (sha256 digest, hash, revision)`,
          detail: [
            `quorumctl --endpoints=https://${inv.hosts.find((h) => h.name === from)!.address}:${inv.cluster.clientPort} snapshot save ${part}`,
            `quorumctl snapshot status ${part} -w table`,
            `mv ${part} ${dest}/${inv.cluster.name}-${stamp}-r<revision>.db`,
          ],
        },
        {
          kind: 'local', op: 'retention', file: dest, keep,
          title: keep ? `keep the newest ${keep} backups of ${inv.cluster.name} in ${dest}` : 'keep every backup (--keep 0)',
          detail: keep ? [`ls ${dest}/${inv.cluster.name}-*-r*.db | sort | head -n -${keep} | xargs -r rm -f`] : [],
        },
      ],
    };
  },
};
