/**
 * quorumd certificate hot reload (store/server/tls_reload.ts) on a 3-member loopback cluster (ports
 * 27100-27108), each member with its own server, peer and CA files: under a writer on one long-lived
 * connection, a member's leaf certificates are replaced (it presents the new serials on both ports without
 * a restart), then the CA is rotated in the three phases (bundle, switch leaves, drop the old CA); the
 * writer never fails, every acknowledged write reads back, a new client needs the new CA, an old-CA client
 * certificate is refused at the end, and a restarted member (made the leader first, so its stop hands
 * leadership over under the writer) rejoins over peer connections dialed with the new certificates.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { type Ca, ensureCa, issueCert, joinPemBundle } from '../../toolkit/pki/index.js';
import { handshakeAccepted, presentedSerial, pollUntil } from '../../playbooks/rotate-certs/remote.js';
import { Member, stopAll, waitFor } from './quorumd_harness.js';

const BASE_PORT = 27100;
const base = mkdtempSync(join(tmpdir(), 'quorumd-reload-'));
const names = ['r1', 'r2', 'r3'];
const clientPort = (i: number) => BASE_PORT + 3 * i;
const peerPort = (i: number) => BASE_PORT + 3 * i + 1;
let members: Member[] = [];
let ca1: Ca;
let ca2: Ca;
let client: { cert: string; key: string };

/** Writes `content` to `dir/name` via temp + rename (as the rotation tool does on the hosts). */
function put(dir: string, name: string, content: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), content);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}
const pkiDir = (i: number) => join(base, names[i]!, 'pki');

async function installLeaves(i: number, ca: Ca): Promise<{ server: string; peer: string }> {
  const hosts = ['127.0.0.1', 'localhost'];
  const server = await issueCert(ca, { name: 's', cn: names[i]!, hosts, profile: 'server' }, 1);
  const peer = await issueCert(ca, { name: 'p', cn: names[i]!, hosts, profile: 'peer' }, 1);
  put(pkiDir(i), 'server-key.pem', server.keyPem);
  put(pkiDir(i), 'server.pem', server.certPem);
  put(pkiDir(i), 'peer-key.pem', peer.keyPem);
  put(pkiDir(i), 'peer.pem', peer.certPem);
  return { server: server.serial, peer: peer.serial };
}

async function clientCert(ca: Ca): Promise<{ cert: string; key: string }> {
  const c = await issueCert(ca, { name: 'client', cn: 'client', hosts: [], profile: 'client' }, 1);
  return { cert: c.certPem, key: c.keyPem };
}

before(async () => {
  ca1 = await ensureCa(join(base, 'ca1'), { days: 2 });
  ca2 = await ensureCa(join(base, 'ca2'), { days: 2, cn: 'quorum CA 2' });
  client = await clientCert(ca1);
  const peerUrl = (i: number) => `https://127.0.0.1:${peerPort(i)}`;
  const initial = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  members = names.map((name, i) => {
    mkdirSync(pkiDir(i), { recursive: true });
    const p = pkiDir(i);
    const url = `https://127.0.0.1:${clientPort(i)}`;
    return new Member(name, url, peerUrl(i), `http://127.0.0.1:${BASE_PORT + 3 * i + 2}`, join(base, name, 'data'), [
      '--name', name, '--data-dir', join(base, name, 'data'),
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'reload-test',
      '--listen-metrics-urls', `http://127.0.0.1:${BASE_PORT + 3 * i + 2}`,
      '--cert-file', join(p, 'server.pem'), '--key-file', join(p, 'server-key.pem'), '--trusted-ca-file', join(p, 'ca.pem'), '--client-cert-auth',
      '--peer-cert-file', join(p, 'peer.pem'), '--peer-key-file', join(p, 'peer-key.pem'), '--peer-trusted-ca-file', join(p, 'ca.pem'), '--peer-client-cert-auth',
    ], join(base, `${name}.log`));
  });
  for (let i = 0; i < 3; i++) {
    put(pkiDir(i), 'ca.pem', ca1.certPem);
    await installLeaves(i, ca1);
  }
  for (const m of members) m.start();
  await waitFor('a healthy cluster', async () => {
    const c = new StoreClient(members[0]!.clientUrl, { ca: Buffer.from(ca1.certPem), cert: Buffer.from(client.cert), key: Buffer.from(client.key) }, { timeoutMs: 2000 });
    try {
      await c.put('ready', 'yes');
      return true;
    } catch {
      return false;
    } finally {
      c.close();
    }
  }, 60_000, 500);
});

/** The writer's loop condition (module-level so a failed assertion cannot leave it running after the test). */
let writing = false;

after(async () => {
  writing = false;
  await stopAll();
});

