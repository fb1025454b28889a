/**
 * End to end on the lab (issue 9, rolling changes and rolling upgrades): lab up with 3 hosts -> provision a copy
 * of inventory/lab.yaml (own PKI dir, release built from this tree) -> under a continuous write load over mTLS
 * (test/helpers/write-load.ts; every acknowledged write recorded; a write is tried on each member in turn, twice round):
 *   (a) heartbeat-interval/election-timeout changed in the inventory: provision restarts the members one at a
 *       time, followers first, leadership moved away before the leader restarts last; a second provision
 *       restarts nothing;
 *   (b) `quorum upgrade --release` to a build with another version (--dry-run first): every member runs it, the
 *       old release stays installed;
 *   (b2) `quorum provision` with the inventory still naming the first release is refused (it would roll every
 *       member back): exit 1 naming the members, both versions and the fix; nothing restarts;
 *   (c) `quorum upgrade --rollback`: every member runs the first release again;
 *   (d) an upgrade to a broken release (its quorumd exits at start): the first switched member is switched
 *       back, the upgrade stops non-zero, the cluster stays healthy on the old release.
 * After each step: `quorum status` exit 0 and 0 failed writes; at the end 0 lost acknowledged writes.
 * Needs root. A few minutes; generous timeouts, no timing assertions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreClient } from '../../store/client/client.js';
import { privateQuorumTree } from '../helpers/private-tree.js';
import { eventually, run, type RunResult } from '../helpers/proc.js';
import { WriteLoad } from '../helpers/write-load.js';
import { clientTls, labInventoryYaml, must, ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
let quorum = join(root, 'bin', 'quorum.js');
let quorumEnv: NodeJS.ProcessEnv = process.env;
const hosts = [1, 2, 3].map((i) => ({ name: `etcd-0${i}`, address: `10.88.0.1${i}` }));
const work = mkdtempSync(join(tmpdir(), 'quorum-upgrade-e2e-'));
const pki = join(work, 'pki');
const releases = join(work, 'release');
const inventory = join(work, 'lab.yaml');
const V1 = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
const V2 = `${V1}-e2e.2`;
const BROKEN = `${V1}-e2e.broken`;
const tarball = (v: string) => join(releases, `quorum-${v}-linux-x64.tar.gz`);
const logFile = process.env.UPGRADE_LOG;

async function q(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const r = await run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs, env: quorumEnv });
  if (logFile) appendFileSync(logFile, `\n=== ${new Date().toISOString()} quorum ${args.join(' ')} -> ${r.code}\n${r.stdout}\n${r.stderr}\n`);
  return r;
}
function lab(args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(root, 'dist', 'scripts', 'lab', 'main.js'), ...args], { cwd: root, timeoutMs: 900_000 });
}
const tls = () => clientTls(pki);

/** Writes the test's inventory (the lab's hosts, this test's PKI dir and first release) with the given timeouts. */
function writeInventory(heartbeat: number, election: number): void {
  writeFileSync(inventory, labInventoryYaml({ hosts, release: tarball(V1), pki, heartbeat, election }));
}

/** The release each member's quorumd was started from (its bundled node binary lives in /opt/quorum/<version>/lib). */
async function runningVersions(): Promise<string[]> {
  return Promise.all(hosts.map(async (h) => {
    const exe = must(await ssh(h.address, 'readlink /proc/$(systemctl show -p MainPID --value quorumd)/exe'), `${h.name} exe`).trim();
    return /^\/opt\/quorum\/([^/]+)\/lib\/node$/.exec(exe)?.[1] ?? `(${exe})`;
  }));
}
/** Main PIDs of quorumd on every member. */
async function mainPids(): Promise<string[]> {
  return Promise.all(hosts.map(async (h) => must(await ssh(h.address, 'systemctl show -p MainPID --value quorumd'), `${h.name} pid`).trim()));
}
/** The current leader's name (asked on every member; they must agree). */
async function leaderName(): Promise<string> {
  const statuses = await Promise.all(hosts.map(async (h) => {
    const c = new StoreClient(`https://${h.address}:2379`, tls(), { timeoutMs: 10_000 });
    try { return { h, s: await c.status() }; } finally { c.close(); }
  }));
  const lead = statuses.find((x) => x.s.memberId === x.s.leader);
  assert.ok(lead, 'a leader');
  return lead.h.name;
}
/** Steps of a run's progress output that this test checks, in order: `restart X`, `switch X`, `move X -> Y`. */
function actions(out: string): string[] {
  return [...out.matchAll(/^(?:restarting (\S+)(?: \(.*\))?|switching (\S+) \S+ -> \S+|moving leadership from (\S+) to (\S+))$/gm)]
    .map((m) => (m[1] ? `restart ${m[1]}` : m[2] ? `switch ${m[2]}` : `move ${m[3]} -> ${m[4]}`));
}
/** A rolling run's actions: every member once, and the member that led handed over before its own turn, last. */
function assertRolling(acts: string[], leader: string, verb: 'restart' | 'switch'): void {
  const turns = acts.filter((a) => a.startsWith(verb)).map((a) => a.split(' ')[1]);
  assert.deepEqual([...turns].sort(), hosts.map((h) => h.name), `each member once: ${acts.join(', ')}`);
  assert.equal(turns.at(-1), leader, `the leader ${leader} goes last: ${acts.join(', ')}`);
  const move = acts.findIndex((a) => a.startsWith(`move ${leader} -> `));
  assert.ok(move >= 0 && move < acts.indexOf(`${verb} ${leader}`), `leadership moved off ${leader} before its ${verb}: ${acts.join(', ')}`);
}

