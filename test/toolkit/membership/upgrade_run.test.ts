import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepError } from '../../../toolkit/engine/index.js';
import { planRollingRestart } from '../../../playbooks/provision/membership-rolling.js';
import { planUpgrade, rollbackTarget } from '../../../playbooks/provision/upgrade.js';
import { type Leadership, type UpgradeOps, runRolling } from '../../../playbooks/provision/upgrade-rolling.js';
import { formatVersionsTable, parseReleases, releasesCommand, switchCommand } from '../../../playbooks/provision/upgrade-facts.js';
import { rollbackConflicts, upgradeConflicts } from '../../../playbooks/provision/upgrade-live.js';
import { leadershipOf } from '../../../playbooks/provision/upgrade-leader.js';
import type { StatusResult } from '../../../playbooks/provision/store.js';

/**
 * A model cluster: one leader, members that are down while restarting; a restart of the leader without a
 * move is a defect (asserted); a member switched to a `broken` release does not come back.
 */
class Model implements UpgradeOps {
  leader: string;
  running: Map<string, string>;
  down = new Set<string>();
  trace: string[] = [];
  broken = new Set<string>();
  failMoveTo = new Set<string>();
  lagging = new Set<string>();
  /** Called after each restart (tests move the leader behind the executor's back). */
  onRestart?: (host: string) => void;
  constructor(names: string[], version: string, leader: string) {
    this.leader = leader;
    this.running = new Map(names.map((n) => [n, version]));
  }
  async gate(why: string) {
    this.trace.push(`gate (${why})`);
    if (this.down.size) throw new StepError('cluster', `health gate (${why})`, `not healthy: ${[...this.down].join(', ')} down`);
  }
  async leadership(): Promise<Leadership> {
    return { leader: this.leader, caughtUp: [...this.running.keys()].filter((n) => !this.down.has(n) && !this.lagging.has(n)) };
  }
  async moveLeader(from: string, to: string) {
    assert.equal(from, this.leader, 'MoveLeader sent to the leader');
    if (this.failMoveTo.has(to)) throw new Error('etcdserver: request timed out, leader transfer took too long');
    this.leader = to;
    this.trace.push(`move ${from} -> ${to}`);
  }
  private bounce(host: string) {
    assert.notEqual(host, this.leader, `${host} restarted while leading`);
    if (this.broken.has(this.running.get(host)!)) {
      this.down.add(host);
      throw new Error('`systemctl restart quorumd.service` exited 1: Job for quorumd.service failed');
    }
    this.down.delete(host);
    this.onRestart?.(host);
  }
  async restart(host: string) {
    this.trace.push(`restart ${host}`);
    this.bounce(host);
  }
  failInstall = new Set<string>();
  async install(host: string, version: string) {
    this.trace.push(`install ${host} ${version}`);
    if (this.failInstall.has(host)) throw new Error('release tarball corrupted in transfer (sha256 mismatch)');
  }
  async switchRelease(host: string, _from: string, to: string) {
    this.trace.push(`switch ${host} ${to}`);
    this.running.set(host, to);
    this.bounce(host);
  }
  async switchBack(host: string, to: string) {
    this.trace.push(`back ${host} ${to}`);
    this.running.set(host, to);
    this.bounce(host);
  }
  async runningVersion(host: string) { return this.down.has(host) ? undefined : this.running.get(host); }
}

const names = ['a', 'b', 'c'];
const restarts = (leader: string) => planRollingRestart(names.map((name) => ({ name, reasons: ['log-level info -> debug'] })), leader);

test('rolling restart: followers first, leadership moved to a restarted follower, the leader last, a gate after each', async () => {
  const m = new Model(names, '1', 'a');
  const r = await runRolling(restarts('a'), m);
  assert.deepEqual(m.trace, [
    'gate (before restarts)', 'restart b', 'gate (after restarting b)', 'restart c', 'gate (after restarting c)',
    'move a -> b', 'gate (after moving leadership to b)', 'restart a', 'gate (after restarting a)',
  ]);
  assert.deepEqual(r, { done: ['b', 'c', 'a'], moves: ['a -> b'] });
});

test('rolling restart: a member that leads when its turn comes hands leadership over first; the planned move is skipped when moot', async () => {
  const m = new Model(names, '1', 'a');
  // An election during the run makes c (not restarted yet) the leader.
  m.onRestart = (h) => { if (h === 'b') m.leader = 'c'; };
  await runRolling(restarts('a'), m);
  assert.deepEqual(m.trace.filter((l) => !l.startsWith('gate')), ['restart b', 'move c -> b', 'restart c', 'restart a']);
});

test('rolling restart: MoveLeader failing for one candidate tries the next; no caught-up candidate stops before any restart of the leader', async () => {
  const m = new Model(names, '1', 'a');
  m.failMoveTo.add('b');
  await runRolling(restarts('a'), m);
  assert.ok(m.trace.includes('move a -> c'));
  const lone = new Model(names, '1', 'a');
  lone.lagging.add('b'); lone.lagging.add('c');
  const steps = planRollingRestart(names.map((name) => ({ name, reasons: name === 'a' ? ['x'] : [] })), 'a');
  await assert.rejects(runRolling(steps, lone), (e: StepError) => e.host === 'a' && /no healthy, caught-up member/.test(e.detail));
  assert.ok(!lone.trace.includes('restart a'), 'the leader was not restarted');
});

