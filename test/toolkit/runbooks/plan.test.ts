/**
 * The runbook planners (playbooks/runbooks): the dry-run text of every runbook on the example cluster, every
 * refusal (preconditions), the committed docs/runbooks/ equal to the generated pages, and the backup helpers
 * (names, retention, verification, the scheduled-backup files).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyRetention, backupName, verifySnapshot } from '../../../playbooks/backup/backup.js';
import { renderBackupFiles } from '../../../playbooks/backup/schedule.js';
import { generateRunbookDocs } from '../../../playbooks/runbooks/docs.js';
import { examples, exampleInventory } from '../../../playbooks/runbooks/examples.js';
import { findRunbook, formatRunbookList, RUNBOOKS } from '../../../playbooks/runbooks/registry.js';
import { formatRunbookPlan } from '../../../playbooks/runbooks/steps.js';
import { parseInventory } from '../../../toolkit/inventory/index.js';
import type { ClusterFacts } from '../../../playbooks/runbooks/facts.js';

const root = new URL('../../../../', import.meta.url).pathname;
const inv = exampleInventory();
const ex = examples();

function dry(name: string, facts?: ClusterFacts, opts?: object): { text: string; refused?: string; steps: number } {
  const e = ex[name]!;
  const plan = findRunbook(name)!.plan(inv, facts ?? e.facts, { ...e.opts, ...opts });
  return { text: formatRunbookPlan(inv, plan), refused: plan.refused, steps: plan.steps.length };
}

/** The numbered step titles of a plan text. */
const titles = (text: string) => text.split('\n').filter((l) => /^ {2}\d+\. /.test(l)).map((l) => l.replace(/^ {2}\d+\. /, ''));

test('list: every runbook with when to use it', () => {
  assert.deepEqual(RUNBOOKS.map((r) => r.name), ['backup', 'restore', 'replace-member', 'reset-member', 'recover-quorum', 'nospace', 'doctor']);
  const list = formatRunbookList();
  for (const r of RUNBOOKS) assert.match(list, new RegExp(`^${r.name} +${r.summary.slice(0, 20).replace(/[()]/g, '.')}`, 'm'));
});

test('backup: snapshot from the first healthy member, verify, retention', () => {
  const d = dry('backup');
  assert.equal(d.refused, undefined);
  assert.deepEqual(titles(d.text), [
    '[operator] take a snapshot from etcd-01 over mTLS and verify it (sha256 digest, hash, revision)',
    '[operator] keep the newest 48 backups of lab in /home/ops/.quorum/lab/backups',
  ]);
  assert.match(d.text, /\$ quorumctl --endpoints=https:\/\/10\.88\.0\.11:2379 snapshot save \/home\/ops\/\.quorum\/lab\/backups\/\.lab-20261121T030000Z\.taking/);
  const none = dry('backup', { statuses: ex['replace-member']!.facts.statuses.map((s) => ({ ...s, status: undefined, error: 'down' })) });
  assert.match(none.refused!, /no member is healthy/);
});

test('restore: the same snapshot on every member, new token, old data dirs kept, verify revision', () => {
  const d = dry('restore');
  assert.deepEqual(titles(d.text), [
    '[etcd-01, etcd-02, etcd-03] copy the snapshot to every member',
    '[etcd-01, etcd-02, etcd-03] stop every member',
    '[etcd-01] set etcd-01\'s data dir aside and restore the snapshot into a fresh one',
    '[etcd-02] set etcd-02\'s data dir aside and restore the snapshot into a fresh one',
    '[etcd-03] set etcd-03\'s data dir aside and restore the snapshot into a fresh one',
    '[etcd-01, etcd-02, etcd-03] configure every member to bootstrap the restored cluster',
    '[etcd-01, etcd-02, etcd-03] start every member together',
    '[cluster] health gate: every member healthy, one leader',
    '[operator] verify the data: every member at revision >= 1870 with equal HashKV',
    '[etcd-01, etcd-02, etcd-03] write the inventory\'s config back (state existing; no restart)',
    '[etcd-01, etcd-02, etcd-03] remove the copied snapshot (old data dirs stay as *.before-restore-20261121T030000Z)',
  ]);
  assert.ok(d.text.includes('$ if [ -e /var/lib/etcd ]; then mv /var/lib/etcd /var/lib/etcd.before-restore-20261121T030000Z; fi'));
  assert.ok(d.text.includes('$ quorumctl snapshot restore /var/tmp/quorum-restore-lab-r1870.db --name etcd-02 --initial-cluster '
    + 'etcd-01=https://10.88.0.11:2380,etcd-02=https://10.88.0.12:2380,etcd-03=https://10.88.0.13:2380 '
    + '--initial-cluster-token lab-cluster-1-restore-20261121t030000z --initial-advertise-peer-urls https://10.88.0.12:2380 --data-dir /var/lib/etcd'));
  assert.ok(!/rm -rf/.test(d.text), 'never deletes a data dir');
  assert.match(dry('restore', undefined, { snapshot: undefined }).refused!, /no snapshot given/);
});

