#!/usr/bin/env node
// Builds the self-contained release artifact release/quorum-<version>-linux-x64.tar.gz and its .sha256:
// the Node.js runtime of this machine, one esbuild bundle per program (quorumd, quorumctl, quorum),
// the proto and template files, and sh wrappers in bin/. It runs on a host with no Node.js installed.
// Usage: node scripts/release.mjs [--out DIR]; QUORUM_RELEASE_VERSION=V builds it as version V (tests of upgrades).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (process.env.QUORUM_RELEASE_VERSION) {
  if (!/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(process.env.QUORUM_RELEASE_VERSION)) throw new Error('release: QUORUM_RELEASE_VERSION must be a version such as 0.2.0 (letters, digits, . + _ -)');
  pkg.version = process.env.QUORUM_RELEASE_VERSION;
}
const outIdx = process.argv.indexOf('--out');
const outDir = outIdx > 0 ? process.argv[outIdx + 1] : join(root, 'release');
const name = `quorum-${pkg.version}-linux-x64`;
const stage = join(outDir, 'stage', name);

rmSync(join(outDir, 'stage'), { recursive: true, force: true });
mkdirSync(join(stage, 'bin'), { recursive: true });
mkdirSync(join(stage, 'lib'), { recursive: true });

const programs = {
  quorumd: 'store/server/main.ts',
  quorumctl: 'store/ctl/main.ts',
  quorum: 'toolkit/cli/main.ts',
};
for (const [prog, entry] of Object.entries(programs)) {
  if (!existsSync(join(root, entry))) throw new Error(`release: missing entry point ${entry}`);
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(stage, 'lib', `${prog}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    // ssh2's optional native parts are loaded in try/catch; leave them out of the bundle.
    external: ['cpu-features', '*.node'],
    define: { 'process.env.QUORUM_BUNDLED': '"1"' },
    // CommonJS dependencies inside an ESM bundle expect require, __filename and __dirname.
    banner: {
      js: [
        "import { createRequire as __qcr } from 'node:module';",
        "import { fileURLToPath as __qfu } from 'node:url';",
        "import { dirname as __qdn } from 'node:path';",
        'const require = __qcr(import.meta.url);',
        'const __filename = __qfu(import.meta.url);',
        'const __dirname = __qdn(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
  });
  writeFileSync(
    join(stage, 'bin', prog),
    [
      '#!/bin/sh',
      `# ${prog} ${pkg.version}: runs the bundled program with the bundled Node.js runtime.`,
      'here=$(dirname "$(readlink -f "$0")")',
      'top=$(dirname "$here")',
      'QUORUM_PROTO_DIR="$top/proto" QUORUM_TEMPLATES_DIR="$top/templates" QUORUM_VERSION=' + pkg.version,
      'export QUORUM_PROTO_DIR QUORUM_TEMPLATES_DIR QUORUM_VERSION',
      `exec "$top/lib/node" "$top/lib/${prog}.mjs" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(stage, 'bin', prog), 0o755);
}
copyFileSync(process.execPath, join(stage, 'lib', 'node'));
chmodSync(join(stage, 'lib', 'node'), 0o755);
cpSync(join(root, 'store', 'proto'), join(stage, 'proto'), { recursive: true, filter: (s) => !s.endsWith('.ts') });
cpSync(join(root, 'templates'), join(stage, 'templates'), { recursive: true });
writeFileSync(join(stage, 'VERSION'), `${pkg.version}\n`);

const tarball = join(outDir, `${name}.tar.gz`);
// Deterministic-ish archive: fixed owner and mtime, sorted names.
const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0',
  '-C', join(outDir, 'stage'), '-czf', tarball, name], { stdio: 'inherit' });
if (tar.status !== 0) throw new Error('release: tar failed');
rmSync(join(outDir, 'stage'), { recursive: true, force: true });

const hash = createHash('sha256');
await new Promise((res, rej) => createReadStream(tarball).on('data', (d) => hash.update(d)).on('end', res).on('error', rej));
const digest = hash.digest('hex');
writeFileSync(`${tarball}.sha256`, `${digest}  ${name}.tar.gz\n`);
console.log(`release: ${tarball}\nrelease: sha256 ${digest}`);
