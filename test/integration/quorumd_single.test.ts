/**
 * One-member quorumd: data survives restarts (clean SIGTERM and kill -9) through the WAL; unsafe starts are
 * refused with a clear message; --version.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { ROOT, etcdctl, makeCluster, run, stopAll, waitFor } from './quorumd_harness.js';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

after(async () => {
  await stopAll();
});

test('a restarted single member recovers its data from the WAL', { timeout: 120_000 }, async () => {
  const [m] = await makeCluster(1);
  m.start();
  const c = () => new StoreClient(m.clientUrl, undefined, { timeoutMs: 3000 });
  await waitFor('leader', async () => (await etcdctl(['--endpoints', m.clientUrl, 'put', 'k0', 'v0'])).code === 0);
  const client = c();
  let lastRev = 0;
  for (let i = 1; i <= 50; i++) lastRev = (await client.put(`k${i}`, `value-${i}`)).revision;
  client.close();
  assert.equal(await m.kill('SIGTERM'), 0);

  m.start();
  const c2 = c();
  const v = await waitFor('restart (SIGTERM)', async () => c2.get('k50'));
  assert.equal(Buffer.from(v).toString(), 'value-50');
  const st = await c2.status();
  assert.ok(st.revision >= lastRev, `revision ${st.revision} >= ${lastRev}`);
  await c2.put('after-restart', 'x');
  c2.close();
  await m.kill('SIGKILL');

  m.start();
  const c3 = c();
  const v3 = await waitFor('restart (kill -9)', async () => c3.get('after-restart', { serializable: false }));
  assert.equal(Buffer.from(v3).toString(), 'x');
  assert.equal(Buffer.from((await c3.get('k1'))!).toString(), 'value-1');
  const r = await c3.range('k', { rangeEnd: Buffer.from('l'), countOnly: true });
  assert.equal(r.count, 51);
  const members = await c3.memberList();
  assert.equal(members.length, 1);
  assert.deepEqual(members[0].clientURLs, [m.clientUrl]);
  c3.close();
  await m.kill('SIGTERM');
});

test('refuses a data dir holding another cluster\'s WAL, and state=existing without a WAL', { timeout: 60_000 }, async () => {
  const [m] = await makeCluster(1, { token: 'first' });
  m.start();
  await waitFor('leader', async () => (await etcdctl(['--endpoints', m.clientUrl, 'put', 'a', 'b'])).code === 0);
  await m.kill('SIGTERM');
  const other = m.args.map((a) => (a === 'first' ? 'second' : a));
  const r = await run(process.execPath, [join(ROOT, 'bin', 'quorumd.js'), ...other]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /holds the WAL of member [0-9a-f]+ in cluster [0-9a-f]+/);

  const fresh = m.args.map((a) => (a === m.dataDir ? m.dataDir + '-empty' : a === 'new' ? 'existing' : a));
  const e = await run(process.execPath, [join(ROOT, 'bin', 'quorumd.js'), ...fresh]);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /initial-cluster-state=existing but data-dir .* has no WAL: joining an existing cluster/);

  const bad = await run(process.execPath, [join(ROOT, 'bin', 'quorumd.js'), '--heartbeat-interval', 'soon']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--heartbeat-interval: invalid value "soon"/);
});

test('quorumd --version', async () => {
  const r = await run(process.execPath, [join(ROOT, 'bin', 'quorumd.js'), '--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^quorumd Version: .+\nAPI Version: 3\.4\n/);
});

test('tells systemd READY=1 once serving with a leader (NOTIFY_SOCKET set); rejects too-large requests', { timeout: 60_000 }, async () => {
  const bin = mkdtempSync(join(tmpdir(), 'fake-systemd-'));
  const marker = join(bin, 'notified');
  writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$@ $NOTIFY_SOCKET" >> ${marker}\n`);
  chmodSync(join(bin, 'systemd-notify'), 0o755);
  const [m] = await makeCluster(1);
  const saved = { PATH: process.env.PATH, NOTIFY_SOCKET: process.env.NOTIFY_SOCKET };
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.NOTIFY_SOCKET = join(bin, 'notify.sock');
  try {
    m.start();
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.NOTIFY_SOCKET === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = saved.NOTIFY_SOCKET;
  }
  await waitFor('systemd-notify --ready', async () => existsSync(marker));
  assert.equal(readFileSync(marker, 'utf8'), `--ready ${join(bin, 'notify.sock')}\n`);
  const c = new StoreClient(m.clientUrl, undefined, { timeoutMs: 5000 });
  await assert.rejects(c.put('big', Buffer.alloc(1.6 * 1024 * 1024, 1)), /etcdserver: request is too large/);
  await assert.rejects(c.put('', 'v'), /etcdserver: key is not provided/);
  c.close();
  await m.kill('SIGTERM');
});
