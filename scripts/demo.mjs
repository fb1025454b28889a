#!/usr/bin/env node
// The main job on the local test hosts: build the release, bring the lab up, provision inventory/lab.yaml,
// and print the healthy cluster table. Usage: node scripts/demo.mjs [--hosts N]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const hostsIdx = process.argv.indexOf('--hosts');
const hosts = hostsIdx > 0 ? process.argv[hostsIdx + 1] : '3';
function step(title, cmd, args) {
  console.log(`\n==> ${title}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\ndemo: "${title}" failed (exit ${r.status}); see the messages above.`);
    process.exit(r.status ?? 1);
  }
}
const quorum = join(root, 'bin', 'quorum.js');
step('build the release artifact', process.execPath, [join(root, 'scripts', 'release.mjs')]);
step('start the local test hosts', process.execPath, [quorum, 'lab', 'up', '--hosts', hosts]);
step('provision the cluster', process.execPath, [quorum, 'provision', '-i', join(root, 'inventory', 'lab.yaml')]);
step('cluster status', process.execPath, [quorum, 'status', '-i', join(root, 'inventory', 'lab.yaml')]);
console.log(`\nThe cluster is up. Use etcdctl 3.4 against it:\n  eval "$(node bin/quorum.js env -i inventory/lab.yaml)"\n  etcdctl endpoint health\n  etcdctl put foo bar && etcdctl get foo\nTear it down with: node bin/quorum.js lab down`);
