/**
 * A real gateway client against quorumd: Debian's `python3-etcd3gw` (OpenStack's etcd3gw, which speaks only the
 * JSON gateway) does put/get, create/replace transactions, prefix reads, a lease (grant, keys, time-to-live,
 * keep-alive, revoke), a watch (its events read one HTTP chunk per message) and locks, against one quorumd on
 * ports 29130-29132 with api_path '/v3/' (etcd3gw 2.0's default prefix is '/v3alpha/', which etcd 3.4 does not
 * serve either). The same script is then run against real etcd 3.4 (ports 29135-29136) and both outputs must be
 * equal. Skipped, with a message, when the module is not installed for /usr/bin/python3.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from './gateway_harness.js';
import { Member, run, stopAll, waitFor } from './quorumd_harness.js';

/** Debian's interpreter (where python3-etcd3gw installs); $QUORUM_TEST_PYTHON overrides it. */
const PYTHON = process.env.QUORUM_TEST_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** The client session: prints one JSON object with what it observed. argv: port. */
const SCRIPT = String.raw`
import json, sys
from etcd3gw.client import Etcd3Client
from etcd3gw.utils import LOCK_PREFIX

port = int(sys.argv[1])
c = Etcd3Client(host='127.0.0.1', port=port, api_path='/v3/', timeout=20)
out = {}

c.put('gw/foo', 'bar')
out['get'] = [v.decode() for v in c.get('gw/foo')]
out['get_missing'] = c.get('gw/none')
out['create_existing'] = c.create('gw/foo', 'x')
out['create_new'] = c.create('gw/foo2', 'y')
out['replace_ok'] = c.replace('gw/foo', 'bar', 'baz')
out['replace_stale'] = c.replace('gw/foo', 'bar', 'qux')
out['prefix'] = [(v.decode(), m['key'].decode(), m['version']) for v, m in c.get_prefix('gw/', sort_order='ascend', sort_target='key')]
out['deleted'] = c.delete('gw/foo2')

lease = c.lease(60)
c.put('gw/leased', 'v', lease=lease)
out['lease_keys'] = [k.decode() for k in lease.keys()]
ttl = lease.ttl()
out['lease_ttl_ok'] = 0 < ttl <= 60
out['lease_refresh'] = lease.refresh()
out['lease_revoke'] = lease.revoke()
out['leased_after_revoke'] = c.get('gw/leased')

events, cancel = c.watch('gw/w')
c.put('gw/w', '1')
c.put('gw/w', '2')
c.delete('gw/w')
seen = []
for _ in range(3):
    e = next(events)
    seen.append([e.get('type', 'PUT'), e['kv']['key'].decode(), e['kv'].get('value', b'').decode(), e['kv'].get('version', '0')])
cancel()
out['watch'] = seen

events, cancel = c.watch_prefix('gw/p/', prev_kv=True)
c.put('gw/p/a', 'A')
c.put('gw/p/a', 'B')
e1, e2 = next(events), next(events)
cancel()
out['watch_prefix'] = [e1['kv']['value'].decode(), e2['kv']['value'].decode(), 'prev_kv' in e1, e2.get('prev_kv', {}).get('value')]

l1 = c.lock('gw-lock', ttl=60)
l2 = c.lock('gw-lock', ttl=60)
out['lock1'] = l1.acquire()
out['lock2_while_held'] = l2.acquire()
out['held'] = [l1.is_acquired(), l2.is_acquired()]
out['release1'] = l1.release()
out['lock2_after'] = l2.acquire()
out['release2'] = l2.release()
with c.lock('gw-ctx', ttl=60) as l3:
    out['ctx_held'] = l3.is_acquired()
out['ctx_released'] = c.get(LOCK_PREFIX + 'gw-ctx')

out['members'] = len(c.members())
out['status_has_version'] = 'version' in c.status()
print(json.dumps(out, sort_keys=True))
`;

let dir: string;
let hasModule = false;
let etcd: ChildProcess | undefined;

before(async () => {
  const probe = await run(PYTHON, ['-c', 'import etcd3gw.client']);
  hasModule = probe.code === 0;
  if (!hasModule) return;
  dir = mkdtempSync(join(tmpdir(), 'quorum-gw-py-'));
  writeFileSync(join(dir, 'session.py'), SCRIPT);
  const u = (p: number) => `http://127.0.0.1:${p}`;
  const m = new Member('default', u(29130), u(29131), u(29132), join(dir, 'q'), [
    '--name', 'default', '--data-dir', join(dir, 'q'),
    '--listen-client-urls', u(29130), '--advertise-client-urls', u(29130),
    '--listen-peer-urls', u(29131), '--initial-advertise-peer-urls', u(29131), '--initial-cluster', `default=${u(29131)}`,
    '--listen-metrics-urls', u(29132),
  ], join(dir, 'quorumd.log'));
  m.start();
  etcd = spawn('/usr/bin/etcd', [
    '--name', 'default', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', u(29135), '--advertise-client-urls', u(29135),
    '--listen-peer-urls', u(29136), '--initial-advertise-peer-urls', u(29136), '--initial-cluster', `default=${u(29136)}`,
  ], { stdio: 'ignore' });
  for (const url of [u(29130), u(29135)]) {
    await waitFor(`${url} healthy`, async () => (await request(url, 'GET', '/health')).status === 200, 60_000);
  }
});

after(async () => {
  if (etcd && etcd.exitCode === null && etcd.signalCode === null && etcd.pid) {
    const gone = new Promise((r) => etcd!.once('exit', r));
    process.kill(etcd.pid, 'SIGKILL');
    await gone;
  }
  await stopAll();
});

test('python3-etcd3gw: put/get, txns, lease, watch and locks behave on quorumd as on etcd 3.4', { timeout: 120_000 }, async (t) => {
  if (!hasModule) {
    t.skip(`python3-etcd3gw is not installed for ${PYTHON} (Debian: apt-get install python3-etcd3gw)`);
    return;
  }
  const session = async (port: number) => {
    const r = await run(PYTHON, [join(dir, 'session.py'), String(port)], {}, 90_000);
    assert.equal(r.code, 0, `etcd3gw session on port ${port} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const q = await session(29130);
  assert.deepEqual(q.get, ['bar']);
  assert.equal(q.create_existing, false);
  assert.equal(q.create_new, true);
  assert.equal(q.replace_ok, true);
  assert.equal(q.replace_stale, false);
  assert.deepEqual(q.lease_keys, ['gw/leased']);
  assert.equal(q.lease_ttl_ok, true);
  assert.equal(q.lease_refresh, 60);
  assert.deepEqual(q.leased_after_revoke, []);
  assert.deepEqual(q.watch, [['PUT', 'gw/w', '1', '1'], ['PUT', 'gw/w', '2', '2'], ['DELETE', 'gw/w', '', '0']]);
  assert.deepEqual(q.watch_prefix, ['A', 'B', false, Buffer.from('A').toString('base64')]);
  assert.equal(q.lock1, true);
  assert.equal(q.lock2_while_held, false);
  assert.deepEqual(q.held, [true, false]);
  assert.equal(q.lock2_after, true);
  assert.equal(q.ctx_held, true);
  assert.deepEqual(q.ctx_released, []);
  assert.equal(q.members, 1);
  const e = await session(29135);
  assert.deepEqual(q, e, 'the same session against etcd 3.4');
});