let load: WriteLoad | undefined;
async function healthyAndNoFailedWrites(what: string): Promise<void> {
  must(await q(['status', '-i', inventory]), `${what}: quorum status`);
  assert.deepEqual(load!.failures, [], `${what}: failed writes`);
  const n = load!.acked.size;
  await eventually(async () => assert.ok(load!.acked.size > n, `${what}: the load still writes`), 60_000);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  must(await run(process.execPath, [join(root, 'scripts', 'release.mjs'), '--out', releases], { cwd: root, timeoutMs: 600_000 }), 'release build');
  must(await run(process.execPath, [join(root, 'scripts', 'release.mjs'), '--out', releases],
    { cwd: root, timeoutMs: 600_000, env: { ...process.env, QUORUM_RELEASE_VERSION: V2 } }), `release build ${V2}`);
  // The broken release: the first one with another version whose quorumd exits at start.
  const b = join(work, 'broken');
  must(await run('sh', ['-c', [
    `mkdir -p ${b} && tar -xzf ${tarball(V1)} -C ${b}`,
    `mv ${b}/quorum-${V1}-linux-x64 ${b}/quorum-${BROKEN}-linux-x64`,
    `printf '#!/bin/sh\\necho "quorumd: deliberately broken release" >&2\\nexit 1\\n' > ${b}/quorum-${BROKEN}-linux-x64/bin/quorumd`,
    `echo ${BROKEN} > ${b}/quorum-${BROKEN}-linux-x64/VERSION`,
    `tar -czf ${tarball(BROKEN)} -C ${b} quorum-${BROKEN}-linux-x64`,
    `cd ${releases} && sha256sum quorum-${BROKEN}-linux-x64.tar.gz > quorum-${BROKEN}-linux-x64.tar.gz.sha256`,
  ].join(' && ')], { timeoutMs: 300_000 }), 'broken release');
  ({ quorum, env: quorumEnv } = privateQuorumTree(root, join(work, 'tree')));
  await lab(['down']);
  must(await lab(['up', '--hosts', '3']), 'lab up');
  writeInventory(100, 1000);
  must(await q(['provision', '-i', inventory]), 'provision');
});

after(async () => {
  if (load) { await load.stop().catch(() => undefined); load.close(); }
  const r = await lab(['down']);
  if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
  rmSync(work, { recursive: true, force: true });
});

