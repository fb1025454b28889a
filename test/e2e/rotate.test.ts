/**
 * End to end on the lab: certificate rotation under continuous load over mTLS from this machine.
 * lab up -> provision a copy of inventory/lab.yaml (own pki dir, leaf lifetime 10 minutes, a release built
 * from this tree) -> load: a writer on one long-lived connection, a writer that reconnects (re-reading the
 * operator's certificate files) for every request, and a watcher on one long-lived stream -> leaf rotation
 * -> CA rotation killed (SIGKILL) right after phase 1, then resumed -> `--if-expiring-within` rotates the
 * short-lived certificates before they expire (and does nothing when they are not due) -> `certs check`
 * shows the new serials and dates -> 0 failed requests, 0 lost acknowledged writes, no gap in the watch,
 * no member restarted -> lab down. Needs root. A few minutes; no timing assertions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { StoreClient } from '../../store/client/client.js';
import { privateQuorumTree } from '../helpers/private-tree.js';
import { run, type RunResult } from '../helpers/proc.js';
import { LAB_HOSTS, must, ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
/**
 * `quorum` from a private copy of dist/ taken when the test starts: other work rebuilding dist/ while the
 * test runs must not swap modules under a running command.
 */
let quorumEnv: NodeJS.ProcessEnv = process.env;
let quorum = join(root, 'bin', 'quorum.js');
const hosts = LAB_HOSTS;
const work = mkdtempSync(join(tmpdir(), 'quorum-rotate-e2e-'));
const pki = join(work, 'pki');
const inventory = join(work, 'lab.yaml');
const endpoint = (h: { address: string }) => `https://${h.address}:2379`;

function q(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return run(process.execPath, [quorum, ...args], { cwd: root, timeoutMs, env: quorumEnv });
}
/** `quorum lab ...` from this tree (the lab writes the project's inventory/lab.yaml). */
function lab(args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(root, 'bin', 'quorum.js'), 'lab', ...args], { cwd: root, timeoutMs: 600_000 });
}