test('rolling restart: nothing changed, nothing runs', async () => {
  const m = new Model(names, '1', 'a');
  const steps = planRollingRestart(names.map((name) => ({ name, reasons: [] })), 'a');
  assert.deepEqual(steps, []);
  assert.deepEqual(await runRolling(steps, m), { done: [], moves: [] });
  assert.deepEqual(m.trace, []);
});

test('upgrade: install everywhere, switch followers, move leadership, switch the leader; every member runs the target', async () => {
  const m = new Model(names, '1.0.0', 'b');
  const p = planUpgrade(names.map((name) => ({ name, active: '1.0.0' })), '1.1.0', 'b');
  assert.ok(p.ok);
  const r = await runRolling(p.steps, m);
  assert.deepEqual(m.trace.filter((l) => !l.startsWith('gate')), [
    'install a 1.1.0', 'install b 1.1.0', 'install c 1.1.0', 'switch a 1.1.0', 'switch c 1.1.0', 'move b -> a', 'switch b 1.1.0',
  ]);
  assert.deepEqual([...m.running.values()], ['1.1.0', '1.1.0', '1.1.0']);
  assert.deepEqual(r.done, ['a', 'c', 'b']);
});

test('upgrade: a failed install stops before any switch', async () => {
  const m = new Model(names, '1.0.0', 'a');
  m.failInstall.add('c');
  const p = planUpgrade(names.map((name) => ({ name, active: '1.0.0' })), '1.1.0', 'a');
  await assert.rejects(runRolling(p.steps, m), (e: StepError) => e.host === 'c' && /sha256 mismatch/.test(e.detail) && /nothing was switched/.test(e.message));
  assert.deepEqual(m.trace, ['install a 1.1.0', 'install b 1.1.0', 'install c 1.1.0']);
});

test('upgrade to a broken release: the first switched member is switched back and gated, the upgrade stops with the reason', async () => {
  const m = new Model(names, '1.0.0', 'a');
  m.broken.add('9.9.9');
  const p = planUpgrade(names.map((name) => ({ name, active: '1.0.0' })), '9.9.9', 'a');
  assert.ok(p.ok);
  await assert.rejects(runRolling(p.steps, m), (e: StepError) => {
    assert.equal(e.host, 'b');
    assert.match(e.detail, /failed after the switch \(.*Job for quorumd.service failed\); switched back to 1\.0\.0, restarted, cluster healthy; the upgrade stopped \(0 of 3 members switched/);
    return true;
  });
  assert.deepEqual(m.trace.filter((l) => !l.startsWith('gate')).slice(-2), ['switch b 9.9.9', 'back b 1.0.0']);
  assert.ok(m.trace.includes('gate (after switching b back to 1.0.0)'));
  assert.deepEqual([...m.running.values()], ['1.0.0', '1.0.0', '1.0.0']);
  assert.equal(m.down.size, 0);
});

test('upgrade: a member that serves but runs another release than the target counts as failed; a failed switch-back is reported as such', async () => {
  const m = new Model(names, '1.0.0', 'a');
  m.runningVersion = async () => '1.0.0';
  const p = planUpgrade(names.map((name) => ({ name, active: '1.0.0' })), '1.1.0', 'a');
  await assert.rejects(runRolling(p.steps, m), /b runs 1\.0\.0, not 1\.1\.0/);
  const worse = new Model(names, '1.0.0', 'a');
  worse.broken.add('1.1.0'); worse.broken.add('1.0.0');
  await assert.rejects(runRolling(p.steps, worse), /switching back to 1\.0\.0 failed too/);
});

test('rollbackTarget: the common previous release; mid-upgrade the release the switched members came from; refusals', () => {
  assert.deepEqual(rollbackTarget([{ name: 'a', active: '2', previous: '1' }, { name: 'b', active: '2', previous: '1' }]), { ok: true, version: '1' });
  assert.deepEqual(rollbackTarget([{ name: 'a', active: '2', previous: '1' }, { name: 'b', active: '1', previous: '0' }]), { ok: true, version: '1' });
  assert.deepEqual(rollbackTarget([{ name: 'a', active: '2', previous: '1' }, { name: 'b', active: '1' }]), { ok: true, version: '1' });
  const none = rollbackTarget([{ name: 'a', active: '1' }, { name: 'b', active: '1', previous: '0' }]);
  assert.ok(!none.ok); assert.match(none.reason, /no previous release recorded on a/);
  const differ = rollbackTarget([{ name: 'a', active: '2', previous: '1' }, { name: 'b', active: '2', previous: '0' }]);
  assert.ok(!differ.ok); assert.match(differ.reason, /different previous releases \(1, 0\)/);
  const both = rollbackTarget([{ name: 'a', active: '2', previous: '1' }, { name: 'b', active: '1', previous: '2' }]);
  assert.ok(!both.ok); assert.match(both.reason, /unclear which was switched last/);
  const three = rollbackTarget([{ name: 'a', active: '2' }, { name: 'b', active: '1' }, { name: 'c', active: '3' }]);
  assert.ok(!three.ok);
  const missing = rollbackTarget([{ name: 'a' }]);
  assert.ok(!missing.ok); assert.match(missing.reason, /no active release on a/);
});

// Output of releasesCommand() on a lab member after an upgrade 0.1.0 -> 0.2.0 (an interrupted unpack and the
// previous link must not count as installed releases).
const fixture = [
  'active=/opt/quorum/0.2.0/bin/quorumd',
  'previous=/opt/quorum/0.1.0',
  'running=/opt/quorum/0.2.0/lib/node',
  `installed 0.1.0 ${'a'.repeat(64)}`,
  `installed 0.2.0 ${'b'.repeat(64)}`,
  '',
].join('\n');

test('releases fact: command and parser', () => {
  assert.match(releasesCommand(), /readlink \/usr\/local\/bin\/quorumd\)/);
  assert.match(releasesCommand(), /\/proc\/\$pid\/exe/);
  assert.deepEqual(parseReleases(fixture), {
    active: '0.2.0', previous: '0.1.0', running: '0.2.0', installed: { '0.1.0': 'a'.repeat(64), '0.2.0': 'b'.repeat(64) },
  });
  assert.deepEqual(parseReleases('active=\nprevious=\nrunning=/usr/bin/node (deleted)\n'), { runningOther: '/usr/bin/node (deleted)', installed: {} });
  assert.deepEqual(parseReleases('running=/opt/quorum/0.1.0/lib/node (deleted)\n').running, '0.1.0');
  assert.equal(formatVersionsTable([{ name: 'etcd-01', releases: parseReleases(fixture) }, { name: 'etcd-02', error: 'connect ECONNREFUSED' }]),
    'MEMBER   RUNNING  ACTIVE  PREVIOUS  INSTALLED\n'
    + 'etcd-01  0.2.0    0.2.0   0.1.0     0.1.0 0.2.0\n'
    + 'etcd-02  ?        ?       ?         connect ECONNREFUSED\n');
});

