import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalConnector, shq } from '../../../toolkit/connectors/index.js';

test('LocalConnector: run, stdin, rooted atomic putFile and getFile', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'quorum-conn-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const c = new LocalConnector({ host: 'h', root });
  const r = await c.run('cat; echo "root=$QUORUM_ROOT"; exit 4', { stdin: 'in\n' });
  assert.deepEqual(r, { code: 4, stdout: `in\nroot=${root}\n`, stderr: '' });
  await c.run(`mkdir -p ${shq(root)}/etc`);
  await c.putFile('/etc/secret', Buffer.from('s3cret'), { mode: 0o600 });
  assert.equal(statSync(path.join(root, 'etc/secret')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(path.join(root, 'etc')), ['secret'], 'no temp file left behind');
  assert.equal((await c.getFile('/etc/secret'))?.toString(), 's3cret');
  assert.equal(await c.getFile('/etc/none'), undefined);
  await assert.rejects(c.putFile('/nodir/x', Buffer.from('x'), { mode: 0o644 }), /^ConnectorError: h: cannot write \/nodir\/x/);
});

test('shq quotes for sh', () => {
  assert.equal(shq('/var/lib/etcd'), '/var/lib/etcd');
  assert.equal(shq("it's"), `'it'\\''s'`);
});
