import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import {
  durationToDays, ensureCa, ensureCert, issueCert, PkiError, readCertInfo, reuseBlocker, type Ca,
} from '../../../toolkit/pki/index.js';

const DAY = 86400000;
let work: string;
let ca: Ca;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pki-test-'));
  ca = await ensureCa(join(work, 'ca'), { days: 100 });
});
after(() => rmSync(work, { recursive: true, force: true }));

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** `openssl verify` exit status and output. */
function opensslVerify(caPem: string, certPem: string, purpose?: string): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(work, 'v-'));
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'c.pem'), certPem);
  const args = ['verify', '-CAfile', join(dir, 'ca.pem'), ...(purpose ? ['-purpose', purpose] : []), join(dir, 'c.pem')];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

function forgeVerifies(caPem: string, certPem: string): boolean {
  const store = forge.pki.createCaStore([caPem]);
  try {
    return forge.pki.verifyCertificateChain(store, [forge.pki.certificateFromPem(certPem)]);
  } catch {
    return false;
  }
}

test('ensureCa creates ca.pem and a 0600 ca-key.pem once, then reuses them', async () => {
  const dir = join(work, 'ca');
  assert.equal(ca.created, true);
  assert.equal(mode(join(dir, 'ca-key.pem')), 0o600);
  assert.equal(mode(dir), 0o700);
  const info = readCertInfo(readFileSync(join(dir, 'ca.pem'), 'utf8'));
  assert.equal(info.isCa, true);
  assert.equal(info.cn, 'quorum CA');
  assert.equal(info.subject, info.issuer);
  assert.ok(Math.abs(info.notAfter.getTime() - info.notBefore.getTime() - (100 * DAY + 5 * 60000)) < 10000);
  const again = await ensureCa(dir, { days: 5 });
  assert.equal(again.created, false);
  assert.equal(readCertInfo(again.certPem).serial, info.serial);
  assert.equal(again.keyPem, ca.keyPem);
  assert.ok(opensslVerify(ca.certPem, ca.certPem).ok, 'CA verifies against itself');
});

test('server cert: chain verifies (forge and openssl), SANs hold name and IP, server+client auth', async () => {
  const c = await issueCert(ca, { name: 'server', cn: 'etcd-01', hosts: ['etcd-01', '10.0.0.1', '127.0.0.1', 'localhost', 'etcd-01'], profile: 'server' }, 30);
  assert.ok(forgeVerifies(ca.certPem, c.certPem));
  const v = opensslVerify(ca.certPem, c.certPem, 'sslserver');
  assert.ok(v.ok, v.out);
  assert.ok(opensslVerify(ca.certPem, c.certPem, 'sslclient').ok);
  const info = readCertInfo(c.certPem);
  assert.deepEqual(info.dnsNames, ['etcd-01', 'localhost']);
  assert.deepEqual(info.ips, ['10.0.0.1', '127.0.0.1']);
  assert.deepEqual(info.extKeyUsage, ['clientAuth', 'serverAuth']);
  assert.equal(info.cn, 'etcd-01');
  assert.equal(info.issuer, readCertInfo(ca.certPem).subject);
  assert.equal(info.isCa, false);
  assert.equal(info.serial, c.serial);
  // openssl agrees on the SANs and usages
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: c.certPem, encoding: 'utf8' });
  assert.match(text, /DNS:etcd-01, DNS:localhost, IP Address:10\.0\.0\.1, IP Address:127\.0\.0\.1/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(text, /Digital Signature, Key Encipherment/);
});

test('client cert has client auth only: openssl refuses it as a server', async () => {
  const c = await issueCert(ca, { name: 'client', cn: 'root', hosts: [], profile: 'client' }, 30);
  assert.deepEqual(readCertInfo(c.certPem).extKeyUsage, ['clientAuth']);
  assert.deepEqual(readCertInfo(c.certPem).ips, []);
  assert.ok(opensslVerify(ca.certPem, c.certPem, 'sslclient').ok);
  assert.equal(opensslVerify(ca.certPem, c.certPem, 'sslserver').ok, false);
  assert.ok(forgeVerifies(ca.certPem, c.certPem));
});

