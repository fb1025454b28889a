/**
 * The JSON gateway and gRPC on one https client URL with client-cert-auth (a single quorumd on ports 29120-29122,
 * certificates made with openssl): HTTP/1.1 clients that negotiate ALPN "http/1.1" and clients that send no ALPN
 * at all (the first bytes decide) reach the gateway; etcdctl (gRPC, ALPN "h2") works on the same port and sees
 * the gateway's writes; a client without a certificate is refused; a keep-alive connection carries several
 * gateway requests.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Member, etcdctl, run, stopAll, waitFor } from './quorumd_harness.js';

const CLIENT = 'https://127.0.0.1:29120';
const PEER = 'https://127.0.0.1:29121';
let dir: string;
let member: Member;
let pem: { ca: Buffer; cert: Buffer; key: Buffer };
const ctlCerts = () => ['--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem')];

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args.map((a) => (a.startsWith('@') ? join(dir, a.slice(1)) : a)));
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quorum-gw-tls-'));
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '@ca-key.pem', '-out', '@ca.pem', '-days', '2', '-subj', '/CN=gw-test-ca']);
  for (const name of ['server', 'client']) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `@${name}-key.pem`, '-out', `@${name}.csr`, '-subj', `/CN=${name}`]);
    await openssl(['x509', '-req', '-in', `@${name}.csr`, '-CA', '@ca.pem', '-CAkey', '@ca-key.pem', '-CAcreateserial', '-out', `@${name}.pem`, '-days', '2', '-extfile', `@${name}.ext`]);
  }
  pem = { ca: readFileSync(join(dir, 'ca.pem')), cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client-key.pem')) };
  const s = (f: string) => join(dir, f);
  member = new Member('default', CLIENT, PEER, 'http://127.0.0.1:29122', s('data'), [
    '--name', 'default', '--data-dir', s('data'),
    '--listen-client-urls', CLIENT, '--advertise-client-urls', CLIENT,
    '--listen-peer-urls', PEER, '--initial-advertise-peer-urls', PEER, '--initial-cluster', `default=${PEER}`,
    '--listen-metrics-urls', 'http://127.0.0.1:29122',
    '--cert-file', s('server.pem'), '--key-file', s('server-key.pem'), '--trusted-ca-file', s('ca.pem'), '--client-cert-auth',
    '--peer-cert-file', s('server.pem'), '--peer-key-file', s('server-key.pem'), '--peer-trusted-ca-file', s('ca.pem'),
  ], s('quorumd.log'));
  member.start();
  await waitFor('quorumd over TLS', async () => (await etcdctl(['--endpoints', CLIENT, ...ctlCerts(), 'endpoint', 'health'])).code === 0, 60_000);
});

after(async () => {
  await stopAll();
});

interface Answer { status: number; body: string; alpn: string | false | null | undefined; socket: unknown }

function post(path: string, body: string, opts: { alpn?: string[]; cert?: boolean; agent?: https.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: 29120, method: 'POST', path, ca: pem.ca,
      ...(opts.cert === false ? {} : { cert: pem.cert, key: pem.key }),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
      agent: opts.agent ?? false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, alpn: (res.socket as import('node:tls').TLSSocket | null)?.alpnProtocol, socket: res.socket }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('HTTP/1.1 with ALPN http/1.1 and without ALPN, gRPC on the same port', { timeout: 60_000 }, async () => {
  const put = await post('/v3/kv/put', JSON.stringify({ key: b64('tls-gw'), value: b64('over-json') }), { alpn: ['http/1.1'] });
  assert.equal(put.status, 200, put.body);
  assert.equal(put.alpn, 'http/1.1');
  const get = await post('/v3/kv/range', JSON.stringify({ key: b64('tls-gw') }));
  assert.equal(get.status, 200, get.body);
  assert.equal(get.alpn, false, 'no ALPN offered: the first bytes decided');
  assert.equal(Buffer.from(JSON.parse(get.body).kvs[0].value, 'base64').toString(), 'over-json');
  const ctl = await etcdctl(['--endpoints', CLIENT, ...ctlCerts(), 'get', 'tls-gw', '--print-value-only']);
  assert.equal(ctl.stdout, 'over-json\n', ctl.stderr);
  assert.equal((await etcdctl(['--endpoints', CLIENT, ...ctlCerts(), 'put', 'tls-grpc', 'over-grpc'])).code, 0);
  const back = await post('/v3/kv/range', JSON.stringify({ key: b64('tls-grpc') }), { alpn: ['http/1.1'] });
  assert.equal(Buffer.from(JSON.parse(back.body).kvs[0].value, 'base64').toString(), 'over-grpc');
});

test('a keep-alive connection carries several gateway requests', { timeout: 60_000 }, async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  for (let i = 0; i < 3; i++) {
    const a = await post('/v3/kv/put', JSON.stringify({ key: b64(`ka${i}`), value: b64(String(i)) }), { agent });
    assert.equal(a.status, 200, a.body);
    sockets.add(a.socket);
  }
  assert.equal(sockets.size, 1, 'one connection for the three requests');
  agent.destroy();
  const r = await post('/v3/kv/range', JSON.stringify({ key: b64('ka'), range_end: b64('kb'), count_only: true }));
  assert.equal(JSON.parse(r.body).count, '3');
});

test('a client without a certificate is refused', { timeout: 30_000 }, async () => {
  await assert.rejects(post('/v3/kv/range', JSON.stringify({ key: b64('x') }), { cert: false }));
});