/** The operator's client TLS files, re-read until key and certificate match (they are replaced one after the other). */
async function operatorTls(): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
  for (let i = 0; ; i++) {
    const t = { ca: readFileSync(join(pki, 'ca.pem')), cert: readFileSync(join(pki, 'client.pem')), key: readFileSync(join(pki, 'client-key.pem')) };
    try {
      tls.createSecureContext({ cert: t.cert, key: t.key });
      return t;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

interface CheckRow { host: string; cert: string; serial: string; notAfter: string; daysLeft: number | null; subject: string; problems: string[] }
async function checkRows(): Promise<CheckRow[]> {
  const r = await q(['certs', 'check', '-i', inventory, '--json', '--warn-days', '0']);
  assert.equal(r.code, 0, `certs check failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as CheckRow[];
}
const leafSerials = (rows: CheckRow[]) => new Map(rows.filter((r) => r.cert !== 'ca').map((r) => [`${r.host}/${r.cert}`, r.serial]));
const mainPids = () => Promise.all(hosts.map(async (h) => must(await ssh(h.address, 'systemctl show -p MainPID --value quorumd'), 'pid').trim()));

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  must(await run(process.execPath, [join(root, 'scripts', 'release.mjs'), '--out', join(work, 'release')], { cwd: root, timeoutMs: 600_000 }), 'release build');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  ({ quorum, env: quorumEnv } = privateQuorumTree(root, join(work, 'tree')));
  await lab(['down']);
  must(await lab(['up', '--hosts', '3']), 'quorum lab up');
  const labYaml = readFileSync(join(root, 'inventory', 'lab.yaml'), 'utf8')
    .replace(/^pki:\n {2}dir: .*$/m, `pki:\n  dir: ${pki}\n  cert-minutes: 10`)
    .replace(/^cluster:\n/m, `cluster:\n  release: ${join(work, 'release', `quorum-${version}-linux-x64.tar.gz`)}\n`);
  assert.match(labYaml, /cert-minutes: 10/);
  writeFileSync(inventory, labYaml);
});

after(async () => {
  const r = await lab(['down']);
  if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
});

test('leaf and CA rotation under load: no failed request, no lost write, no watch gap, no restart', { timeout: 1_200_000 }, async (t) => {
  must(await q(['provision', '-i', inventory]), 'provision');
  const initial = await checkRows();
  for (const r of initial.filter((x) => x.cert !== 'ca')) assert.ok(r.daysLeft! > 0 && r.daysLeft! < 11 / 1440, `${r.host} ${r.cert}: a 10-minute certificate (${r.daysLeft} days left)`);
  const pidsBefore = await mainPids();

  // ---- load ----
  const failures: string[] = [];
  const acked = new Map<string, number>(); // key -> revision
  let loading = true;
  const first = await operatorTls();
  const watchClient = new StoreClient(endpoint(hosts[1]!), first, { timeoutMs: 10_000 });
  const startRev = (await watchClient.range('load/', { rangeEnd: Buffer.from('load0'), countOnly: true })).header.revision + 1;
  const longLived = new StoreClient(endpoint(hosts[0]!), first, { timeoutMs: 10_000 });
  const longWriter = (async () => {
    for (let n = 0; loading; n++) {
      const k = `load/long/${String(n).padStart(6, '0')}`;
      try {
        acked.set(k, (await longLived.put(k, String(n))).revision);
      } catch (e) {
        failures.push(`long-lived ${k}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const reconnectWriter = (async () => {
    for (let n = 0; loading; n++) {
      const k = `load/reconnect/${String(n).padStart(6, '0')}`;
      const c = new StoreClient(endpoint(hosts[n % hosts.length]!), await operatorTls(), { timeoutMs: 10_000 });
      try {
        acked.set(k, (await c.put(k, String(n))).revision);
      } catch (e) {
        failures.push(`reconnecting ${k} via ${hosts[n % hosts.length]!.name}: ${(e as Error).message}`);
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // watcher: one stream on etcd-02 from the current revision over the whole load prefix
  const seen = new Map<string, number>();
  const watchProblems: string[] = [];
  let lastRev = 0;
  const watch = (watchClient.rawClient('Watch') as grpc.Client & { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }).Watch(watchClient.metadata());
  watch.on('data', (res: { events?: Array<{ kv?: { key: Buffer; mod_revision: string } }>; canceled?: boolean; cancel_reason?: string }) => {
    if (res.canceled) watchProblems.push(`watch canceled: ${res.cancel_reason}`);
    for (const ev of res.events ?? []) {
      const rev = Number(ev.kv!.mod_revision);
      if (rev <= lastRev) watchProblems.push(`revision ${rev} after ${lastRev}`);
      lastRev = rev;
      seen.set(ev.kv!.key.toString(), rev);
    }
  });
  watch.on('error', (e: Error) => { if (loading) watchProblems.push(`watch stream error: ${e.message}`); });
  watch.on('end', () => { if (loading) watchProblems.push('watch stream ended'); });
  watch.write({ create_request: { key: Buffer.from('load/'), range_end: Buffer.from('load0'), start_revision: String(startRev) } });

  try {
    await t.test('--dry-run shows both plans and changes nothing', async () => {
      const leaf = must(await q(['certs', 'rotate', '-i', inventory, '--dry-run']), 'leaf dry run');
      assert.match(leaf, /leaf rotation/);
      for (const h of hosts) assert.match(leaf, new RegExp(`${h.name}: new server and peer certificates`));
      const ca = must(await q(['certs', 'rotate', '--ca', '-i', inventory, '--dry-run']), 'CA dry run');
      for (const p of ['phase 1/3', 'phase 2/3', 'phase 3/3']) assert.ok(ca.includes(p), `${p} in\n${ca}`);
      assert.deepEqual(leafSerials(await checkRows()), leafSerials(initial), 'a dry run changes nothing');
    });

    let afterLeaf: CheckRow[] = [];
    await t.test('leaf rotation: every member presents new serials; the CA stays', async () => {
      must(await q(['certs', 'rotate', '-i', inventory]), 'certs rotate');
      afterLeaf = await checkRows();
      const before = leafSerials(initial);
      for (const [k, serial] of leafSerials(afterLeaf)) assert.notEqual(serial, before.get(k), `${k} has a new serial`);
      assert.deepEqual(afterLeaf.filter((r) => r.cert === 'ca').map((r) => r.serial), initial.filter((r) => r.cert === 'ca').map((r) => r.serial));
    });

    await t.test('CA rotation killed after phase 1 resumes and completes on the next run', async () => {
      const child = spawn(process.execPath, [quorum, 'certs', 'rotate', '--ca', '-i', inventory], { cwd: root, env: quorumEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const killed = await new Promise<boolean>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/rotation state: phase trust complete/.test(out) && child.exitCode === null) {
            process.kill(child.pid!, 'SIGKILL');
            resolve(true);
          }
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', () => resolve(false));
      });
      assert.ok(killed, `the first run was killed after phase 1:\n${out}`);
      const state = JSON.parse(readFileSync(join(pki, 'rotation-state.json'), 'utf8')) as { phase: string; newCaSerial: string };
      assert.equal(state.phase, 'switch');
      const mid = await checkRows();
      for (const h of hosts) assert.equal(mid.filter((r) => r.host === h.name && r.cert === 'ca').length, 2, `${h.name} trusts old + new CA`);
      assert.match(must(await q(['certs', 'rotate', '--ca', '-i', inventory, '--dry-run']), 'resume dry run'), /resuming phase switch/);
      const resumed = must(await q(['certs', 'rotate', '--ca', '-i', inventory]), 'resumed CA rotation');
      assert.doesNotMatch(resumed, /install ca\.pem = old CA \+ new CA/, 'phase 1 is not repeated');
      const done = JSON.parse(readFileSync(join(pki, 'rotation-state.json'), 'utf8')) as { phase: string };
      assert.equal(done.phase, 'done');
      const rows = await checkRows();
      for (const h of hosts) {
        const cas = rows.filter((r) => r.host === h.name && r.cert === 'ca');
        assert.deepEqual(cas.map((r) => r.serial), [state.newCaSerial], `${h.name} trusts only the new CA`);
      }
      const before = leafSerials(afterLeaf);
      for (const [k, serial] of leafSerials(rows)) assert.notEqual(serial, before.get(k), `${k} re-issued by the new CA`);
    });

    await t.test('short-lived certificates are rotated before they expire; not when not due', async () => {
      const nothing = must(await q(['certs', 'rotate', '-i', inventory, '--if-expiring-within', '0.0001']), 'not due');
      assert.match(nothing, /nothing to do/);
      const before = await checkRows();
      const now = Date.now();
      for (const r of before.filter((x) => x.cert !== 'ca')) assert.ok(Date.parse(r.notAfter) > now, `${r.host} ${r.cert} has not expired`);
      must(await q(['certs', 'rotate', '-i', inventory, '--if-expiring-within', '1']), 'due rotation');
      const rows = await checkRows();
      const old = new Map(before.map((r) => [`${r.host}/${r.cert}`, r]));
      for (const r of rows.filter((x) => x.cert !== 'ca')) {
        const o = old.get(`${r.host}/${r.cert}`)!;
        assert.notEqual(r.serial, o.serial);
        assert.ok(Date.parse(r.notAfter) > Date.parse(o.notAfter), `${r.host} ${r.cert}: later not-after`);
      }
      // the text table and the exit code for monitoring
      const table = await q(['certs', 'check', '-i', inventory, '--warn-days', '1']);
      assert.equal(table.code, 1, '10-minute certificates are under a 1-day threshold');
      for (const r of rows.filter((x) => x.cert !== 'ca')) assert.ok(table.stdout.includes(r.serial), `table shows ${r.serial}`);
    });
  } finally {
    loading = false;
    await Promise.all([longWriter, reconnectWriter]);
  }

  await t.test('0 failed requests, 0 lost writes, no watch gap, no restart', async () => {
    assert.deepEqual(failures, [], 'no failed request');
    assert.ok(acked.size > 50, `load ran (${acked.size} acknowledged writes)`);
    const reader = new StoreClient(endpoint(hosts[2]!), await operatorTls(), { timeoutMs: 10_000 });
    const all = await reader.range('load/', { rangeEnd: Buffer.from('load0') });
    const got = new Map(all.kvs.map((kv) => [kv.key.toString(), kv.modRevision]));
    const lost = [...acked].filter(([k, rev]) => got.get(k) !== rev).map(([k]) => k);
    assert.deepEqual(lost, [], 'every acknowledged write reads back');
    // the watch saw every acknowledged write (give it the last few)
    const deadline = Date.now() + 15_000;
    while ([...acked.keys()].some((k) => !seen.has(k)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(watchProblems, []);
    assert.deepEqual([...acked].filter(([k, rev]) => seen.get(k) !== rev).map(([k]) => k), [], 'no gap in the watch');
    assert.deepEqual(await mainPids(), pidsBefore, 'no member was restarted');
    reader.close();
  });
  watch.end();
  watch.cancel();
  longLived.close();
  watchClient.close();
});
