import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CurrentMember, type MembershipPlan, formatMembershipPlan, planMembership, quorumOf,
} from '../../../playbooks/provision/membership.js';
import { formatRollingPlan, planRollingRestart, restartReasons } from '../../../playbooks/provision/membership-rolling.js';
import type { HostSpec } from '../../../toolkit/inventory/types.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `etcd-0${i + 1}`);
const healthy = (names: string[], leader = names[0]): CurrentMember[] =>
  names.map((name) => ({ name, isLearner: false, healthy: true, isLeader: name === leader }));

/**
 * Executes a plan on a model cluster and checks the invariants at every step: every voter change is one
 * member, comes after a learner add (additions), and the healthy voters are a quorum of the voters.
 * Returns the members after the plan.
 */
function simulate(current: CurrentMember[], plan: MembershipPlan): CurrentMember[] {
  assert.ok(plan.ok, plan.ok ? '' : plan.reason);
  const m = new Map(current.map((c) => [c.name, { ...c }]));
  const voters = () => [...m.values()].filter((x) => !x.isLearner);
  let lastVoters = voters().length;
  const gated: boolean[] = [];
  for (const s of plan.steps) {
    switch (s.op) {
      case 'add-learner': assert.ok(!m.has(s.host)); m.set(s.host, { name: s.host, isLearner: true, healthy: false }); break;
      case 'start': m.get(s.host)!.healthy = true; break;
      case 'promote': assert.ok(m.get(s.host)!.isLearner && m.get(s.host)!.healthy); m.get(s.host)!.isLearner = false; break;
      case 'move-leader': {
        assert.ok(m.get(s.host)!.isLeader, `${s.host} is not the leader`);
        m.get(s.host)!.isLeader = false; m.get(s.to)!.isLeader = true; break;
      }
      case 'remove-member': assert.ok(!m.get(s.host)!.isLeader, 'removing the leader without a move'); m.delete(s.host); break;
      case 'provision-joiner': assert.ok(s.initialCluster.includes(s.host)); break;
      case 'gate': gated.push(true); break;
      default: break;
    }
    const v = voters();
    assert.ok(Math.abs(v.length - lastVoters) <= 1, 'one voter change at a time');
    if (v.length !== lastVoters) assert.ok(v.filter((x) => x.healthy).length >= quorumOf(v.length), `quorum lost at ${s.op} ${s.host}`);
    lastVoters = v.length;
    assert.deepEqual(s.voters.slice().sort(), v.map((x) => x.name).sort(), `voters after ${s.op} ${s.host}`);
  }
  // every voter change is followed by a gate before the next change
  let pending = false;
  for (const s of plan.steps) {
    if (s.op === 'promote' || s.op === 'remove-member') { assert.ok(!pending, 'two changes without a gate between'); pending = true; }
    if (s.op === 'gate') pending = false;
  }
  assert.equal(pending, false);
  return [...m.values()];
}

test('membership: unchanged inventory plans nothing', () => {
  const p = planMembership(hosts(3), healthy(hosts(3)));
  assert.deepEqual(p, { ok: true, steps: [], from: hosts(3), to: hosts(3) });
  assert.match(formatMembershipPlan(p), /nothing to change/);
});

test('membership: 3 -> 5 -> 7 -> 5 -> 3 step by step keeps quorum at every step', () => {
  let cur = healthy(hosts(3));
  for (const n of [5, 7, 5, 3]) {
    const p = planMembership(hosts(n), cur);
    cur = simulate(cur, p);
    assert.deepEqual(cur.filter((c) => !c.isLearner).map((c) => c.name).sort(), hosts(n));
  }
});