test('peer cert has server and client auth', async () => {
  const c = await issueCert(ca, { name: 'peer', cn: 'etcd-02', hosts: ['etcd-02', '10.0.0.2'], profile: 'peer' }, 30);
  assert.deepEqual(readCertInfo(c.certPem).extKeyUsage, ['clientAuth', 'serverAuth']);
  assert.ok(opensslVerify(ca.certPem, c.certPem, 'sslserver').ok);
  assert.ok(opensslVerify(ca.certPem, c.certPem, 'sslclient').ok);
});

test('expiry honours days and never outlives the CA', async () => {
  const c = await issueCert(ca, { name: 's', cn: 's', hosts: ['s'], profile: 'server' }, 7);
  const info = readCertInfo(c.certPem);
  assert.ok(Math.abs(info.notAfter.getTime() - info.notBefore.getTime() - (7 * DAY + 5 * 60000)) < 10000);
  assert.equal(c.notAfter.getTime(), info.notAfter.getTime());
  const long = await issueCert(ca, { name: 's', cn: 's', hosts: ['s'], profile: 'server' }, 1000);
  assert.ok(readCertInfo(long.certPem).notAfter.getTime() <= readCertInfo(ca.certPem).notAfter.getTime());
});

test('ensureCert writes NAME.pem / 0600 NAME-key.pem, reuses on re-run, reissues when SANs or profile change', async () => {
  const dir = join(work, 'leaf');
  const spec = { name: 'etcd-01-server', cn: 'etcd-01', hosts: ['etcd-01', '10.0.0.1'], profile: 'server' as const };
  const first = await ensureCert(dir, ca, spec, 30);
  assert.equal(first.changed, true);
  assert.equal(first.certPath, join(dir, 'etcd-01-server.pem'));
  assert.equal(mode(join(dir, 'etcd-01-server-key.pem')), 0o600);
  assert.equal(readFileSync(first.certPath, 'utf8'), first.certPem);

  const second = await ensureCert(dir, ca, { ...spec, hosts: ['10.0.0.1', 'etcd-01'] }, 30);
  assert.equal(second.changed, false, second.reason);
  assert.equal(second.serial, first.serial);
  assert.equal(second.keyPem, first.keyPem);

  const moved = await ensureCert(dir, ca, { ...spec, hosts: ['etcd-01', '10.0.0.9'] }, 30);
  assert.equal(moved.changed, true);
  assert.equal(moved.reason, 'SANs changed');
  assert.notEqual(moved.serial, first.serial);
  assert.deepEqual(readCertInfo(readFileSync(moved.certPath, 'utf8')).ips, ['10.0.0.9']);

  const asClient = await ensureCert(dir, ca, { ...spec, hosts: ['etcd-01', '10.0.0.9'], profile: 'client' }, 30);
  assert.equal(asClient.reason, 'profile changed');
  assert.deepEqual(readCertInfo(asClient.certPem).extKeyUsage, ['clientAuth']);
});

test('reuse stops when the cert nears its end or another CA is used', async () => {
  const dir = join(work, 'expiry');
  const spec = { name: 'short', cn: 'short', hosts: ['short'], profile: 'peer' as const };
  const c = await ensureCert(dir, ca, spec, 3);
  assert.equal(reuseBlocker(dir, ca, spec), undefined);
  // 3-day cert: renew inside the last third (min(30 days, lifetime/3) = 1 day).
  assert.equal(reuseBlocker(dir, ca, spec, c.notAfter.getTime() - 1.5 * DAY), undefined);
  assert.match(reuseBlocker(dir, ca, spec, c.notAfter.getTime() - 0.5 * DAY) ?? '', /^expires /);
  // A second CA: the existing cert is not signed by it.
  const other = await ensureCa(join(work, 'other-ca'), { cn: 'other' });
  assert.equal(reuseBlocker(dir, other, spec), 'signed by another CA');
  const re = await ensureCert(dir, other, spec, 3);
  assert.equal(re.changed, true);
  assert.ok(forgeVerifies(other.certPem, re.certPem));
  assert.equal(forgeVerifies(ca.certPem, re.certPem), false);
  assert.equal(opensslVerify(ca.certPem, re.certPem).ok, false);
});

