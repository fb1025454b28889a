/**
 * The release artifact: built by scripts/release.mjs, checksum file matches, and once unpacked the
 * wrappers run the bundled programs with the bundled Node.js runtime (no node on PATH needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/proc.js';

const root = new URL('../../../', import.meta.url).pathname;
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;

test('release artifact is self-contained and its checksum verifies', { timeout: 600_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'quorum-release-'));
  try {
    const built = await run(process.execPath, [join(root, 'scripts', 'release.mjs'), '--out', out], { cwd: root, timeoutMs: 600_000 });
    assert.equal(built.code, 0, built.stderr);
    const name = `quorum-${version}-linux-x64`;
    const tarball = join(out, `${name}.tar.gz`);
    assert.ok(existsSync(tarball));
    const [digest, file] = readFileSync(`${tarball}.sha256`, 'utf8').trim().split(/\s+/);
    assert.equal(file, `${name}.tar.gz`);
    assert.equal(createHash('sha256').update(readFileSync(tarball)).digest('hex'), digest);
    const sum = await run('sha256sum', ['-c', `${name}.tar.gz.sha256`], { cwd: out });
    assert.equal(sum.code, 0, sum.stdout + sum.stderr);

    const unpacked = join(out, 'x');
    assert.equal((await run('mkdir', ['-p', unpacked])).code, 0);
    assert.equal((await run('tar', ['-xzf', tarball, '-C', unpacked])).code, 0);
    // An environment with no node on PATH (only the coreutils the wrapper uses): it must use the runtime it carries.
    const coreutils = join(out, 'coreutils');
    assert.equal((await run('mkdir', ['-p', coreutils])).code, 0);
    for (const tool of ['readlink', 'dirname']) assert.equal((await run('ln', ['-s', `/usr/bin/${tool}`, join(coreutils, tool)])).code, 0);
    const env = { PATH: coreutils, HOME: out };
    const qd = await run('/bin/sh', [join(unpacked, name, 'bin', 'quorumd'), '--version'], { env });
    assert.equal(qd.code, 0, qd.stderr);
    assert.match(qd.stdout, new RegExp(`quorumd Version: ${version.replace(/\./g, '\\.')}`));
    const qc = await run('/bin/sh', [join(unpacked, name, 'bin', 'quorumctl'), 'version'], { env });
    assert.equal(qc.code, 0, qc.stderr);
    assert.match(qc.stdout, /quorumctl version: /);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
