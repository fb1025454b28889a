/**
 * A 3-member quorumd cluster with https client and peer URLs, client-cert-auth and peer-client-cert-auth
 * (certificates made with openssl in the test), driven by etcdctl 3.4 with --cacert/--cert/--key, quorumctl
 * (ETCDCTL_* variables), the etcd3 npm client and StoreClient.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import * as grpc from '@grpc/grpc-js';
import { StoreClient } from '../../store/client/client.js';
import { raftPackage } from '../../store/proto/load.js';
import { etcdctl, makeCluster, quorumctl, run, stopAll, waitFor, type Member, type TlsPaths } from './quorumd_harness.js';

let members: Member[];
let tls: TlsPaths;
const eps = () => members.map((m) => m.clientUrl).join(',');
const certArgs = () => ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey];

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('openssl', args.map((a) => (a.startsWith('@') ? join(cwd, a.slice(1)) : a)));
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

async function makeCerts(): Promise<TlsPaths> {
  const d = mkdtempSync(join(tmpdir(), 'quorumd-pki-'));
  writeFileSync(join(d, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  writeFileSync(join(d, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '@ca-key.pem', '-out', '@ca.pem', '-days', '2', '-subj', '/CN=quorum-test-ca'], d);
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']]) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `@${name}-key.pem`, '-out', `@${name}.csr`, '-subj', `/CN=${name}`], d);
    await openssl(['x509', '-req', '-in', `@${name}.csr`, '-CA', '@ca.pem', '-CAkey', '@ca-key.pem', '-CAcreateserial', '-out', `@${name}.pem`, '-days', '2', '-extfile', `@${ext}`], d);
  }
  return { ca: join(d, 'ca.pem'), cert: join(d, 'server.pem'), key: join(d, 'server-key.pem'), clientCert: join(d, 'client.pem'), clientKey: join(d, 'client-key.pem') };
}

before(async () => {
  tls = await makeCerts();
  members = await makeCluster(3, { tls });
  for (const m of members) m.start();
  await waitFor('a healthy TLS cluster', async () => (await etcdctl(['--endpoints', eps(), ...certArgs(), 'endpoint', 'health'])).code === 0, 60_000);
});

after(async () => {
  await stopAll();
});

test('etcdctl over mutual TLS: health --cluster, put/get across members, member list, status table', { timeout: 90_000 }, async () => {
  const h = await waitFor('health --cluster', async () => {
    const x = await etcdctl(['--endpoints', members[0].clientUrl, ...certArgs(), 'endpoint', 'health', '--cluster']);
    return x.code === 0 && x.stderr.split('\n').filter((l) => l.includes('is healthy')).length === 3 ? x : undefined;
  });
  for (const m of members) assert.match(h.stderr, new RegExp(`${m.clientUrl} is healthy`));
  assert.equal((await etcdctl(['--endpoints', members[0].clientUrl, ...certArgs(), 'put', 'tls-key', 'secret-value'])).stdout, 'OK\n');
  assert.equal((await etcdctl(['--endpoints', members[2].clientUrl, ...certArgs(), 'get', 'tls-key', '--print-value-only'])).stdout, 'secret-value\n');
  const ml = await etcdctl(['--endpoints', members[1].clientUrl, ...certArgs(), 'member', 'list']);
  assert.equal(ml.stdout.trim().split('\n').length, 3);
  for (const m of members) assert.ok(ml.stdout.includes(`, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}, false`), ml.stdout);
  const st = await etcdctl(['--endpoints', eps(), ...certArgs(), 'endpoint', 'status', '-w', 'table']);
  assert.equal(st.code, 0, st.stderr);
  const rows = st.stdout.split('\n').filter((l) => l.startsWith('| https://'));
  assert.equal(rows.length, 3);
  assert.equal(rows.filter((l) => l.split('|')[5].trim() === 'true').length, 1);
});

test('a client without a certificate is refused (client-cert-auth)', { timeout: 30_000 }, async () => {
  const r = await etcdctl(['--endpoints', members[0].clientUrl, '--cacert', tls.ca, '--dial-timeout', '2s', '--command-timeout', '3s', 'get', 'tls-key']);
  assert.notEqual(r.code, 0);
  const c = new StoreClient(members[0].clientUrl, { ca: readFileSync(tls.ca) }, { timeoutMs: 3000 });
  await assert.rejects(c.get('tls-key'));
  c.close();
});

test('quorumctl with ETCDCTL_* variables; StoreClient and etcd3 over TLS', { timeout: 60_000 }, async () => {
  const env = { ETCDCTL_ENDPOINTS: eps(), ETCDCTL_CACERT: tls.ca, ETCDCTL_CERT: tls.clientCert, ETCDCTL_KEY: tls.clientKey };
  const q = await quorumctl(['endpoint', 'health'], env);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stderr.split('\n').filter((l) => l.includes('is healthy: successfully committed proposal')).length, 3);
  const g = await quorumctl(['get', 'tls-key', '--print-value-only'], env);
  assert.equal(g.stdout, 'secret-value\n');

  const creds = { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) };
  const c = new StoreClient(members[1].clientUrl, creds);
  const put = await c.put('store-client', 'ok');
  assert.ok(put.revision > 1);
  const s = await c.status();
  assert.equal(s.version, '3.4.0');
  assert.ok(s.leader > 0n);
  assert.equal((await c.memberList()).length, 3);
  c.close();

  const e = new Etcd3({ hosts: members[2].clientUrl, credentials: { rootCertificate: creds.ca, certChain: creds.cert, privateKey: creds.key } });
  try {
    assert.equal(await e.get('store-client').string(), 'ok');
    await e.put('etcd3-tls').value('yes');
    await e.delete().key('store-client');
    assert.equal(await e.get('store-client').string(), null);
  } finally {
    e.close();
  }
});

test('the peer port requires a client certificate (peer-client-cert-auth)', { timeout: 30_000 }, async () => {
  const Transport = raftPackage().Transport as grpc.ServiceClientConstructor;
  const target = new URL(members[0].peerUrl).host;
  const ask = (creds: grpc.ChannelCredentials) =>
    new Promise<{ name: string; client_urls: string[] }>((resolve, reject) => {
      const c = new Transport(target, creds);
      (c as unknown as { MemberInfo: Function }).MemberInfo({}, { deadline: Date.now() + 3000 }, (err: Error | null, res: { name: string; client_urls: string[] }) => {
        c.close();
        if (err) reject(err);
        else resolve(res);
      });
    });
  const ca = readFileSync(tls.ca);
  const info = await ask(grpc.credentials.createSsl(ca, readFileSync(tls.key), readFileSync(tls.cert)));
  assert.equal(info.name, members[0].name);
  assert.deepEqual(info.client_urls, [members[0].clientUrl]);
  await assert.rejects(ask(grpc.credentials.createSsl(ca)));
});