test('cfssl csr.json and ca-config.json shapes', async () => {
  const dir = join(work, 'cfssl');
  mkdirSync(dir);
  writeFileSync(join(dir, 'csr.json'), JSON.stringify({
    CN: 'etcd-ca', key: { algo: 'rsa', size: 2048 },
    names: [{ C: 'DE', ST: 'Berlin', L: 'Berlin', O: 'quorum', OU: 'ops' }], ca: { expiry: '240h' },
  }));
  writeFileSync(join(dir, 'ca-config.json'), JSON.stringify({
    signing: {
      default: { expiry: '8760h' },
      profiles: { peer: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '48h' },
        client: { usages: ['signing', 'key encipherment', 'client auth'] } },
    },
  }));
  const c = await ensureCa(join(dir, 'pki'), { csrJsonPath: join(dir, 'csr.json'), caConfigPath: join(dir, 'ca-config.json'), days: 3650 });
  const info = readCertInfo(c.certPem);
  assert.equal(info.subject, 'C=DE,ST=Berlin,L=Berlin,O=quorum,OU=ops,CN=etcd-ca');
  assert.ok(Math.abs(info.notAfter.getTime() - info.notBefore.getTime() - (10 * DAY + 5 * 60000)) < 10000);
  const peer = await issueCert(c, { name: 'p', cn: 'p', hosts: ['p'], profile: 'peer' });
  const pi = readCertInfo(peer.certPem);
  assert.ok(Math.abs(pi.notAfter.getTime() - pi.notBefore.getTime() - (2 * DAY + 5 * 60000)) < 10000);
  const client = await issueCert(c, { name: 'c', cn: 'c', hosts: [], profile: 'client' });
  const ci = readCertInfo(client.certPem);
  // no profile expiry: the default (8760h) capped by the 10-day CA
  assert.equal(ci.notAfter.getTime(), info.notAfter.getTime());
  assert.deepEqual(ci.extKeyUsage, ['clientAuth']);
  assert.ok(opensslVerify(c.certPem, peer.certPem, 'sslserver').ok);

  writeFileSync(join(dir, 'ec.json'), JSON.stringify({ CN: 'x', key: { algo: 'ecdsa', size: 256 } }));
  await assert.rejects(ensureCa(join(dir, 'ec'), { csrJsonPath: join(dir, 'ec.json') }),
    (e: unknown) => e instanceof PkiError && /key\.algo "ecdsa" is not supported, only rsa/.test(e.message));
  assert.equal(durationToDays('43800h0m0s', 'x'), 43800 / 24);
  assert.throws(() => durationToDays('1y', 'x'), PkiError);
});

test('a half-present CA is refused; readCertInfo rejects garbage', async () => {
  const dir = join(work, 'half');
  mkdirSync(dir);
  copyFileSync(join(work, 'ca', 'ca.pem'), join(dir, 'ca.pem'));
  await assert.rejects(ensureCa(dir), (e: unknown) => e instanceof PkiError && /ca\.pem without ca-key\.pem/.test(e.message));
  assert.throws(() => readCertInfo('hello'), PkiError);
});

test('issued certs work for mutual TLS in Node (server cert by IP SAN, client cert required)', async () => {
  const tls = await import('node:tls');
  const server = await issueCert(ca, { name: 'server', cn: 'etcd-01', hosts: ['etcd-01', '127.0.0.1'], profile: 'server' }, 30);
  const client = await issueCert(ca, { name: 'client', cn: 'operator', hosts: [], profile: 'client' }, 30);
  const srv = tls.createServer({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (sock) => { sock.end(`hello ${(sock.getPeerCertificate() as { subject: { CN: string } }).subject.CN}`); });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
  const port = (srv.address() as { port: number }).port;
  const talk = (opts: object) => new Promise<string>((res, rej) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, ...opts }, () => undefined);
    let data = '';
    s.on('data', (d) => { data += String(d); });
    s.on('end', () => res(data));
    s.on('error', rej);
  });
  try {
    assert.equal(await talk({ key: client.keyPem, cert: client.certPem }), 'hello operator');
    // a client-profile cert cannot serve: openssl-equivalent check in Node would refuse it as server,
    // and a connection without a client cert is rejected by the server.
    await assert.rejects(talk({}));
  } finally {
    srv.close();
  }
});
