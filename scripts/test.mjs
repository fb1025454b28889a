#!/usr/bin/env node
// Runs the test tiers on the compiled tree (dist/) with node's test runner, one tier after another
// (unit tiers may run files in parallel; integration and e2e run one file at a time because they
// start real processes and real hosts). Usage: node scripts/test.mjs all|unit|integration|e2e [filter]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tiers = {
  // timeoutMs: the default per-test limit, so a hung test fails its tier instead of stalling CI.
  unit: { dirs: ['dist/test/toolkit', 'dist/test/store', 'dist/test/playbooks'], concurrency: 2, timeoutMs: 300_000 },
  integration: { dirs: ['dist/test/integration'], concurrency: 1, timeoutMs: 900_000 },
  e2e: { dirs: ['dist/test/e2e'], concurrency: 1, timeoutMs: 1_800_000 },
};
const which = process.argv[2] ?? 'all';
const filter = process.argv[3];
const order = which === 'all' ? ['unit', 'integration', 'e2e'] : [which];

function findTests(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const tier of order) {
  const spec = tiers[tier];
  if (!spec) {
    console.error(`unknown tier ${tier}: use all, unit, integration or e2e`);
    process.exit(2);
  }
  let files = spec.dirs.flatMap((d) => findTests(join(root, d)));
  if (filter) files = files.filter((f) => f.includes(filter));
  if (files.length === 0) {
    console.log(`# tier ${tier}: no test files`);
    continue;
  }
  console.log(`# tier ${tier}: ${files.length} files`);
  for (const f of files) console.log(`#   ${relative(root, f)}`);
  // Node 20's runner runs each file in its own process; --test-concurrency bounds how many at once.
  const args = ['--test', '--test-reporter=tap', `--test-concurrency=${spec.concurrency}`, `--test-timeout=${spec.timeoutMs}`, ...files];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout ?? '');
  const num = (re) => Number((r.stdout?.match(re) ?? [])[1] ?? 0);
  const p = num(/^# pass (\d+)$/m);
  const fl = num(/^# fail (\d+)$/m);
  const s = num(/^# skipped (\d+)$/m);
  passed += p;
  failed += fl;
  skipped += s;
  if (r.status !== 0 && fl === 0) failed += 1; // a crashed runner counts as a failure
  console.log(`# tier ${tier}: ${p} passed, ${fl} failed, ${s} skipped`);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