test('rolling setting change, upgrade, rollback and a broken upgrade under a write load', { timeout: 1_800_000 }, async (t) => {
  assert.deepEqual(await runningVersions(), [V1, V1, V1]);
  // Each write is tried on every member in turn, twice round, 1 s apart, before it counts as failed: members
  // restart about a second apart, and grpc-js waits out its reconnect backoff after a refused connection, so
  // one retry can land on the next member being restarted or on a channel still backing off.
  load = new WriteLoad(hosts, tls(), { prefix: 'upgrade/', attempts: 2 * hosts.length, ...(logFile ? { logFile } : {}) });
  load.start();
  await eventually(async () => assert.ok(load!.acked.size > 5, 'the load is writing'), 60_000);

  await t.test('(a) a changed heartbeat/election timeout restarts members one at a time, the leader last after a move', async () => {
    writeInventory(150, 1500);
    const dry = must(await q(['provision', '-i', inventory, '--dry-run']), 'provision --dry-run');
    assert.match(dry, /config/);
    assert.deepEqual(actions(dry), [], 'a dry run restarts nothing');
    const pids = await mainPids();
    const leader = await leaderName();
    const out = must(await q(['provision', '-i', inventory]), 'provision with new timeouts');
    assertRolling(actions(out), leader, 'restart');
    const after = await mainPids();
    for (let i = 0; i < hosts.length; i++) assert.notEqual(after[i], pids[i], `${hosts[i]!.name} restarted`);
    for (const h of hosts) assert.match(must(await ssh(h.address, 'cat /etc/etcd/quorumd.conf.yml'), 'config'), /^heartbeat-interval: 150$/m);
    await healthyAndNoFailedWrites('(a)');
    // Nothing changed: nothing restarts.
    const again = must(await q(['provision', '-i', inventory]), 'provision again');
    assert.deepEqual(actions(again), []);
    assert.deepEqual(await mainPids(), after, 'no member restarted by the second provision');
  });

  await t.test(`(b) upgrade ${V1} -> ${V2}: --dry-run first, then every member runs ${V2}; ${V1} stays installed`, async () => {
    const dry = must(await q(['upgrade', '-i', inventory, '--release', tarball(V2), '--dry-run']), 'upgrade --dry-run');
    assert.match(dry, new RegExp(`install release ${V2.replace(/\./g, '\\.')} on etcd-01 beside the active one`));
    assert.match(dry, /dry run: nothing changed/);
    assert.deepEqual(await runningVersions(), [V1, V1, V1]);
    assert.notEqual((await ssh(hosts[0]!.address, `test -e /opt/quorum/${V2}`)).code, 0, 'the dry run installed nothing');
    const leader = await leaderName();
    const out = must(await q(['upgrade', '-i', inventory, '--release', tarball(V2)]), 'upgrade');
    assertRolling(actions(out), leader, 'switch');
    assert.deepEqual(await runningVersions(), [V2, V2, V2]);
    for (const h of hosts) {
      assert.match(must(await ssh(h.address, '/usr/local/bin/quorumd --version'), 'quorumd --version'), new RegExp(`quorumd Version: ${V2.replace(/\./g, '\\.')}`));
      must(await ssh(h.address, `test -f /opt/quorum/${V1}/.release-sha256`), `${h.name} keeps ${V1}`);
    }
    assert.match(out, new RegExp(`etcd-01 +${V2.replace(/\./g, '\\.')} +${V2.replace(/\./g, '\\.')} +${V1.replace(/\./g, '\\.')}`), 'the versions table after');
    await healthyAndNoFailedWrites('(b)');
  });

  await t.test(`(b2) provision with the inventory still naming ${V1} is refused before anything changes`, async () => {
    const esc = (v: string) => v.replace(/\./g, '\\.');
    const pids = await mainPids();
    const r = await q(['provision', '-i', inventory]);
    assert.equal(r.code, 1, `provision must refuse to undo the upgrade:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`etcd-01, etcd-02, etcd-03 run release ${esc(V2)}, but the inventory's cluster\\.release is ${esc(V1)}`), r.stderr);
    assert.match(r.stderr, /quorum upgrade -i .* --rollback/);
    assert.match(r.stderr, /--allow-downgrade/);
    assert.deepEqual(await runningVersions(), [V2, V2, V2]);
    assert.deepEqual(await mainPids(), pids, 'no member restarted');
    await healthyAndNoFailedWrites('(b2)');
  });

  await t.test(`(c) --rollback: every member runs ${V1} again`, async () => {
    const dry = must(await q(['upgrade', '-i', inventory, '--rollback', '--dry-run']), 'rollback --dry-run');
    assert.match(dry, new RegExp(`rollback: upgrade to ${V1.replace(/\./g, '\\.')}:`));
    assert.deepEqual(await runningVersions(), [V2, V2, V2]);
    const leader = await leaderName();
    const out = must(await q(['upgrade', '-i', inventory, '--rollback']), 'rollback');
    assertRolling(actions(out), leader, 'switch');
    assert.deepEqual(await runningVersions(), [V1, V1, V1]);
    await healthyAndNoFailedWrites('(c)');
  });

  await t.test('(d) a broken release: the first switched member is switched back, the upgrade stops non-zero, the cluster stays healthy', async () => {
    const r = await q(['upgrade', '-i', inventory, '--release', tarball(BROKEN)]);
    assert.equal(r.code, 1, `the upgrade must fail:\n${r.stdout}\n${r.stderr}`);
    const switched = actions(r.stdout).filter((a) => a.startsWith('switch'));
    assert.equal(switched.length, 1, `only one member tried: ${switched.join(', ')}`);
    const victim = switched[0]!.split(' ')[1]!;
    assert.match(r.stderr, new RegExp(`${victim}: step "switch .*": failed after the switch .*; switched back to ${V1.replace(/\./g, '\\.')}, restarted, cluster healthy; the upgrade stopped`));
    assert.deepEqual(await runningVersions(), [V1, V1, V1]);
    const h = hosts.find((x) => x.name === victim)!;
    assert.equal(must(await ssh(h.address, 'readlink /opt/quorum/previous'), 'previous').trim(), `/opt/quorum/${V2}`, 'the previous record is restored');
    await healthyAndNoFailedWrites('(d)');
  });

  await t.test('0 failed writes, 0 lost acknowledged writes', async () => {
    await load!.stop();
    assert.ok(load!.acked.size > 50, `the load wrote (${load!.acked.size} acknowledged)`);
    assert.deepEqual(load!.failures, []);
    assert.deepEqual(await load!.lost(), []);
    console.log(`# upgrade e2e: ${load!.acked.size} acknowledged writes, 0 failed, 0 lost`);
  });
});