test('membership: an addition is update peers, learner add, joiner with existing state, start, catch-up, promote, gate', () => {
  const p = planMembership(hosts(5), healthy(hosts(3)));
  assert.ok(p.ok);
  assert.deepEqual(p.steps.slice(0, 8).map((s) => `${s.op} ${s.host}`), [
    'gate cluster', 'update-peers etcd-04', 'add-learner etcd-04', 'provision-joiner etcd-04', 'start etcd-04',
    'wait-caught-up etcd-04', 'promote etcd-04', 'gate cluster',
  ]);
  const j = p.steps.find((s) => s.op === 'provision-joiner' && s.host === 'etcd-05');
  assert.ok(j && j.op === 'provision-joiner');
  assert.deepEqual(j.initialCluster, ['etcd-01', 'etcd-02', 'etcd-03', 'etcd-04', 'etcd-05']);
  assert.equal(formatMembershipPlan(p), [
    'membership: etcd-01, etcd-02, etcd-03 -> etcd-01, etcd-02, etcd-03, etcd-04, etcd-05',
    '   1. health gate (before membership changes): 3 voters healthy, exactly one leader',
    '   2. update etcd-01, etcd-02, etcd-03: /etc/hosts and firewall admit etcd-04; initial-cluster lists it (no restart)',
    '   3. member add etcd-04 --learner',
    '   4. provision etcd-04 with initial-cluster-state existing, initial-cluster etcd-01,etcd-02,etcd-03,etcd-04',
    '   5. start quorumd on etcd-04',
    "   6. wait until etcd-04 has caught up with the leader's log",
    '   7. member promote etcd-04 (voters: etcd-01, etcd-02, etcd-03, etcd-04)',
    '   8. health gate (after adding etcd-04): 4 voters healthy, exactly one leader',
    '   9. update etcd-01, etcd-02, etcd-03, etcd-04: /etc/hosts and firewall admit etcd-05; initial-cluster lists it (no restart)',
    '  10. member add etcd-05 --learner',
    '  11. provision etcd-05 with initial-cluster-state existing, initial-cluster etcd-01,etcd-02,etcd-03,etcd-04,etcd-05',
    '  12. start quorumd on etcd-05',
    "  13. wait until etcd-05 has caught up with the leader's log",
    '  14. member promote etcd-05 (voters: etcd-01, etcd-02, etcd-03, etcd-04, etcd-05)',
    '  15. health gate (after adding etcd-05): 5 voters healthy, exactly one leader',
    '',
  ].join('\n'));
});

test('membership: a removal is member remove, stop, wipe, update the others, gate', () => {
  const p = planMembership(hosts(3), healthy(hosts(5)));
  assert.ok(p.ok);
  assert.deepEqual(p.steps.map((s) => `${s.op} ${s.host}`), [
    'gate cluster',
    'remove-member etcd-04', 'stop etcd-04', 'wipe etcd-04', 'update-peers etcd-04', 'gate cluster',
    'remove-member etcd-05', 'stop etcd-05', 'wipe etcd-05', 'update-peers etcd-05', 'gate cluster',
  ]);
  const u = p.steps[4]!;
  assert.ok(u.op === 'update-peers');
  assert.deepEqual(u.hosts, ['etcd-01', 'etcd-02', 'etcd-03', 'etcd-05']);
});

test('membership: removing the leader moves leadership first, and it goes last', () => {
  const cur = healthy(hosts(5), 'etcd-04');
  const p = planMembership(hosts(3), cur);
  assert.ok(p.ok);
  assert.deepEqual(p.steps.map((s) => `${s.op} ${s.host}`).slice(1, 8), [
    'remove-member etcd-05', 'stop etcd-05', 'wipe etcd-05', 'update-peers etcd-05', 'gate cluster',
    'move-leader etcd-04', 'remove-member etcd-04',
  ]);
  const mv = p.steps[6]!;
  assert.ok(mv.op === 'move-leader' && mv.to === 'etcd-01');
  simulate(cur, p);
  assert.match(formatMembershipPlan(p), /move leadership from etcd-04 to etcd-01/);
});

