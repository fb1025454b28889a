/**
 * etcdctl 3.4 `watch` (and quorumctl `watch`) against quorumd print what etcdctl prints against etcd 3.4 for
 * the same put/del sequence: prefix with --prev-kv, --rev from history, -w json, and a --rev that was
 * compacted (stderr message and exit code). Ports 22200-22299.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { ROOT, etcdctl, quorumctl, waitFor } from './quorumd_harness.js';
import { sleep, startEtcd, startQuorumd, stopServers } from './watch_harness.js';

const QUORUMCTL = `${ROOT}bin/quorumctl.js`;

interface Watching { proc: ChildProcess; out: string; err: string }

function startWatch(tool: 'etcdctl' | 'quorumctl', url: string, args: string[]): Watching {
  const argv = ['--endpoints', url, ...args];
  const p = tool === 'etcdctl'
    ? spawn('/usr/bin/etcdctl', argv, { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [QUORUMCTL, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Watching = { proc: p, out: '', err: '' };
  p.stdout!.on('data', (d) => (w.out += d));
  p.stderr!.on('data', (d) => (w.err += d));
  return w;
}

async function stop(w: Watching): Promise<void> {
  if (w.proc.exitCode === null && w.proc.signalCode === null && w.proc.pid) {
    process.kill(w.proc.pid, 'SIGKILL');
    await new Promise((r) => w.proc.once('exit', r));
  }
}

const normJson = (s: string) => s.replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0');

const WATCHES: [string, string[]][] = [
  ['prefix --prev-kv', ['watch', 'foo', '--prefix', '--prev-kv']],
  ['single key from history', ['watch', 'foo1', '--rev', '2']],
  ['json from revision 1', ['-w', 'json', 'watch', '--prefix', 'foo', '--rev', '1']],
  ['range', ['watch', 'foo1', 'foo3']],
];

/** History, then etcdctl and quorumctl watchers side by side, then live changes; returns each one's stdout. */
async function scenario(url: string): Promise<{ etcdctl: string[]; quorumctl: string[] }> {
  const kv = new StoreClient(url);
  try {
    await kv.put('foo1', 'bar1');
    await kv.put('foo2', 'bar2');
    await kv.deleteRange('foo1');
    const e = WATCHES.map(([, args]) => startWatch('etcdctl', url, args));
    const q = WATCHES.map(([, args]) => startWatch('quorumctl', url, args));
    const all = [...e, ...q];
    await waitFor('watchers to replay history', async () => all.every((w, i) => i % WATCHES.length === 0 || i % WATCHES.length === 3 || w.out.length > 0), 20_000, 50);
    // the live watches (no --rev) start at the revision current when they are created: wait until the server
    // counts every watcher (etcd_debugging_mvcc_watcher_total, served on the client URL by etcd and quorumd alike)
    await waitFor('every watcher registered on the server', async () => {
      const m = /^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text());
      return m !== null && Number(m[1]) >= all.length;
    }, 20_000, 50);
    await kv.put('foo1', 'again');
    await kv.put('foo2', 'bar2-2');
    await kv.deleteRange('foo', { rangeEnd: Buffer.from('fop') });
    await kv.put('foo1', 'end');
    await waitFor('watchers to print the last event', async () => all.every((w) => w.out.includes('end') || w.out.includes('ZW5k')), 20_000, 50);
    await sleep(300);
    for (const w of all) await stop(w);
    return { etcdctl: e.map((w) => normJson(w.out)), quorumctl: q.map((w) => normJson(w.out)) };
  } finally {
    kv.close();
  }
}

describe('watch: etcdctl and quorumctl print the same against quorumd as etcdctl against etcd 3.4', () => {
  const urls: { etcd: string; q: string } = { etcd: '', q: '' };
  before(async () => {
    [urls.etcd, urls.q] = await Promise.all([startEtcd(22200), startQuorumd(22210)]);
  });
  after(stopServers);

  it('same output for the same put/del sequence', { timeout: 120_000 }, async () => {
    const ref = await scenario(urls.etcd);
    assert.match(ref.etcdctl[0]!, /^PUT\nfoo1\nagain\n/, 'reference output looks like etcdctl');
    const ours = await scenario(urls.q);
    for (let i = 0; i < WATCHES.length; i++) {
      const name = WATCHES[i]![0];
      assert.equal(ours.etcdctl[i], ref.etcdctl[i], `etcdctl ${name} against quorumd`);
      assert.equal(ref.quorumctl[i], ref.etcdctl[i], `quorumctl ${name} against etcd`);
      assert.equal(ours.quorumctl[i], ref.etcdctl[i], `quorumctl ${name} against quorumd`);
    }
  });

  it('a compacted --rev: same stderr and exit code', { timeout: 60_000 }, async () => {
    const results: { tool: string; code: number; out: string; err: string }[] = [];
    for (const url of [urls.etcd, urls.q]) {
      const c = await etcdctl(['--endpoints', url, 'compaction', '5']);
      assert.equal(c.code, 0, c.stderr);
    }
    for (const [tool, url] of [['etcdctl', urls.etcd], ['etcdctl', urls.q], ['quorumctl', urls.q]] as const) {
      const args = ['--endpoints', url, 'watch', 'foo1', '--rev', '2'];
      const r = tool === 'etcdctl' ? await etcdctl(args) : await quorumctl(args);
      results.push({ tool, code: r.code, out: r.stdout, err: r.stderr });
    }
    const [ref, ...rest] = results;
    assert.equal(ref!.err, 'watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n');
    for (const r of rest) assert.deepEqual({ code: r.code, out: r.out, err: r.err }, { code: ref!.code, out: ref!.out, err: ref!.err }, r.tool);
  });
});
