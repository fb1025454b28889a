/**
 * Differential: the same etcdctl 3.4 member/move-leader command sequence against a 1-member etcd 3.4 and a
 * 1-member quorumd (ports 24200-24299) prints the same thing (stdout, "Error:" lines, exit codes) once member IDs
 * and ports are replaced by placeholders.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Member, type RunResult, etcdctl, quorumctl, stopAll, waitFor } from './quorumd_harness.js';

const base = mkdtempSync(join(tmpdir(), 'quorumd-cdiff-'));
const E = { client: 24201, peer: 24202, add: 24203, add2: 24204 };
const Q = { client: 24211, peer: 24212, add: 24213, add2: 24214 };
let etcd: ChildProcess | undefined;
let q: Member;

before(async () => {
  const u = (p: number) => `http://127.0.0.1:${p}`;
  etcd = spawn('/usr/bin/etcd', [
    '--data-dir', join(base, 'etcd'), '--listen-client-urls', u(E.client), '--advertise-client-urls', u(E.client),
    '--listen-peer-urls', u(E.peer), '--initial-advertise-peer-urls', u(E.peer), '--initial-cluster', `default=${u(E.peer)}`,
  ], { stdio: 'ignore' });
  q = new Member('default', u(Q.client), u(Q.peer), u(24215), join(base, 'q'), [
    '--name', 'default', '--data-dir', join(base, 'q'), '--listen-client-urls', u(Q.client), '--advertise-client-urls', u(Q.client),
    '--listen-peer-urls', u(Q.peer), '--initial-advertise-peer-urls', u(Q.peer), '--initial-cluster', `default=${u(Q.peer)}`,
    '--listen-metrics-urls', u(24215),
  ], join(base, 'q.log'));
  q.start();
  for (const p of [E.client, Q.client]) {
    await waitFor(`endpoint ${p}`, async () => (await etcdctl(['--endpoints', u(p), 'endpoint', 'health'])).code === 0, 30_000);
  }
});

after(async () => {
  if (etcd?.pid && etcd.exitCode === null) process.kill(etcd.pid, 'SIGKILL');
  await stopAll();
});

/** Run one script of etcdctl commands against an endpoint; `$ID` is the member added by the first command. */
async function script(ports: typeof E, tool: (args: string[]) => Promise<RunResult> = etcdctl): Promise<string[]> {
  const ep = ['--endpoints', `http://127.0.0.1:${ports.client}`];
  const out: string[] = [];
  const ids = new Map<string, string>();
  const norm = (s: string) =>
    s
      .split('\n')
      .filter((l) => !l.startsWith('{'))
      .join('\n')
      .replace(/127\.0\.0\.1:(\d+)/g, (_m, p: string) => `HOST:${Object.entries(ports).find(([, v]) => String(v) === p)?.[0] ?? p}`)
      // member order follows the IDs, which differ: sort the lists
      .replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_m, l: string) => `ETCD_INITIAL_CLUSTER="${l.split(',').sort().join(',')}"`)
      // IDs differ in length (%16x pads with spaces, table columns widen): collapse padding
      .replace(/ {2,}/g, ' ')
      .replace(/-{3,}/g, '---')
      .replace(/\b[0-9a-f]{9,20}\b/g, (id) => {
        const k = BigInt(/^[0-9]+$/.test(id) && id.length > 16 ? id : '0x' + id).toString(16);
        if (!ids.has(k)) ids.set(k, `ID${ids.size}`);
        return ids.get(k)!;
      });
  const runOne = async (args: string[]) => {
    const r = await tool([...ep, ...args]);
    const stdout = args[1] === 'list' ? norm(r.stdout).split('\n').sort().join('\n') : norm(r.stdout);
    out.push(`$ ${norm(args.join(' '))}\n[${r.code}]\n${stdout}${norm(r.stderr)}`);
    return r;
  };
  const p = (k: keyof typeof E) => `http://127.0.0.1:${ports[k]}`;
  // member list first so the own ID is ID0 on both
  await runOne(['member', 'list']);
  const add = await runOne(['member', 'add', 'x', `--peer-urls=${p('add')}`, '--learner']);
  const id = /^Member +([0-9a-f]+) added/.exec(add.stdout)?.[1] ?? 'ffff';
  await runOne(['member', 'add', 'y', `--peer-urls=${p('add2')}`, '--learner']);
  await runOne(['member', 'promote', id]);
  await runOne(['member', 'add', 'z', `--peer-urls=${p('peer')}`]);
  await runOne(['member', 'add', 'z', '--peer-urls=foo']);
  await runOne(['member', 'add', 'z']);
  await runOne(['member', 'update', '1234', `--peer-urls=${p('add2')}`]);
  await runOne(['member', 'list', '-w', 'table']);
  await runOne(['member', 'remove', id]);
  await runOne(['member', 'remove', id]);
  await runOne(['member', 'remove', 'zz']);
  await runOne(['move-leader', '1234']);
  await runOne(['member', 'list']);
  return out;
}

test('etcdctl member commands print the same against etcd 3.4 and quorumd', { timeout: 120_000 }, async () => {
  const want = await script(E);
  const got = await script(Q);
  for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i]);
});

test('quorumctl member commands against quorumd print what etcdctl prints against etcd 3.4', { timeout: 120_000 }, async () => {
  const want = await script({ ...E, add: 24205, add2: 24206 });
  const got = await script({ ...Q, add: 24216, add2: 24217 }, quorumctl);
  for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i]);
});