test('membership: replacing a host (same size) adds the new one before removing the old one', () => {
  const p = planMembership(['etcd-01', 'etcd-02', 'etcd-09'], healthy(hosts(3)));
  assert.deepEqual(p.steps.filter((s) => s.op === 'promote' || s.op === 'remove-member').map((s) => `${s.op} ${s.host}`),
    ['promote etcd-09', 'remove-member etcd-03']);
  simulate(healthy(hosts(3)), p);
});

test('membership: an unhealthy member that leaves is removed first', () => {
  const cur = healthy(hosts(3));
  cur[2]!.healthy = false;
  const p = planMembership(['etcd-01', 'etcd-02', 'etcd-04'], cur);
  assert.deepEqual(p.steps.filter((s) => s.op === 'promote' || s.op === 'remove-member').map((s) => `${s.op} ${s.host}`),
    ['remove-member etcd-03', 'promote etcd-04']);
  simulate(cur, p);
});

test('membership: 3 -> 1 and 1 -> 3 work', () => {
  const one = simulate(healthy(hosts(3)), planMembership(['etcd-01'], healthy(hosts(3))));
  assert.deepEqual(one.map((m) => m.name), ['etcd-01']);
  const three = simulate(healthy(['etcd-01']), planMembership(hosts(3), healthy(['etcd-01'])));
  assert.equal(three.length, 3);
});

test('membership: a learner left by an interrupted run is resumed (no second add) or removed', () => {
  const cur: CurrentMember[] = [...healthy(hosts(3)), { name: 'etcd-04', isLearner: true, healthy: false }];
  const resume = planMembership(hosts(5), cur);
  assert.ok(resume.ok);
  assert.deepEqual(resume.steps.filter((s) => s.host === 'etcd-04').map((s) => s.op), ['provision-joiner', 'start', 'wait-caught-up', 'promote']);
  simulate(cur, resume);
  const drop = planMembership(hosts(3), cur);
  assert.ok(drop.ok);
  assert.deepEqual(drop.steps.map((s) => `${s.op} ${s.host}`), ['gate cluster', 'remove-member etcd-04', 'stop etcd-04', 'wipe etcd-04', 'update-peers etcd-04', 'gate cluster']);
});

test('membership REFUSED: a final even count without --allow-even, allowed with it', () => {
  for (const [from, to] of [[3, 4], [5, 4], [3, 2], [5, 2]] as const) {
    const p = planMembership(hosts(to), healthy(hosts(from)));
    assert.equal(p.ok, false);
    assert.ok(!p.ok);
    assert.match(p.reason, new RegExp(`leaves ${to} voting members: .*--allow-even`));
    assert.deepEqual(p.steps, []);
    assert.match(formatMembershipPlan(p), /REFUSED: the inventory leaves/);
    simulate(healthy(hosts(from)), planMembership(hosts(to), healthy(hosts(from)), { allowEven: true }));
  }
});

test('membership REFUSED: no quorum now', () => {
  const cur = healthy(hosts(3));
  cur[1]!.healthy = false; cur[2]!.healthy = false;
  const p = planMembership(hosts(5), cur);
  assert.ok(!p.ok);
  assert.match(p.reason, /no quorum now: 1 of 3 voters healthy \(need 2\)/);
});

test('membership REFUSED: removing a healthy member while another is down would lose quorum', () => {
  const cur = healthy(hosts(3));
  cur[1]!.healthy = false; // etcd-02 down, etcd-03 leaves: 2 voters, 1 healthy
  const p = planMembership(['etcd-01', 'etcd-02'], cur, { allowEven: true });
  assert.ok(!p.ok);
  assert.match(p.reason, /removing etcd-03 would leave 1 healthy of 2 voters \(quorum 2\)/);
});