test('switchCommand: refuses a release that is not installed, replaces links atomically, records or clears previous', () => {
  const c = switchCommand('0.2.0', '0.1.0');
  assert.match(c, /^test -f \/opt\/quorum\/0\.2\.0\/\.release-sha256 \|\| \{ echo 'release 0\.2\.0 is not installed/);
  assert.match(c, /ln -sfn \/opt\/quorum\/0\.2\.0\/bin\/quorumd \/usr\/local\/bin\/quorumd\.new && mv -Tf \/usr\/local\/bin\/quorumd\.new \/usr\/local\/bin\/quorumd /);
  assert.match(c, /ln -sfn \/opt\/quorum\/0\.1\.0 \/opt\/quorum\/previous\.new/);
  assert.match(switchCommand('0.1.0', undefined), /rm -f \/opt\/quorum\/previous$/);
});

test('preflight: the same version from another build while active is refused; a rollback needs the old release installed', () => {
  const rows = [{ name: 'a', releases: parseReleases(fixture) }];
  assert.deepEqual(upgradeConflicts(rows, { version: '0.3.0', sha256: 'c'.repeat(64) }), []);
  assert.deepEqual(upgradeConflicts(rows, { version: '0.2.0', sha256: 'b'.repeat(64) }), []);
  assert.match(upgradeConflicts(rows, { version: '0.2.0', sha256: 'c'.repeat(64) })[0]!, /a runs release 0\.2\.0 from another build/);
  assert.deepEqual(upgradeConflicts(rows, { version: '0.1.0', sha256: 'c'.repeat(64) }), [], 'an inactive directory is replaced');
  assert.deepEqual(rollbackConflicts(rows, '0.1.0'), []);
  assert.match(rollbackConflicts(rows, '0.0.9')[0]!, /no longer has release 0\.0\.9 installed/);
});

test('leadershipOf: the leader and the voters within the slack, in inventory order', () => {
  const st = (name: string, id: bigint, applied: number, extra: Partial<NonNullable<StatusResult['status']>> = {}): StatusResult => ({
    endpoint: name, name,
    status: { version: '3.4.0', dbSize: 0, leader: 2n, raftIndex: applied, raftTerm: 2, raftAppliedIndex: applied, memberId: id, clusterId: 9n, revision: 1, errors: [], ...extra },
  });
  assert.deepEqual(leadershipOf([st('a', 1n, 900), st('b', 2n, 1000), st('c', 3n, 100), { endpoint: 'd', name: 'd', error: 'down' }]),
    { leader: 'b', caughtUp: ['a', 'b'] });
  assert.deepEqual(leadershipOf([st('a', 1n, 1000, { leader: 0n })]), { caughtUp: [] });
});
