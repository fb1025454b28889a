/**
 * Runbook `recover-quorum` (etcd docs "Disaster recovery: Restoring a cluster" applied to the surviving data): a
 * majority of the members is gone for good, so the cluster cannot commit anything. From the most up-to-date
 * surviving member (highest Raft index in Status), or from a given snapshot, take a snapshot, restore it as a
 * NEW one-member cluster on that member (new token, its old data dir set aside), start it, then add every
 * other member back one at a time: data dir aside, add as learner, start with state existing, promote, gate.
 * Nothing the survivor had applied is lost; writes it never saw were never acknowledged by a quorum.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { timeStamp } from '../backup/backup.js';
import { type Runbook, asideCmds, newToken, quorumOf, refuse, restoreCmds, startCmd, steps, stopCmd } from './common.js';
import { describeFacts, statusOf } from './facts.js';
import { type RunbookStep, peerUrlOf } from './steps.js';

export const recoverQuorumRunbook: Runbook = {
  name: 'recover-quorum',
  summary: 'from the most up-to-date survivor (or a snapshot) form a new one-member cluster, then add the others back one at a time',
  when: 'a majority of the members is gone for good (hosts lost, data dirs destroyed): no leader, every write times out',
  refuses: ['a quorum of members still has a leader (use replace-member for the failed ones)', 'no member answers and no --snapshot is given (use restore)'],
  options: ['--snapshot PATH   seed the new cluster from this backup instead of a survivor'],
  plan(inv, facts, opts) {
    const names = inv.hosts.map((h) => h.name);
    const notes = describeFacts(facts);
    const summary0 = `recover the quorum of cluster ${inv.cluster.name}`;
    const withLeader = names.filter((n) => (statusOf(facts, n)?.leader ?? 0n) !== 0n);
    if (withLeader.length >= quorumOf(names.length)) {
      return refuse('recover-quorum', summary0, notes, `${withLeader.length} of ${names.length} members have a leader: the quorum is not lost (fix: \`quorum runbook replace-member --member NAME\` for each failed member)`);
    }
    const answering = names.filter((n) => statusOf(facts, n));
    let seed: string;
    if (opts.snapshot) {
      seed = answering[0] ?? names[0]!;
      notes.unshift(`snapshot ${opts.snapshot.file}: revision ${opts.snapshot.revision}, hash ${opts.snapshot.hash}`);
    } else {
      if (!answering.length) return refuse('recover-quorum', summary0, notes, 'no member answers: there is no survivor to recover from (fix: `quorum runbook restore --snapshot PATH` from the last backup)');
      seed = [...answering].sort((a, b) => statusOf(facts, b)!.raftIndex - statusOf(facts, a)!.raftIndex || names.indexOf(a) - names.indexOf(b))[0]!;
      notes.unshift(`most up-to-date survivor: ${seed} (raft index ${statusOf(facts, seed)!.raftIndex})`);
    }
    const stamp = timeStamp(opts.now);
    const work = opts.workDir ?? join(homedir(), '.quorum', inv.cluster.name, 'runbooks');
    const local = opts.snapshot?.file ?? `${work}/recover-${inv.cluster.name}-${stamp}.db`;
    const remote = `/var/tmp/quorum-recover-${inv.cluster.name}.db`;
    const token = newToken(inv, 'recover', opts.now);
    const peer = (n: string) => peerUrlOf(inv, n);
    const others = names.filter((n) => n !== seed);
    const rejoin: RunbookStep[] = [];
    const current = [seed];
    for (const o of others) {
      const next = names.filter((n) => current.includes(n) || n === o);
      rejoin.push(
        { kind: 'sh', hosts: [o], title: `set ${o}'s data dir aside (kept) and create an empty one`, cmds: asideCmds(inv, 'before-recover', opts.now, true) },
        { kind: 'api', via: [...current], title: `add ${o} as a learner`, call: { op: 'member-add-learner', member: o } },
        { kind: 'config', hosts: [o], title: `configure ${o} to join (state existing)`, members: next, state: 'existing', token: inv.cluster.token },
        { kind: 'sh', hosts: [o], title: `start ${o} (joins as a learner and catches up)`, cmds: [startCmd] },
        { kind: 'api', via: [...current], title: `promote ${o} once it has caught up`, call: { op: 'member-promote', member: o } },
        { kind: 'gate', members: next, title: `health gate: ${next.join(', ')} healthy, one leader` },
      );
      current.splice(0, current.length, ...next);
    }
    return {
      runbook: 'recover-quorum',
      summary: `new one-member cluster on ${seed} from ${opts.snapshot ? opts.snapshot.file : `${seed}'s own data`} (token ${token}), then add ${others.join(', ')} back one at a time`,
      notes,
      steps: steps(
        !opts.snapshot && { kind: 'api', via: [seed], title: `take a snapshot of ${seed}'s data (it answers without a quorum)`, call: { op: 'snapshot', from: seed, file: local } },
        { kind: 'local', op: 'verify-snapshot', file: local, title: 'verify the snapshot (sha256 digest, hash, revision)', detail: [`quorumctl snapshot status ${local} -w table`] },
        { kind: 'sh', hosts: names, title: 'stop every member (none may keep the old cluster alive)', cmds: [stopCmd] },
        { kind: 'push', hosts: [seed], title: `copy the snapshot to ${seed}`, local, remote },
        { kind: 'sh', hosts: [seed], title: `set ${seed}'s data dir aside and restore the snapshot as a one-member cluster`, cmds: [...asideCmds(inv, 'before-recover', opts.now, false), ...restoreCmds(inv, seed, remote, [seed], token, peer), `rm -f ${remote}`] },
        { kind: 'config', hosts: [seed], title: `configure ${seed} to bootstrap the one-member cluster`, members: [seed], state: 'new', token },
        { kind: 'sh', hosts: [seed], title: `start ${seed}`, cmds: [startCmd] },
        { kind: 'gate', members: [seed], title: `health gate: ${seed} is the leader of the new cluster` },
        rejoin,
        { kind: 'config', hosts: names, title: 'write the inventory\'s config on every member (state existing; no restart)', members: names, state: 'existing', token: inv.cluster.token },
        { kind: 'gate', members: names, title: 'health gate: every member healthy, one leader' },
      ),
    };
  },
};
