import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EncodingFacts, encodingRefusal, encodingsCommand, parseEncodings } from '../../../playbooks/provision/upgrade-encoding.js';
import { ENTRY_VERSION } from '../../../store/server/entry_codec_gate.js';
import { versionText } from '../../../store/server/main.js';

const root = new URL('../../../../', import.meta.url).pathname;
const facts = (current: string, currentEncoding: EncodingFacts['currentEncoding'], targetEncoding?: EncodingFacts['targetEncoding']) =>
  ['a', 'b', 'c'].map((name): EncodingFacts => ({ name, current, currentEncoding, ...(targetEncoding !== undefined ? { targetEncoding } : {}) }));

test('quorumd --version prints "Entry encoding: N" after the API version, as etcd prints its version lines', () => {
  assert.match(versionText(), new RegExp(`^quorumd Version: .+\\nAPI Version: 3\\.4\\nEntry encoding: ${ENTRY_VERSION}\\nNode Version: v\\d+`));
  assert.equal(ENTRY_VERSION, 2);
});

test('a switch from a v2 cluster to a pre-v2 release is refused, naming both releases, the encodings and the fix', () => {
  const r = encodingRefusal(facts('0.3.0', 2, 1), '0.2.0', 'rollback', 'inventory/lab.yaml');
  assert.ok(r, 'refused');
  assert.match(r.reason, /release 0\.2\.0 decodes entry encoding 1 only/);
  assert.match(r.reason, /every member runs release 0\.3\.0, which decodes entry encoding 2/);
  assert.match(r.reason, /cannot decode the committed entry/);
  assert.match(r.reason, /nothing was switched/);
  assert.match(r.fix, /stay on 0\.3\.0/);
  assert.match(r.fix, /Entry encoding: 2" or higher/);
  assert.match(r.fix, /quorum upgrade -i inventory\/lab\.yaml --release <tarball>/);
  assert.match(r.fix, /quorum backup/);
  // an upgrade (--release) to an old tarball, known once unpacked on one host only
  const partly = facts('0.3.0', 2);
  partly[1]!.targetEncoding = 1;
  assert.match(encodingRefusal(partly, '0.1.0', 'upgrade', 'x.yaml')!.reason, /on b prints no "Entry encoding: 2" line/);
  // a current release whose encoding could not be read counts as v2 (the log may hold v2 entries)
  assert.ok(encodingRefusal(facts('0.3.0', 'unknown', 1), '0.2.0', 'rollback', 'x.yaml'));
});

test('allowed: v2 -> v2 or newer, pre-v2 -> anything, a stopped upgrade rolled back, a target not yet read or that cannot run', () => {
  assert.equal(encodingRefusal(facts('0.3.0', 2, 2), '0.4.0', 'upgrade', 'x'), undefined);
  assert.equal(encodingRefusal(facts('0.3.0', 2, 3), '0.4.0', 'upgrade', 'x'), undefined);
  assert.equal(encodingRefusal(facts('0.1.0', 1, 1), '0.2.0', 'upgrade', 'x'), undefined);
  assert.equal(encodingRefusal(facts('0.2.0', 1, 2), '0.3.0', 'upgrade', 'x'), undefined);
  assert.equal(encodingRefusal(facts('0.3.0', 2), '0.2.0', 'upgrade', 'x'), undefined, 'not installed yet: checked after unpacking');
  assert.equal(encodingRefusal(facts('0.3.0', 2, 'unknown'), '0.2.0', 'upgrade', 'x'), undefined, 'a quorumd that cannot run: the health gate switches back');
  // upgrade 0.2.0 (pre-v2) -> 0.3.0 stopped halfway: a member still on 0.2.0 keeps the gate closed, so rolling back is safe
  const mixed: EncodingFacts[] = [
    { name: 'a', current: '0.3.0', currentEncoding: 2, targetEncoding: 1 },
    { name: 'b', current: '0.2.0', currentEncoding: 1, targetEncoding: 1 },
    { name: 'c', current: '0.2.0', currentEncoding: 1, targetEncoding: 1 },
  ];
  assert.equal(encodingRefusal(mixed, '0.2.0', 'rollback', 'x'), undefined);
  assert.equal(encodingRefusal([], '0.2.0', 'rollback', 'x'), undefined);
});

test('encodingsCommand reads each release\'s quorumd --version on the host: N, none (pre-v2), unknown (does not run or missing)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-encoding-'));
  try {
    const release = (v: string, script: string) => {
      mkdirSync(join(dir, v, 'bin'), { recursive: true });
      writeFileSync(join(dir, v, 'bin', 'quorumd'), `#!/bin/sh\n${script}\n`);
      chmodSync(join(dir, v, 'bin', 'quorumd'), 0o755);
    };
    // this tree's real quorumd; a pre-v2 release (same lines without "Entry encoding"); a broken one
    release('0.3.0', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'bin', 'quorumd.js'))} "$@"`);
    release('0.2.0', 'printf "quorumd Version: 0.2.0\\nAPI Version: 3.4\\nNode Version: v20.0.0\\nOS/Arch: linux/x64\\n"');
    release('0.1.0-broken', 'echo "quorumd: deliberately broken release" >&2; exit 1');
    const cmd = encodingsCommand(['0.3.0', '0.2.0', '0.1.0-broken', '0.0.9-missing', '0.3.0'], dir);
    const out = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
    assert.deepEqual(parseEncodings(out), { '0.3.0': ENTRY_VERSION, '0.2.0': 1, '0.1.0-broken': 'unknown', '0.0.9-missing': 'unknown' });
    assert.equal(out.split('\n').filter((l) => l.startsWith('encoding 0.3.0 ')).length, 1, 'each version once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseEncodings ignores other lines', () => {
  assert.deepEqual(parseEncodings('noise\nencoding 1.0.0 2\r\nencoding 0.9.0 none\nencoding bad\n'), { '1.0.0': 2, '0.9.0': 1 });
});