test('membership REFUSED: adding to a cluster with too many failures', () => {
  const cur = healthy(hosts(5));
  cur[3]!.healthy = false; cur[4]!.healthy = false; // 3 of 5 healthy: quorum now, but 6 voters need 4
  const p = planMembership(hosts(7), cur);
  assert.ok(p.ok, 'the first addition makes 4 of 6 healthy: allowed');
  const cur2 = healthy(hosts(4));
  cur2[2]!.healthy = false; cur2[3]!.healthy = false;
  cur2.push({ name: 'etcd-05', isLearner: false, healthy: true });
  // 3 of 5 healthy; removing healthy etcd-05 leaves 2 of 4 (quorum 3)
  const q = planMembership(hosts(4).concat([]), cur2, { allowEven: true });
  assert.ok(!q.ok);
  assert.match(q.reason, /removing etcd-05 would leave 2 healthy of 4 voters \(quorum 3\)/);
});

test('membership REFUSED: empty inventory, duplicate host, removing a leader with no healthy successor', () => {
  const e = planMembership([], healthy(hosts(3)));
  assert.ok(!e.ok); assert.match(e.reason, /no host/);
  const d = planMembership(['etcd-01', 'etcd-01', 'etcd-02'], healthy(hosts(3)));
  assert.ok(!d.ok); assert.match(d.reason, /twice/);
});

test('rolling: followers first, leadership moved before the leader restarts, gates between', () => {
  const steps = planRollingRestart([
    { name: 'etcd-01', reasons: ['log-level info -> debug'] },
    { name: 'etcd-02', reasons: ['log-level info -> debug'] },
    { name: 'etcd-03', reasons: ['log-level info -> debug'] },
  ], 'etcd-01');
  assert.deepEqual(steps.map((s) => `${s.op} ${s.host}`), [
    'gate cluster', 'restart etcd-02', 'gate cluster', 'restart etcd-03', 'gate cluster',
    'move-leader etcd-01', 'gate cluster', 'restart etcd-01', 'gate cluster',
  ]);
  assert.ok(steps[5]!.op === 'move-leader' && steps[5]!.to === 'etcd-02');
  assert.match(formatRollingPlan(steps), /8\. restart etcd-01 \(log-level info -> debug\)/);
});

test('rolling: nothing changed plans nothing; an unchanged leader is not moved', () => {
  assert.deepEqual(planRollingRestart([{ name: 'a', reasons: [] }, { name: 'b', reasons: [] }], 'a'), []);
  assert.equal(formatRollingPlan([]), 'rolling restart: nothing to restart\n');
  const s = planRollingRestart([{ name: 'a', reasons: [] }, { name: 'b', reasons: ['x'] }, { name: 'c', reasons: [] }], 'a');
  assert.deepEqual(s.map((x) => `${x.op} ${x.host}`), ['gate cluster', 'restart b', 'gate cluster']);
  const only = planRollingRestart([{ name: 'a', reasons: ['x'] }, { name: 'b', reasons: [] }], 'a');
  assert.deepEqual(only.map((x) => `${x.op} ${x.host}`), ['gate cluster', 'move-leader a', 'gate cluster', 'restart a', 'gate cluster']);
  assert.deepEqual(planRollingRestart([{ name: 'a', reasons: ['x'] }], 'a').map((x) => x.op), ['gate', 'restart', 'gate']);
});

test('rolling: restartReasons lists changed timeouts, quota, log level and URLs', () => {
  const base: HostSpec = {
    name: 'etcd-01', address: '10.0.0.1', ssh: { user: 'root', port: 22, connectTimeoutMs: 1 },
    store: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, quotaBackendBytes: 2147483648, logLevel: 'info' },
  };
  assert.deepEqual(restartReasons(base, base), []);
  const after = { ...base, address: '10.0.0.9', store: { ...base.store, electionTimeoutMs: 2000, logLevel: 'debug' as const } };
  assert.deepEqual(restartReasons(base, after), ['election-timeout 1000 -> 2000', 'log-level info -> debug', 'URLs 10.0.0.1 -> 10.0.0.9']);
});
