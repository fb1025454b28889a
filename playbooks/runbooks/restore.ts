/**
 * Runbook `restore` (etcd docs "Disaster recovery: Restoring a cluster"): the whole cluster is lost, or a bad
 * write replicated everywhere. Every member is stopped, its data dir set aside (renamed, never deleted), the
 * SAME snapshot restored on every member with a new cluster token and the inventory's initial-cluster, and
 * all are started together; then every member must be healthy with the data at the snapshot's revision
 * (equal HashKV everywhere). Finally the configs go back to the inventory's token with state `existing`,
 * as `quorum provision` would write them (a restart then reads the member's recorded bootstrap).
 *
 * With `--bump-revision N --mark-compacted` (etcd 3.5's restore options, both or neither; default off) every
 * member's `snapshot restore` adds N to the snapshot's revision and marks it compacted: every key's next mod
 * revision is above anything a client saw before, and watchers resuming from an older revision are cancelled
 * as compacted, so Kubernetes informers re-list instead of missing the rollback. Verification then expects
 * revision + N. Leases (with their granted TTL) and auth come back when the backup carries them (store/snap).
 */
import { timeStamp } from '../backup/backup.js';
import { type Runbook, asideCmds, newToken, refuse, restoreCmds, startCmd, steps, stopCmd } from './common.js';
import { describeFacts } from './facts.js';
import { peerUrlOf } from './steps.js';

export const restoreRunbook: Runbook = {
  name: 'restore',
  summary: 'restore every member from one snapshot into fresh data dirs (new cluster token) and start them together',
  when: 'every member lost its data, or a bad write (deleted prefix, wrong values) replicated to every member',
  refuses: [
    'no --snapshot, or the snapshot fails verification (digest, image)',
    '--bump-revision without --mark-compacted, or the reverse (etcd\'s rule: both or neither)',
  ],
  options: [
    '--snapshot PATH   the backup to restore (a `quorum backup` file)',
    '[--bump-revision N --mark-compacted]   add N to the restored revision and mark it compacted, so watchers (Kubernetes informers) re-list instead of resuming from revisions the restore rolled back (etcd 3.5; default off)',
  ],
  plan(inv, facts, opts) {
    const names = inv.hosts.map((h) => h.name);
    const snap = opts.snapshot;
    const notes = describeFacts(facts);
    if (!snap) return refuse('restore', `restore cluster ${inv.cluster.name}`, notes, 'no snapshot given (fix: --snapshot PATH, a file from `quorum backup`)');
    notes.unshift(`snapshot ${snap.file}: revision ${snap.revision}, hash ${snap.hash}`);
    const bump = opts.bumpRevision ?? 0;
    if ((bump > 0) !== !!opts.markCompacted) {
      return refuse('restore', `restore cluster ${inv.cluster.name}`, notes, '--bump-revision N and --mark-compacted go together (fix: give both, e.g. --bump-revision 1000000000 --mark-compacted, or neither)');
    }
    const rev = snap.revision + bump;
    if (bump > 0) notes.push(`revision bump: ${snap.revision} + ${bump} = ${rev}, marked compacted (watchers from older revisions are cancelled and re-list)`);
    const bumpFlags = bump > 0 ? ` --bump-revision ${bump} --mark-compacted` : '';
    const token = newToken(inv, 'restore', opts.now);
    const remote = `/var/tmp/quorum-restore-${inv.cluster.name}-r${snap.revision}.db`;
    const summary = `restore cluster ${inv.cluster.name} (${names.join(', ')}) from ${snap.file} at revision ${snap.revision}, new token ${token}`;
    const peer = (n: string) => peerUrlOf(inv, n);
    return {
      runbook: 'restore', summary, notes,
      steps: steps(
        { kind: 'push', hosts: names, title: 'copy the snapshot to every member', local: snap.file, remote },
        { kind: 'sh', hosts: names, title: 'stop every member', cmds: [stopCmd] },
        names.map((n) => ({
          kind: 'sh' as const, hosts: [n], title: `set ${n}'s data dir aside and restore the snapshot into a fresh one`,
          cmds: [...asideCmds(inv, 'before-restore', opts.now, false), ...restoreCmds(inv, n, remote, names, token, peer).map((c, i) => (i === 0 ? c + bumpFlags : c))],
        })),
        { kind: 'config', hosts: names, title: 'configure every member to bootstrap the restored cluster', members: names, state: 'new', token },
        { kind: 'sh', hosts: names, title: 'start every member together', cmds: [startCmd] },
        { kind: 'gate', members: names, title: 'health gate: every member healthy, one leader' },
        { kind: 'api', via: names, title: `verify the data: every member at revision >= ${rev} with equal HashKV`, call: { op: 'verify-restored', revision: rev, ...(bump > 0 ? { current: true } : {}) } },
        { kind: 'config', hosts: names, title: 'write the inventory\'s config back (state existing; no restart)', members: names, state: 'existing', token: inv.cluster.token },
        { kind: 'sh', hosts: names, title: 'remove the copied snapshot (old data dirs stay as *.before-restore-' + timeStamp(opts.now) + ')', cmds: [`rm -f ${remote}`] },
      ),
    };
  },
};
