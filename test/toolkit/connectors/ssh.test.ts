import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { SshConnector } from '../../../toolkit/connectors/index.js';

/** A throwaway RSA private key file, PKCS#1 PEM (removed at exit). */
const keyDir = mkdtempSync(path.join(tmpdir(), 'quorum-ssh-'));
process.on('exit', () => rmSync(keyDir, { recursive: true, force: true }));
const KEY = path.join(keyDir, 'id_rsa');
const pair = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
writeFileSync(KEY, pair.privateKey, { mode: 0o600 });

/** A loopback port with nothing listening: bind, read the port, close. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('SshConnector: a refused connection is one clear line with host, address and port', async () => {
  const port = await freePort();
  const c = new SshConnector({ name: 'etcd-02', address: '127.0.0.1', port, user: 'root', privateKey: KEY, connectTimeoutMs: 5000 });
  await assert.rejects(c.connect(), (e: Error) => {
    assert.equal(e.message, `etcd-02 (127.0.0.1): SSH connection refused on port ${port}`);
    return true;
  });
});

test('SshConnector: a missing key file names the key', async () => {
  const c = new SshConnector({ name: 'etcd-01', address: '127.0.0.1', port: 22, user: 'root', privateKey: '/nonexistent/id_ed25519', connectTimeoutMs: 5000 });
  await assert.rejects(c.connect(), /^ConnectorError: etcd-01 \(127\.0\.0\.1\): SSH private key not found \(key \/nonexistent\/id_ed25519\)$/);
});

test('SshConnector: a server that never speaks SSH times out with the timeout in the message', async (t) => {
  const srv = createServer(() => { /* accept and stay silent */ });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.after(() => { srv.close(); });
  const port = (srv.address() as { port: number }).port;
  const c = new SshConnector({ name: 'etcd-03', address: '127.0.0.1', port, user: 'root', privateKey: KEY, connectTimeoutMs: 300 });
  await assert.rejects(c.connect(), /etcd-03 \(127\.0\.0\.1\): SSH connection timed out after 300 ms/);
});
