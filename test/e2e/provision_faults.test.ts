/**
 * Bad days on real hosts: an unreachable host, a rejected SSH key and a port already taken each give a
 * clear error naming the host and the step, and the next run (with the problem fixed) repairs whatever
 * was left half done and ends with a healthy cluster. Needs root (the lab).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from '../helpers/proc.js';
import { ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
const quorum = join(root, 'bin', 'quorum.js');
const labInventory = readFileSync(join(root, 'inventory', 'lab.yaml'), 'utf8');
let dir = '';

function q(args: string[]): Promise<RunResult> {
  return run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs: 600_000 });
}
/** A copy of inventory/lab.yaml with `edit` applied, written to the temp dir. */
function inventory(name: string, edit: (text: string) => string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, edit(labInventory.replace(/^(\s*dir:).*$/m, `$1 ${join(dir, 'pki')}`)));
  return file;
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  dir = mkdtempSync(join(tmpdir(), 'quorum-faults-'));
  const up = await q(['lab', 'up', '--hosts', '3']);
  assert.equal(up.code, 0, up.stderr);
});

after(async () => {
  await q(['lab', 'down']);
  rmSync(dir, { recursive: true, force: true });
});

test('unreachable host, rejected key, taken port: clear errors, then the next run repairs', { timeout: 1_200_000 }, async () => {
  // etcd-02: something else listens on the peer port.
  const squat = await ssh('10.88.0.12', 'systemd-run --unit=squatter nc -lk 2380');
  assert.equal(squat.code, 0, squat.stderr);

  // etcd-03 at an address where no host answers.
  const unreachable = inventory('unreachable', (t) => t.replace('10.88.0.13', '10.88.0.19'));
  const r1 = await q(['provision', '-i', unreachable]);
  assert.equal(r1.code, 1, r1.stdout + r1.stderr);
  const out1 = r1.stdout + r1.stderr;
  assert.match(out1, /etcd-03.*step "preflight".*(unreachable|EHOSTUNREACH|timed out)/, out1);
  assert.match(out1, /etcd-02.*step "preflight".*port 2380 is already taken by nc/, out1);
  assert.match(out1, /fix: /);

  // etcd-03 with a key the host does not accept.
  const badKey = join(dir, 'other_key');
  assert.equal((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', badKey])).code, 0);
  const rejected = inventory('rejected', (t) => t.replace(/(- name: etcd-03\n\s*address: 10\.88\.0\.13)/, `$1\n    overrides:\n      ssh:\n        private-key: ${badKey}`));
  const r2 = await q(['provision', '-i', rejected]);
  assert.equal(r2.code, 1, r2.stdout + r2.stderr);
  const out2 = r2.stdout + r2.stderr;
  assert.match(out2, /etcd-03.*step "preflight".*(authentication|rejected)/i, out2);

  // Fix both problems: the next run repairs everything and ends healthy; the run after changes nothing.
  assert.equal((await ssh('10.88.0.12', 'systemctl stop squatter')).code, 0);
  const good = inventory('good', (t) => t);
  const r3 = await q(['provision', '-i', good]);
  assert.equal(r3.code, 0, r3.stdout + r3.stderr);
  assert.match(r3.stdout, /IS LEADER/);
  for (const h of ['etcd-01', 'etcd-02', 'etcd-03']) assert.match(r3.stdout, new RegExp(`${h}\\s*:\\s*ok=\\d+\\s+changed=\\d+\\s+failed=0`));
  const status = await q(['status', '-i', good]);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  const r4 = await q(['provision', '-i', good]);
  assert.equal(r4.code, 0, r4.stderr);
  for (const h of ['etcd-01', 'etcd-02', 'etcd-03']) assert.match(r4.stdout, new RegExp(`${h}\\s*:\\s*ok=\\d+\\s+changed=0\\s+failed=0`));
});
