import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUpgradePlan, planUpgrade } from '../../../playbooks/provision/upgrade.js';

const m = (name: string, active: string, healthy = true) => ({ name, active, healthy });

test('upgrade: install everywhere first, then followers, leadership moved, leader last; each switch rolls back on a failed gate', () => {
  const p = planUpgrade([m('a', '1.0.0'), m('b', '1.0.0'), m('c', '1.0.0')], '1.1.0', 'a');
  assert.ok(p.ok);
  assert.deepEqual(p.steps.map((s) => `${s.op} ${s.host}`), [
    'install a', 'install b', 'install c', 'gate cluster', 'switch b', 'gate cluster', 'switch c', 'gate cluster',
    'move-leader a', 'gate cluster', 'switch a', 'gate cluster',
  ]);
  const sw = p.steps[4]!;
  assert.ok(sw.op === 'switch');
  assert.deepEqual(sw.onGateFailure, { op: 'rollback', to: '1.0.0' });
  assert.match(formatUpgradePlan(p, '1.1.0'), / 5\. switch b 1\.0\.0 -> 1\.1\.0 and restart \(gate fails: back to 1\.0\.0, restart, stop the upgrade\)/);
});

test('upgrade: nothing to do; a resumed upgrade only switches the rest; rollback is the same towards the old release', () => {
  const none = planUpgrade([m('a', '1.1.0'), m('b', '1.1.0'), m('c', '1.1.0')], '1.1.0', 'a');
  assert.deepEqual(none, { ok: true, steps: [] });
  assert.equal(formatUpgradePlan(none, '1.1.0'), 'upgrade to 1.1.0: every member already runs it\n');
  const half = planUpgrade([m('a', '1.0.0'), m('b', '1.1.0'), m('c', '1.0.0')], '1.1.0', 'a');
  assert.deepEqual(half.steps.map((s) => `${s.op} ${s.host}`), ['install a', 'install c', 'gate cluster', 'switch c', 'gate cluster', 'move-leader a', 'gate cluster', 'switch a', 'gate cluster']);
  const back = planUpgrade([m('a', '1.1.0'), m('b', '1.1.0'), m('c', '1.0.0')], '1.0.0', 'c');
  assert.deepEqual(back.steps.filter((s) => s.op === 'switch').map((s) => s.host), ['a', 'b']);
});

test('upgrade REFUSED: an unhealthy member, or a third version in play', () => {
  const sick = planUpgrade([m('a', '1.0.0'), m('b', '1.0.0', false), m('c', '1.0.0')], '1.1.0', 'a');
  assert.ok(!sick.ok); assert.match(sick.reason, /not healthy: b/);
  const mixed = planUpgrade([m('a', '1.0.0'), m('b', '0.9.0'), m('c', '1.0.0')], '1.1.0', 'a');
  assert.ok(!mixed.ok); assert.match(mixed.reason, /finish or roll back the previous upgrade first/);
  assert.match(formatUpgradePlan(mixed, '1.1.0'), /^upgrade to 1\.1\.0: REFUSED: /);
});
