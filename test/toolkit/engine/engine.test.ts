import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { LocalConnector } from '../../../toolkit/connectors/index.js';
import { applyPlans, formatPlan, planHosts, type Step } from '../../../toolkit/engine/index.js';
import { directoryFact, fileFact, gatherFacts, want } from '../../../toolkit/facts/index.js';
import { directoryOp, fileOp, noChange, run } from '../../../toolkit/operations/index.js';

const me = userInfo().username;
const group = (() => {
  // the primary group name of the current user, as stat prints it
  const s = statSync(tmpdir());
  return s.gid === 0 ? 'root' : String(s.gid);
})();

/** A tiny playbook on a temp "host": a directory and two files that notify `reload`. */
function makePlanner(root: string) {
  const dir = path.join(root, 'etc', 'demo');
  const files = [
    { path: path.join(dir, 'a.conf'), content: Buffer.from('alpha\n'), mode: '0640' },
    { path: path.join(dir, 'b.conf'), content: Buffer.from('beta\n'), mode: '0600' },
  ];
  return async (conn: LocalConnector): Promise<Step[]> => {
    const facts = await gatherFacts(conn, [want(directoryFact, { path: dir }), ...files.map((f) => want(fileFact, { path: f.path }))]);
    const grp = facts.get(directoryFact, { path: dir });
    return [
      { name: 'directory', result: directoryOp(grp, { path: dir, owner: me, group: grp.exists ? grp.group : group, mode: '0750' }) },
      ...files.map((f) => ({
        name: `file ${path.basename(f.path)}`,
        result: fileOp(facts.get(fileFact, { path: f.path }), { path: f.path, content: f.content, owner: me, group: grp.exists ? grp.group : group, mode: f.mode, notify: ['reload'] }),
      })),
    ];
  };
}

test('plan, dry-run, apply, then a second run changes nothing and runs no handler', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'quorum-engine-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const conn = new LocalConnector({ host: 'h1' });
  const planner = makePlanner(root);
  const handlers = { reload: () => [run(`echo reloaded >> ${path.join(root, 'handler.log')}`)] };

  // dry run: the plan lists the commands and touches nothing
  const p1 = await planHosts([conn], (c) => ({ host: c.host, connector: c }), planner);
  const text = formatPlan(p1);
  assert.match(text, /h1: 3 to change, 0 ok/);
  assert.match(text, /mkdir -p .*etc\/demo/);
  assert.match(text, /put .*a\.conf mode=0640/);
  assert.equal(existsSync(path.join(root, 'etc')), false, 'planning must not create anything');

  // apply
  const r1 = await applyPlans(p1, { handlers, renderer: 'silent' });
  assert.deepEqual(r1.errors, []);
  assert.equal(readFileSync(path.join(root, 'etc/demo/a.conf'), 'utf8'), 'alpha\n');
  assert.equal(statSync(path.join(root, 'etc/demo/b.conf')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(root, 'etc/demo')).mode & 0o777, 0o750);
  assert.equal(readFileSync(path.join(root, 'handler.log'), 'utf8'), 'reloaded\n', 'handler runs once for two notifications');
  assert.deepEqual(r1.recap.counts('h1'), { ok: 4, changed: 4, failed: 0, skipped: 0 });

  // second run: nothing to do
  const p2 = await planHosts([conn], (c) => ({ host: c.host, connector: c }), planner);
  assert.ok(p2[0]!.steps.every((s) => !s.result.changed && s.result.commands.length === 0));
  const r2 = await applyPlans(p2, { handlers, renderer: 'silent' });
  assert.equal(r2.recap.totalChanged(), 0);
  assert.match(r2.recap.format(), /h1 : ok=3 changed=0 failed=0 skipped=0/);
  assert.equal(readFileSync(path.join(root, 'handler.log'), 'utf8'), 'reloaded\n', 'no handler on a no-change run');

  // drift: a changed mode is repaired with chmod only
  rmSync(path.join(root, 'etc/demo/a.conf'));
  const p3 = await planHosts([conn], (c) => ({ host: c.host, connector: c }), planner);
  assert.deepEqual(p3[0]!.steps.filter((s) => s.result.changed).map((s) => s.name), ['file a.conf']);
});

test('a failing command names host and step; the other host finishes its step and skips the rest', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'quorum-engine-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const flag = path.join(root, 'a-failed');
  const a = new LocalConnector({ host: 'etcd-01' });
  const b = new LocalConnector({ host: 'etcd-02' });
  const change = (cmd: string) => ({ changed: true, commands: [run(cmd)], reason: 'test' });
  const plans = await planHosts([a, b], (c) => ({ host: c.host, connector: c }), async (c) => c === a
    ? [{ name: 'release', result: change(`touch ${flag}; echo 'sha256 mismatch' >&2; exit 3`), remedy: 'run npm run release' }]
    : [
        { name: 'wait', result: change(`while [ ! -e ${flag} ]; do sleep 0.05; done; sleep 0.5; touch ${root}/b-step1`) },
        { name: 'noop', result: noChange('nothing') },
        { name: 'second', result: change(`touch ${root}/b-step2`) },
      ]);
  const r = await applyPlans(plans, { renderer: 'silent' });
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.message, /^etcd-01: step "release": .*exited 3: sha256 mismatch \(fix: run npm run release\)$/);
  assert.equal(existsSync(path.join(root, 'b-step1')), true, 'the other host finishes its current step');
  assert.equal(existsSync(path.join(root, 'b-step2')), false, 'and does not start the next ones');
  assert.deepEqual(r.recap.counts('etcd-01'), { ok: 0, changed: 0, failed: 1, skipped: 0 });
  assert.deepEqual(r.recap.counts('etcd-02'), { ok: 1, changed: 1, failed: 0, skipped: 2 });
});

test('a planner error stops the run before anything is applied', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'quorum-engine-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const a = new LocalConnector({ host: 'etcd-01' });
  const b = new LocalConnector({ host: 'etcd-02' });
  const plans = await planHosts([a, b], (c) => ({ host: c.host, connector: c }), async (c) => {
    if (c === a) throw new Error('port 2380 is taken by nginx');
    return [{ name: 'touch', result: { changed: true, commands: [run(`touch ${root}/x`)], reason: 'test' } }];
  });
  const r = await applyPlans(plans, { renderer: 'silent' });
  assert.match(r.errors[0]!.message, /^etcd-01: step "plan": port 2380 is taken by nginx$/);
  assert.equal(existsSync(path.join(root, 'x')), false);
});