test('replace-member: exact plan for a member whose data is gone', () => {
  const d = dry('replace-member');
  assert.equal(d.text, [
    'Runbook replace-member: replace member etcd-02 of cluster lab',
    '  fact: etcd-01: leader, raft index 4211, revision 1870, db 24576 bytes',
    '  fact: etcd-02: not answering (connect ECONNREFUSED 10.88.0.12:2379)',
    '  fact: etcd-03: follower, raft index 4209, revision 1870, db 24576 bytes',
    '  (quorumctl on the operator runs with --cacert=/home/ops/.quorum/lab/pki/ca.pem --cert=/home/ops/.quorum/lab/pki/client.pem --key=/home/ops/.quorum/lab/pki/client-key.pem)',
    '  1. [etcd-02] stop etcd-02',
    '       $ systemctl stop quorumd.service',
    '  2. [cluster] health gate: etcd-01, etcd-03 healthy with a leader among them',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.13:2379 endpoint status   # every member answers, one leader',
    '  3. [operator] remove etcd-02 from the membership',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.13:2379 member remove 924e2e83e93f2560',
    '  4. [cluster] health gate: etcd-01, etcd-03 healthy without etcd-02',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.13:2379 endpoint status   # every member answers, one leader',
    '  5. [etcd-02] set etcd-02\'s data dir aside (kept) and create an empty one',
    '       $ if [ -e /var/lib/etcd ]; then mv /var/lib/etcd /var/lib/etcd.replaced-20261121T030000Z; fi',
    '       $ install -d -m 0700 -o etcd -g etcd /var/lib/etcd',
    '  6. [operator] add etcd-02 back as a learner',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.13:2379 member add etcd-02 --peer-urls=https://10.88.0.12:2380 --learner',
    '  7. [etcd-02] configure etcd-02 to join the existing cluster',
    '       $ write /etc/etcd/quorumd.conf.yml: initial-cluster=etcd-01=https://10.88.0.11:2380,etcd-02=https://10.88.0.12:2380,etcd-03=https://10.88.0.13:2380, initial-cluster-state=existing, initial-cluster-token=lab-cluster-1',
    '  8. [etcd-02] start etcd-02 (it joins as a learner and catches up)',
    '       $ systemctl reset-failed quorumd.service 2>/dev/null; systemctl restart --no-block quorumd.service',
    '  9. [operator] promote etcd-02 once it has caught up',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.13:2379 member promote <ID of etcd-02>   # retried until the learner is in sync',
    '  10. [cluster] health gate: every member healthy, one leader',
    '       $ quorumctl --endpoints=https://10.88.0.11:2379,https://10.88.0.12:2379,https://10.88.0.13:2379 endpoint status   # every member answers, one leader',
    '',
  ].join('\n'));
});

