/**
 * End to end on the lab (issue 9, membership from the inventory): lab up with 7 hosts -> provision a 3-host
 * copy of inventory/lab.yaml (own PKI dir and release build in a temp dir) -> under a continuous write load
 * over mTLS (StoreClient; every acknowledged write recorded): a 4-host inventory is refused without
 * --allow-even (nothing changed); 3 -> 5 (etcd-04, etcd-05 join as learners and are promoted; 5 voters, all
 * healthy); 5 -> 7 -> 5 (etcd-06, etcd-07 join, then leave); 5 -> 3 (removed from the membership, stopped,
 * wiped). `--dry-run` prints each membership plan
 * before the real run. Finally: 0 failed writes (one retry allowed per write) and 0 lost acknowledged writes.
 * Needs root. Slow (minutes); generous timeouts, no timing assertions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, eventually, type RunResult } from '../helpers/proc.js';
import { WriteLoad } from '../helpers/write-load.js';
import { labInventoryYaml, must, ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
const quorum = join(root, 'bin', 'quorum.js');
const lab = join(root, 'dist', 'scripts', 'lab', 'main.js');
const all = [1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `etcd-0${i}`, address: `10.88.0.1${i}` }));
const base = all.slice(0, 3);
const five = all.slice(0, 5);
const tmp = mkdtempSync(join(tmpdir(), 'quorum-scale-'));
let etcdctlEnv: NodeJS.ProcessEnv = {};

/** Runs `quorum ARGS`; its output is kept in $SCALE_LOG (when set) for diagnosis. */
async function q(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const r = await run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs });
  if (process.env.SCALE_LOG) appendFileSync(process.env.SCALE_LOG, `\n=== ${new Date().toISOString()} quorum ${args.join(' ')} -> ${r.code}\n${r.stdout}\n${r.stderr}\n`);
  return r;
}
function etcdctl(args: string[], endpoint: string): Promise<RunResult> {
  return run('etcdctl', args, { env: { ...etcdctlEnv, ETCDCTL_ENDPOINTS: endpoint }, timeoutMs: 60_000 });
}
/** Writes an inventory listing `hosts` (the lab's settings, this test's PKI dir and release build); returns its path. */
function inventory(hosts: typeof all): string {
  const file = join(tmp, `lab-${hosts.length}.yaml`);
  writeFileSync(file, labInventoryYaml({ hosts, release: join(tmp, 'release', 'quorum-0.1.0-linux-x64.tar.gz'), pki: join(tmp, 'pki') }));
  return file;
}
/** `etcdctl member list` of the cluster (asked on etcd-01): name -> learner?. */
async function memberList(): Promise<Map<string, boolean>> {
  const out = must(await etcdctl(['member', 'list'], `https://${base[0]!.address}:2379`), 'member list');
  const m = new Map<string, boolean>();
  for (const line of out.trim().split('\n')) {
    const c = line.split(',').map((x) => x.trim());
    m.set(c[2]!, c[5] === 'true');
  }
  return m;
}
async function allHealthy(hosts: typeof all): Promise<void> {
  for (const h of hosts) {
    const r = await etcdctl(['endpoint', 'health'], `https://${h.address}:2379`);
    assert.equal(r.code, 0, `${h.name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /is healthy/);
  }
}

/** The load writes to the three members that never leave (test/helpers/write-load.ts). */
let load: WriteLoad | undefined;
// `lab up --hosts 7` rewrites inventory/lab.yaml for 7 hosts; put the committed 3-host file back afterwards.
const labInventoryPath = join(root, 'inventory', 'lab.yaml');
const labInventoryText = readFileSync(labInventoryPath, 'utf8');

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  // The release under test is built from this tree (the shared release/ may predate membership support).
  must(await run('node', [join(root, 'scripts', 'release.mjs'), '--out', join(tmp, 'release')], { cwd: root, timeoutMs: 600_000 }), 'release build');
  must(await run(process.execPath, [lab, 'up', '--hosts', '7'], { cwd: root, timeoutMs: 900_000 }), 'lab up --hosts 7');
});

after(async () => {
  if (load) { await load.stop().catch(() => undefined); load.close(); }
  const r = await run(process.execPath, [lab, 'down'], { cwd: root, timeoutMs: 600_000 });
  if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
  writeFileSync(labInventoryPath, labInventoryText);
  rmSync(tmp, { recursive: true, force: true });
});

test('3 -> 5 -> 7 -> 5 -> 3 from the inventory under a write load, an even count refused', { timeout: 2_400_000 }, async (t) => {
  const inv3 = inventory(base);
  must(await q(['provision', '-i', inv3]), 'first provision (3 hosts)');
  const env = must(await q(['env', '-i', inv3]), 'quorum env');
  etcdctlEnv = { ...process.env, ETCDCTL_API: '3' };
  for (const m of env.matchAll(/(ETCDCTL_[A-Z_]+)=("?)([^"\s]+)\2/g)) etcdctlEnv[m[1]!] = m[3];
  assert.ok(etcdctlEnv.ETCDCTL_CACERT && etcdctlEnv.ETCDCTL_CERT && etcdctlEnv.ETCDCTL_KEY, `env lacks TLS files:\n${env}`);
  assert.deepEqual([...(await memberList()).keys()].sort(), base.map((h) => h.name));

  load = new WriteLoad(base, {
    ca: readFileSync(etcdctlEnv.ETCDCTL_CACERT!), cert: readFileSync(etcdctlEnv.ETCDCTL_CERT!), key: readFileSync(etcdctlEnv.ETCDCTL_KEY!),
  }, { prefix: 'scale/', ...(process.env.SCALE_LOG ? { logFile: process.env.SCALE_LOG } : {}) });
  load.start();
  await eventually(async () => assert.ok(load!.acked.size > 5, 'the load is writing'), 60_000);

  await t.test('an inventory with 4 hosts is refused without --allow-even and changes nothing', async () => {
    const r = await q(['provision', '-i', inventory(all.slice(0, 4))]);
    assert.notEqual(r.code, 0, `4 hosts must be refused:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /even/);
    assert.deepEqual([...(await memberList()).keys()].sort(), base.map((h) => h.name));
    assert.notEqual((await ssh(all[3]!.address, 'systemctl is-active quorumd')).code, 0, 'etcd-04 runs no quorumd');
  });

  const inv5 = inventory(five);
  await t.test('--dry-run prints the plan 3 -> 5 and changes nothing', async () => {
    const out = must(await q(['provision', '-i', inv5, '--dry-run']), 'dry run 3 -> 5');
    assert.match(out, /membership: etcd-01, etcd-02, etcd-03 -> etcd-01, etcd-02, etcd-03, etcd-04, etcd-05/);
    assert.match(out, /member add etcd-04 --learner/);
    assert.match(out, /member promote etcd-05/);
    assert.equal((await memberList()).size, 3);
  });

  await t.test('3 -> 5: etcd-04 and etcd-05 join as learners, are promoted; 5 healthy voters', async () => {
    const out = must(await q(['provision', '-i', inv5]), 'provision 3 -> 5');
    assert.match(out, /member add etcd-04 --learner/);
    const members = await memberList();
    assert.deepEqual([...members.keys()].sort(), five.map((h) => h.name), `member list:\n${[...members]}`);
    for (const [name, learner] of members) assert.equal(learner, false, `${name} is a voter`);
    await allHealthy(five);
  });

  await t.test('5 -> 7: etcd-06 and etcd-07 join as learners, are promoted; 7 healthy voters', async () => {
    const out = must(await q(['provision', '-i', inventory(all)]), 'provision 5 -> 7');
    assert.match(out, /member add etcd-06 --learner/);
    const members = await memberList();
    assert.deepEqual([...members.keys()].sort(), all.map((h) => h.name), `member list:\n${[...members]}`);
    for (const [name, learner] of members) assert.equal(learner, false, `${name} is a voter`);
    await allHealthy(all);
  });

  await t.test('7 -> 5: etcd-06 and etcd-07 removed, stopped and wiped; 5 healthy voters', async () => {
    must(await q(['provision', '-i', inv5]), 'provision 7 -> 5');
    assert.deepEqual([...(await memberList()).keys()].sort(), five.map((h) => h.name));
    await allHealthy(five);
    for (const h of all.slice(5)) {
      assert.notEqual((await ssh(h.address, 'systemctl is-active quorumd')).code, 0, `${h.name} stopped`);
      assert.equal(must(await ssh(h.address, 'ls -A /var/lib/etcd'), `${h.name} data dir`).trim(), '', `${h.name} wiped`);
    }
  });

  await t.test('--dry-run prints the plan 5 -> 3 and changes nothing', async () => {
    const out = must(await q(['provision', '-i', inv3, '--dry-run']), 'dry run 5 -> 3');
    assert.match(out, /membership: etcd-01, etcd-02, etcd-03, etcd-04, etcd-05 -> etcd-01, etcd-02, etcd-03/);
    assert.match(out, /member remove etcd-04/);
    assert.match(out, /member remove etcd-05/);
    assert.equal((await memberList()).size, 5);
  });

  await t.test('5 -> 3: etcd-04 and etcd-05 removed from the membership, stopped and wiped', async () => {
    must(await q(['provision', '-i', inv3]), 'provision 5 -> 3');
    assert.deepEqual([...(await memberList()).keys()].sort(), base.map((h) => h.name));
    await allHealthy(base);
    for (const h of five.slice(3)) {
      assert.notEqual((await ssh(h.address, 'systemctl is-active quorumd')).code, 0, `${h.name} stopped`);
      assert.equal(must(await ssh(h.address, 'ls -A /var/lib/etcd'), `${h.name} data dir`).trim(), '', `${h.name} wiped`);
    }
  });

  await t.test('0 failed writes, 0 lost acknowledged writes', async () => {
    await load!.stop();
    assert.ok(load!.acked.size > 20, `the load wrote (${load!.acked.size} acknowledged)`);
    if (load!.failures.length && process.env.SCALE_LOG) {
      for (const h of base) appendFileSync(process.env.SCALE_LOG, `\n=== journal of ${h.name}\n${(await ssh(h.address, 'journalctl -u quorumd --no-pager -n 80; systemctl show -p NRestarts --value quorumd')).stdout}`);
    }
    assert.deepEqual(load!.failures, []);
    assert.deepEqual(await load!.lost(), []);
  });
});
