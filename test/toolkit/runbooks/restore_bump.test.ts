/**
 * The restore runbook's `--bump-revision N --mark-compacted` (playbooks/runbooks/restore.ts): off by default (no
 * flag in the plan, verification at the snapshot's revision); given, every member's `snapshot restore` carries
 * both flags and verification expects revision + N; one without the other is refused with nothing to do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { examples, exampleInventory } from '../../../playbooks/runbooks/examples.js';
import { restoreRunbook } from '../../../playbooks/runbooks/restore.js';
import { formatRunbookPlan } from '../../../playbooks/runbooks/steps.js';

const inv = exampleInventory();
const e = examples()['restore']!;

function plan(opts: object) {
  const p = restoreRunbook.plan(inv, e.facts, { ...e.opts, ...opts });
  return { p, text: formatRunbookPlan(inv, p) };
}

test('default: no bump flags, verification at the snapshot revision', () => {
  const { p, text } = plan({});
  assert.equal(p.refused, undefined);
  assert.doesNotMatch(text, /--bump-revision|--mark-compacted/);
  const verify = p.steps.find((s) => s.kind === 'api');
  assert.deepEqual(verify && verify.kind === 'api' ? verify.call : undefined, { op: 'verify-restored', revision: 1870 });
});

test('--bump-revision 1000 --mark-compacted: on every member\'s restore command, verification at revision + 1000', () => {
  const { p, text } = plan({ bumpRevision: 1000, markCompacted: true });
  assert.equal(p.refused, undefined);
  const restores = text.split('\n').filter((l) => l.includes('quorumctl snapshot restore'));
  assert.equal(restores.length, 3);
  for (const l of restores) assert.match(l, / --data-dir \/var\/lib\/etcd --bump-revision 1000 --mark-compacted$/);
  assert.match(text, /fact: revision bump: 1870 \+ 1000 = 2870, marked compacted/);
  assert.match(text, /verify the data: every member at revision >= 2870 with equal HashKV/);
  const verify = p.steps.find((s) => s.kind === 'api');
  // HashKV at the restored revision itself is ErrCompacted (etcd's rule): compared at each member's current revision
  assert.deepEqual(verify && verify.kind === 'api' ? verify.call : undefined, { op: 'verify-restored', revision: 2870, current: true });
  assert.match(text, /endpoint hashkv   # equal on every member; revision >= 2870/);
  assert.doesNotMatch(text, /hashkv --rev=2870/);
});

test('one flag without the other is refused', () => {
  for (const opts of [{ bumpRevision: 1000 }, { markCompacted: true }, { bumpRevision: 0, markCompacted: true }]) {
    const { p } = plan(opts);
    assert.match(p.refused ?? '', /--bump-revision N and --mark-compacted go together/, JSON.stringify(opts));
    assert.equal(p.steps.length, 0);
  }
});