test('replace-member: a brand-new host replacing a dead one: the dead member removed, then provision adds the new one', () => {
  const inv4 = parseInventory(`cluster:\n  name: lab\n  initial-cluster-token: lab-cluster-1\npki:\n  dir: /home/ops/.quorum/lab/pki\nhosts:\n`
    + '  - name: etcd-01\n    address: 10.88.0.11\n  - name: etcd-04\n    address: 10.88.0.14\n  - name: etcd-03\n    address: 10.88.0.13\n', '/home/ops/lab.yaml');
  const e = ex['replace-member']!;
  const facts: ClusterFacts = { statuses: [e.facts.statuses[0]!, { endpoint: 'https://10.88.0.14:2379', name: 'etcd-04', error: 'connect ECONNREFUSED 10.88.0.14:2379' }, e.facts.statuses[2]!],
    membership: e.facts.membership, installed: { 'etcd-04': false } };
  const plan = findRunbook('replace-member')!.plan(inv4, facts, { ...e.opts, member: 'etcd-04' });
  assert.equal(plan.refused, undefined);
  assert.deepEqual(titles(formatRunbookPlan(inv4, plan)), [
    '[cluster] health gate: etcd-01, etcd-03 healthy with a leader among them',
    '[operator] remove etcd-02 from the membership',
    '[cluster] health gate: etcd-01, etcd-03 healthy without etcd-04',
    '[cluster] provision the new host etcd-04: peers\' /etc/hosts and firewall first, then member add etcd-04 as a learner, '
      + 'its release, certificates and config (state existing), start, promote once caught up (provision\'s membership phase)',
    '[cluster] health gate: every member healthy, one leader',
  ]);
});

test('replace-member refuses when the removal would break the quorum, or without a member', () => {
  const e = ex['replace-member']!;
  const two = { ...e.facts, statuses: e.facts.statuses.map((s, i) => (i === 0 ? s : { ...s, status: undefined, error: 'down' })) };
  assert.match(dry('replace-member', two).refused!, /only 1 of the 2 remaining voters are healthy: removing etcd-02 would break the quorum/);
  assert.match(dry('replace-member', undefined, { member: undefined }).refused!, /no member given/);
  assert.match(dry('replace-member', undefined, { member: 'etcd-09' }).refused!, /etcd-09 is not a host of the inventory/);
  assert.match(dry('replace-member', { statuses: e.facts.statuses }).refused!, /no member answers MemberList/);
});

