/**
 * Runbook `nospace` (etcd docs "Maintenance: Space quota" and "Defragmentation"): the NOSPACE alarm is raised
 * and the cluster refuses writes ("etcdserver: mvcc: database space exceeded"). Compact the history at the
 * current revision, defragment one member at a time (followers first, the leader last, gate after each), disarm
 * the alarm, and verify that a write succeeds. When the live data itself exceeds the quota, compaction cannot
 * help: the write check fails and says to delete keys or raise `quota-backend-bytes` in the inventory.
 */
import { type Runbook, quorumOf, refuse, steps } from './common.js';
import { describeFacts, isAlarmError, leaderName, statusOf } from './facts.js';
import type { RunbookStep } from './steps.js';

export const nospaceRunbook: Runbook = {
  name: 'nospace',
  summary: 'compact, defragment one member at a time, disarm the NOSPACE alarm and verify a write',
  when: 'writes fail with "etcdserver: mvcc: database space exceeded"; `quorum status` shows alarm:NOSPACE',
  refuses: ['a member does not answer or the cluster has no leader (fix that first: replace-member / recover-quorum)'],
  options: [],
  plan(inv, facts, _opts) {
    const names = inv.hosts.map((h) => h.name);
    const notes = describeFacts(facts);
    const quota = Math.min(...inv.hosts.map((h) => h.store.quotaBackendBytes));
    notes.push(`quota-backend-bytes ${quota}`);
    const summary = `reclaim space in cluster ${inv.cluster.name} and disarm NOSPACE`;
    const down = names.filter((n) => !statusOf(facts, n));
    if (down.length) return refuse('nospace', summary, notes, `${down.join(', ')} does not answer: defragmenting the others alone would leave it alarmed (fix: \`quorum runbook replace-member --member ${down[0]}\` first)`);
    const leader = leaderName(facts);
    const withLeader = names.filter((n) => (statusOf(facts, n)?.leader ?? 0n) !== 0n);
    if (!leader || withLeader.length < quorumOf(names.length)) return refuse('nospace', summary, notes, 'the cluster has no leader: compaction cannot commit (fix: `quorum runbook recover-quorum`)');
    const alarmed = names.filter((n) => statusOf(facts, n)!.errors.some(isAlarmError));
    if (!alarmed.length) notes.push('no member reports an alarm: the run still compacts and defragments');
    const order = [...names].sort((a, b) => Number(a === leader) - Number(b === leader));
    return {
      runbook: 'nospace', summary, notes,
      steps: steps(
        { kind: 'api', via: names, title: 'compact the key history at the current revision', call: { op: 'compact' } },
        order.flatMap((n): RunbookStep[] => [
          { kind: 'api', via: [n], title: `defragment ${n}${n === leader ? ' (the leader, last)' : ''}`, call: { op: 'defrag', member: n } },
          { kind: 'gate', members: names, title: `health gate after defragmenting ${n}`, allowAlarm: true },
        ]),
        { kind: 'api', via: names, title: 'disarm the alarms', call: { op: 'disarm' } },
        { kind: 'gate', members: names, title: 'health gate: every member healthy, no alarm' },
        { kind: 'api', via: names, title: 'verify that a write succeeds', call: { op: 'write-check' } },
      ),
    };
  },
};
