/**
 * The rotation planner (playbooks/rotate-certs/plan.ts): leaf and CA plans, resume from every phase and
 * from the middle of one, the state transitions, and the --dry-run text.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type CaRotationState, type RotationStep, advanceState, formatPlan, memberOrder, planCaRotation, planLeafRotation,
} from '../../../playbooks/rotate-certs/plan.js';
import { readRotationState, writeRotationState } from '../../../playbooks/rotate-certs/state.js';

const hosts = ['etcd-01', 'etcd-02', 'etcd-03'];
const ports = { client: 2379, peer: 2380 };
const brief = (steps: RotationStep[]) => steps.map((s) => `${s.op}@${s.host}`);
const state = (phase: CaRotationState['phase'], done: string[] = []): CaRotationState => ({
  version: 1, kind: 'ca', phase, oldCaSerial: '4a', newCaSerial: '5b', done, startedAt: 't0', updatedAt: 't0',
});

test('members rotate in inventory order with the leader last', () => {
  assert.deepEqual(memberOrder(hosts, 'etcd-01'), ['etcd-02', 'etcd-03', 'etcd-01']);
  assert.deepEqual(memberOrder(hosts, undefined), hosts);
});

test('leaf rotation: the client certificate, then one member at a time', () => {
  assert.deepEqual(brief(planLeafRotation(hosts)), ['operator-client@operator', 'push-leaf@etcd-01', 'push-leaf@etcd-02', 'push-leaf@etcd-03']);
});

test('a fresh CA rotation has three rolling phases between prepare and finish', () => {
  const steps = planCaRotation(undefined, hosts);
  assert.deepEqual(brief(steps), [
    'new-ca@operator',
    'operator-trust@operator', 'push-trust@etcd-01', 'push-trust@etcd-02', 'push-trust@etcd-03',
    'operator-switch@operator', 'push-leaf@etcd-01', 'push-leaf@etcd-02', 'push-leaf@etcd-03',
    'operator-drop@operator', 'push-drop@etcd-01', 'push-drop@etcd-02', 'push-drop@etcd-03',
    'finish@operator',
  ]);
  assert.deepEqual(planCaRotation(state('done'), hosts), steps, 'a finished rotation starts over');
});

test('resume from each phase and from the middle of one', () => {
  assert.deepEqual(brief(planCaRotation(state('trust', ['etcd-01']), hosts)).slice(0, 3), ['operator-trust@operator', 'push-trust@etcd-02', 'push-trust@etcd-03']);
  assert.deepEqual(brief(planCaRotation(state('switch'), hosts)), [
    'operator-switch@operator', 'push-leaf@etcd-01', 'push-leaf@etcd-02', 'push-leaf@etcd-03',
    'operator-drop@operator', 'push-drop@etcd-01', 'push-drop@etcd-02', 'push-drop@etcd-03', 'finish@operator',
  ]);
  assert.deepEqual(brief(planCaRotation(state('switch', ['etcd-02', 'etcd-01']), hosts)).slice(0, 3), ['operator-switch@operator', 'push-leaf@etcd-03', 'operator-drop@operator']);
  assert.deepEqual(brief(planCaRotation(state('drop', ['etcd-01', 'etcd-02', 'etcd-03']), hosts)), ['operator-drop@operator', 'finish@operator']);
  assert.throws(() => planCaRotation(state('drop', ['etcd-09']), hosts), /etcd-09/);
});

test('advancing the state: members join done, the last one moves to the next phase, finish ends it', () => {
  let s = state('trust');
  const seen: string[] = [];
  for (const step of planCaRotation(undefined, hosts).slice(1)) {
    s = advanceState(s, step, hosts.length, 'now');
    seen.push(`${s.phase}:${s.done.join('+')}`);
    // replanning from any saved state gives exactly the remaining steps
    const rest = planCaRotation(s, hosts).filter((x) => !x.op.startsWith('operator-'));
    assert.ok(s.phase === 'done' || rest.length > 0);
  }
  assert.deepEqual(seen, [
    'trust:', 'trust:etcd-01', 'trust:etcd-01+etcd-02', 'switch:',
    'switch:', 'switch:etcd-01', 'switch:etcd-01+etcd-02', 'drop:',
    'drop:', 'drop:etcd-01', 'drop:etcd-01+etcd-02', 'done:', 'done:',
  ]);
  assert.equal(advanceState(state('trust'), { op: 'push-leaf', host: 'etcd-01', phase: 'leaf' }, 3, 'now').done.length, 0, 'leaf steps do not touch the state');
});

test('replanning after every saved state never repeats a finished member step', () => {
  const full = planCaRotation(undefined, hosts);
  let s = state('trust');
  for (let i = 1; i < full.length; i++) {
    s = advanceState(s, full[i]!, hosts.length, 'now');
    const memberStepsLeft = planCaRotation(s, hosts).filter((x) => x.host !== 'operator').map((x) => `${x.op}@${x.host}`);
    const expected = full.slice(i + 1).filter((x) => x.host !== 'operator').map((x) => `${x.op}@${x.host}`);
    if (s.phase !== 'done') assert.deepEqual(memberStepsLeft, expected, `after step ${i}`);
  }
});

test('dry-run text names every phase and member with its checks', () => {
  const text = formatPlan('CA rotation of cluster lab', planCaRotation(undefined, hosts), ports);
  assert.match(text, /^CA rotation of cluster lab\n/);
  for (const h of ['phase 1/3: trust old + new CA:', 'phase 2/3: switch leaves to the new CA:', 'phase 3/3: drop the old CA:']) assert.ok(text.includes(`  ${h}\n`), h);
  assert.match(text, /etcd-02: install ca\.pem = old CA \+ new CA; check it accepts a new-CA client certificate on :2379 and :2380; health gate/);
  assert.match(text, /etcd-03: new server and peer certificates signed by the new CA, pushed atomically \(temp \+ rename\); check it presents the new serials on :2379 and :2380; health gate/);
  assert.match(text, /etcd-01: install ca\.pem = new CA only; check it refuses an old-CA client certificate/);
  const leaf = formatPlan('leaf', planLeafRotation(['etcd-02', 'etcd-01']), ports);
  assert.equal(leaf, [
    'leaf',
    '  leaf rotation:',
    '    - operator: new client certificate (client.pem, client-key.pem) signed by the current CA',
    '    - etcd-02: new server and peer certificates, pushed atomically (temp + rename); check it presents the new serials on :2379 and :2380; health gate',
    '    - etcd-01: new server and peer certificates, pushed atomically (temp + rename); check it presents the new serials on :2379 and :2380; health gate',
    '',
  ].join('\n'));
});

test('the state file round-trips and a broken one is refused with the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotate-state-'));
  assert.equal(readRotationState(dir), undefined);
  writeRotationState(dir, state('switch', ['etcd-01']));
  assert.deepEqual(readRotationState(dir), state('switch', ['etcd-01']));
  writeFileSync(join(dir, 'rotation-state.json'), '{"version":1,"kind":"ca","phase":"sideways"}');
  assert.throws(() => readRotationState(dir), /not a CA rotation state \(fix:/);
});