test('leaf and CA rotation with hot reload: no failed request, no lost write, no restart', { timeout: 240_000 }, async () => {
  const longLived = new StoreClient(members[0]!.clientUrl, { ca: Buffer.from(joinPemBundle([ca1.certPem, ca2.certPem])), cert: Buffer.from(client.cert), key: Buffer.from(client.key) }, { timeoutMs: 10_000 });
  const acked: string[] = [];
  const failures: string[] = [];
  writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n++) {
      const key = `w/${String(n).padStart(6, '0')}`;
      try {
        await longLived.put(key, String(n));
        acked.push(key);
      } catch (e) {
        failures.push(`${new Date().toISOString()} ${key}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const pids = members.map((m) => m.proc!.pid);
  const tlsWith = (ca: string, c: { cert: string; key: string }) => ({ ca, cert: c.cert, key: c.key });
  const presents = async (i: number, want: { server: string; peer: string }, ca: string) => pollUntil(async () => {
    try {
      const t = tlsWith(ca, client);
      return (await presentedSerial('127.0.0.1', clientPort(i), t)) === want.server && (await presentedSerial('127.0.0.1', peerPort(i), t)) === want.peer;
    } catch {
      return false;
    }
  }, 30_000, 300);

  // leaf rotation of r2: key then cert renamed into place, picked up without a restart
  const before = await presentedSerial('127.0.0.1', clientPort(1), tlsWith(ca1.certPem, client));
  const rotated = await installLeaves(1, ca1);
  assert.notEqual(rotated.server, before);
  assert.ok(await presents(1, rotated, ca1.certPem), 'r2 presents the new serials on both ports');

  // CA rotation phase 1: every member trusts CA1 + CA2
  const bundle = joinPemBundle([ca1.certPem, ca2.certPem]);
  const probe2 = await clientCert(ca2);
  for (let i = 0; i < 3; i++) {
    put(pkiDir(i), 'ca.pem', bundle);
    assert.ok(await pollUntil(async () => (await handshakeAccepted('127.0.0.1', clientPort(i), tlsWith(ca1.certPem, probe2)))
      && (await handshakeAccepted('127.0.0.1', peerPort(i), tlsWith(ca1.certPem, probe2))), 30_000, 300), `${names[i]} trusts CA2`);
  }
  // phase 2: every leaf and the client certificate signed by CA2
  client = probe2;
  for (let i = 0; i < 3; i++) assert.ok(await presents(i, await installLeaves(i, ca2), bundle), `${names[i]} presents CA2 leaves`);
  // phase 3: drop CA1
  const probe1 = await clientCert(ca1);
  for (let i = 0; i < 3; i++) {
    put(pkiDir(i), 'ca.pem', ca2.certPem);
    assert.ok(await pollUntil(async () => !(await handshakeAccepted('127.0.0.1', clientPort(i), tlsWith(ca2.certPem, probe1)))
      && !(await handshakeAccepted('127.0.0.1', peerPort(i), tlsWith(ca2.certPem, probe1))), 30_000, 300), `${names[i]} refuses CA1 clients`);
  }
  assert.deepEqual(members.map((m) => m.proc!.pid), pids, 'no member restarted');

  // a member restarted now must rejoin: its peers dial it with their reloaded (CA2) peer certificates. r3 is
  // made the leader first, so the restart also covers a leader stopping under a writer on another member: it
  // hands leadership over (leader_handoff.ts) and no request forwarded to it is lost.
  const status = async (i: number) => {
    const c = new StoreClient(members[i]!.clientUrl, { ca: Buffer.from(ca2.certPem), cert: Buffer.from(client.cert), key: Buffer.from(client.key) }, { timeoutMs: 3000 });
    try {
      return await c.status();
    } finally {
      c.close();
    }
  };
  const r3Id = (await status(2)).memberId;
  await waitFor('r3 leads', async () => {
    const lead = (await status(2)).leader;
    if (lead === r3Id) return true;
    const i = (await Promise.all([0, 1].map(async (j) => (await status(j)).memberId))).indexOf(lead);
    if (i < 0) return false;
    const c = new StoreClient(members[i]!.clientUrl, { ca: Buffer.from(ca2.certPem), cert: Buffer.from(client.cert), key: Buffer.from(client.key) }, { timeoutMs: 10_000 });
    try {
      await c.unary('Maintenance', 'MoveLeader', { targetID: r3Id.toString() });
    } finally {
      c.close();
    }
    return false;
  }, 30_000, 300);
  await new Promise((r) => setTimeout(r, 500)); // the writer's requests flow through the new leader
  await members[2]!.kill('SIGTERM');
  members[2]!.start();
  const fresh = new StoreClient(members[2]!.clientUrl, { ca: Buffer.from(ca2.certPem), cert: Buffer.from(client.cert), key: Buffer.from(client.key) }, { timeoutMs: 3000 });
  await waitFor('r3 rejoins and serves a linearizable read', async () => {
    try {
      await fresh.put('after-restart', 'ok');
      const v = await fresh.get('after-restart');
      return v !== undefined && Buffer.from(v).toString() === 'ok';
    } catch {
      return false;
    }
  }, 60_000, 500);
  writing = false;
  await writer;
  assert.deepEqual(failures, [], 'no failed request on the long-lived connection');
  assert.ok(acked.length > 10, `the writer made progress (${acked.length} writes)`);
  const all = await fresh.range('w/', { rangeEnd: Buffer.from('w0') });
  const got = new Set(all.kvs.map((kv) => kv.key.toString()));
  assert.deepEqual(acked.filter((k) => !got.has(k)), [], 'every acknowledged write reads back');
  fresh.close();
  longLived.close();
});