test('reset-member: leader hands over first; refused while another member is down', () => {
  const d = dry('reset-member');
  assert.equal(d.refused, undefined);
  const t = titles(d.text);
  assert.equal(t[0], '[operator] hand leadership from etcd-02 to etcd-01');
  assert.equal(t.length, 11);
  const e = ex['reset-member']!;
  const down = { ...e.facts, statuses: e.facts.statuses.map((s, i) => (i === 2 ? { ...s, status: undefined, error: 'connect ECONNREFUSED 10.88.0.13:2379' } : s)) };
  const r = dry('reset-member', down);
  assert.match(r.refused!, /^etcd-03 is not healthy: wiping etcd-02 now could break the quorum \(fix: repair etcd-03 first/);
  assert.match(r.text, /REFUSED: etcd-03 is not healthy/);
  assert.equal(r.steps, 0);
});

test('recover-quorum: survivor with the highest raft index seeds a one-member cluster; the others rejoin one at a time', () => {
  const d = dry('recover-quorum');
  const t = titles(d.text);
  assert.equal(t.length, 22);
  assert.equal(t[0], '[operator] take a snapshot of etcd-01\'s data (it answers without a quorum)');
  assert.deepEqual(t.filter((x) => /learner/.test(x)), ['[operator] add etcd-02 as a learner', '[etcd-02] start etcd-02 (joins as a learner and catches up)',
    '[operator] add etcd-03 as a learner', '[etcd-03] start etcd-03 (joins as a learner and catches up)']);
  assert.ok(d.text.includes('--initial-cluster etcd-01=https://10.88.0.11:2380 --initial-cluster-token lab-cluster-1-recover-20261121t030000z'));
  // etcd-03 answers too, further ahead: it seeds.
  const e = ex['recover-quorum']!;
  const s0 = e.facts.statuses[0]!.status!;
  const ahead = { statuses: [e.facts.statuses[0]!, e.facts.statuses[1]!, { ...e.facts.statuses[2]!, error: undefined, status: { ...s0, raftIndex: 5000 } }] };
  assert.match(dry('recover-quorum', ahead).text, /most up-to-date survivor: etcd-03 \(raft index 5000\)/);
  assert.match(dry('recover-quorum', ex.backup!.facts).refused!, /3 of 3 members have a leader: the quorum is not lost/);
  const none = { statuses: e.facts.statuses.map((s) => ({ ...s, status: undefined, error: 'down' })) };
  assert.match(dry('recover-quorum', none).refused!, /no member answers/);
  const seeded = dry('recover-quorum', none, { snapshot: { file: '/b/lab.db', revision: 7, hash: 'ab' } });
  assert.equal(seeded.refused, undefined);
  assert.equal(titles(seeded.text)[0], '[operator] verify the snapshot (sha256 digest, hash, revision)');
});

test('nospace: compact, defragment followers then the leader, disarm, write check; refused with a member down', () => {
  const t = titles(dry('nospace').text);
  assert.deepEqual(t.filter((x) => /^\[operator\] defragment/.test(x)), ['[operator] defragment etcd-02', '[operator] defragment etcd-03', '[operator] defragment etcd-01 (the leader, last)']);
  assert.equal(t[0], '[operator] compact the key history at the current revision');
  assert.equal(t[t.length - 1], '[operator] verify that a write succeeds');
  const e = ex.nospace!;
  const down = { ...e.facts, statuses: e.facts.statuses.map((s, i) => (i === 1 ? { ...s, status: undefined, error: 'down' } : s)) };
  assert.match(dry('nospace', down).refused!, /etcd-02 does not answer/);
});

test('docs/runbooks/ is generated from the runbooks and committed unchanged', () => {
  const docs = generateRunbookDocs();
  const dir = join(root, 'docs', 'runbooks');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.md')).sort(), [...docs.keys()].sort());
  for (const [f, text] of docs) assert.equal(readFileSync(join(dir, f), 'utf8'), text, `docs/runbooks/${f} is stale: run \`quorum runbook docs --out docs/runbooks\``);
});

test('backup names sort by time; retention keeps the newest N of this cluster only', () => {
  assert.equal(backupName('lab', new Date('2026-11-21T03:04:05.678Z'), 42), 'lab-20261121T030405Z-r42.db');
  const d = mkdtempSync(join(tmpdir(), 'quorum-retention-'));
  const names = ['lab-20261121T010000Z-r1.db', 'lab-20261121T020000Z-etcd-01-r2.db', 'lab-20261121T030000Z-r3.db', 'other-20261121T000000Z-r1.db', 'notes.txt'];
  for (const n of names) writeFileSync(join(d, n), 'x');
  const removed = applyRetention(d, 'lab', 2);
  assert.deepEqual(removed.map((p) => p.slice(d.length + 1)), ['lab-20261121T010000Z-r1.db']);
  assert.deepEqual(readdirSync(d).sort(), names.slice(1).sort());
  assert.deepEqual(applyRetention(d, 'lab', 0), []);
  assert.throws(() => verifySnapshot(join(d, 'notes.txt')), /has no sha256 digest/);
  assert.throws(() => verifySnapshot(join(d, 'missing.db')), /cannot read snapshot/);
});

test('scheduled backups: script, service and timer', () => {
  const f = renderBackupFiles(inv, inv.hosts[1]!, '1h', 48);
  assert.match(f.timer, /^OnUnitActiveSec=1h$/m);
  assert.match(f.service, /^ExecStart=\/bin\/sh \/usr\/local\/lib\/quorum\/backup.sh$/m);
  assert.ok(f.script.includes('quorumctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.pem --cert=/etc/etcd/pki/server.pem --key=/etc/etcd/pki/server-key.pem snapshot save "$tmp"'));
  assert.ok(f.script.includes('mv "$tmp" "$dir/lab-$stamp-etcd-02-r$rev.db"'));
  assert.match(f.script, /head -n -48/);
  assert.doesNotMatch(renderBackupFiles(inv, inv.hosts[1]!, '30min', 0).script, /head -n/);
  assert.throws(() => renderBackupFiles(inv, inv.hosts[0]!, 'hourly', 1), /--every must be a time span/);
});
