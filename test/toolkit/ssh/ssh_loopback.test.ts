import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SshConnector, type SshTarget } from '../../../toolkit/connectors/ssh.js';
import { KnownHosts, fingerprintOf } from '../../../toolkit/connectors/known_hosts.js';
import { HostKeyCheck, SshLimiter, jumpPoolSize } from '../../../toolkit/connectors/ssh_jump.js';
import { type TestServer, newKey, publicBlob, scratch, startServer } from './server.js';

// Ports from this suite's range (35000-35999).
const P_TARGET = 35101;
const P_BASTION = 35102;
const P_OTHER = 35103;

const dir = scratch();
const client = newKey();
const keyFile = path.join(dir, 'id_ed25519');
writeFileSync(keyFile, client.private, { mode: 0o600 });
const targetHost = newKey();
const bastionHost = newKey();
const otherHost = newKey();
const servers: TestServer[] = [];
after(async () => { await Promise.all(servers.map((s) => s.close())); });

const target = await startServer({ port: P_TARGET, hostKey: targetHost, user: 'deploy', clientKey: client, sudoPassword: 's3cret pass', name: 'target' });
const bastion = await startServer({ port: P_BASTION, hostKey: bastionHost, user: 'jump', clientKey: client, name: 'bastion' });
const other = await startServer({ port: P_OTHER, hostKey: otherHost, user: 'deploy', clientKey: client, sudoNoPassword: true, name: 'other' });
servers.push(target, bastion, other);

let n = 0;
function knownHostsFile(lines: string[] = []): string {
  const f = path.join(dir, `known_hosts.${++n}`);
  writeFileSync(f, lines.map((l) => `${l}\n`).join(''));
  return f;
}
const line = (port: number, pub: string) => `[127.0.0.1]:${port} ${pub.trim().split(/\s+/).slice(0, 2).join(' ')}`;

function conn(extra: Partial<SshTarget> & { port?: number } = {}): SshConnector {
  return new SshConnector({ name: 'etcd-01', address: '127.0.0.1', port: P_TARGET, user: 'deploy', privateKey: keyFile, connectTimeoutMs: 10_000, ...extra });
}

test('host keys: an unknown key is refused with its fingerprint and the way to accept it', async () => {
  const file = knownHostsFile();
  const c = conn({ hostKeys: new HostKeyCheck(file) });
  await assert.rejects(c.connect(), (e: Error & { remedy?: string }) => {
    assert.equal(e.message, `etcd-01 (127.0.0.1): host key of [127.0.0.1]:${P_TARGET} is not in ${file} (presented ssh-ed25519 ${fingerprintOf(publicBlob(targetHost.public))})`);
    assert.match(e.remedy!, /--accept-new-host-keys/);
    return true;
  });
  assert.equal(readFileSync(file, 'utf8'), '', 'nothing recorded');
});

test('host keys: --accept-new-host-keys records the key (non-default port form); the next run matches without it', async () => {
  const file = knownHostsFile();
  const c = conn({ hostKeys: new HostKeyCheck(file, true) });
  assert.equal((await c.run('echo $SERVER_NAME')).stdout, 'target\n');
  await c.close();
  assert.equal(readFileSync(file, 'utf8'), `${line(P_TARGET, targetHost.public)}\n`);
  const again = conn({ hostKeys: new HostKeyCheck(file) });
  assert.equal((await again.run('echo ok')).stdout, 'ok\n');
  await again.close();
});

test('host keys: hashed entries match (and hashed recording works)', async () => {
  const file = knownHostsFile(['# comment', 'otherhost ssh-ed25519 AAAA']);
  const kh = await KnownHosts.load(file);
  await kh.add('127.0.0.1', P_TARGET, publicBlob(targetHost.public), true);
  assert.match(readFileSync(file, 'utf8'), /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /m);
  assert.doesNotMatch(readFileSync(file, 'utf8'), /127\.0\.0\.1/);
  const c = conn({ hostKeys: new HostKeyCheck(file) });
  assert.equal((await c.run('echo ok')).stdout, 'ok\n');
  await c.close();
});

test('host keys: a CHANGED key is refused, even with --accept-new-host-keys, naming host, both fingerprints and the fix', async () => {
  const old = newKey();
  const file = knownHostsFile([line(P_TARGET, old.public)]);
  const c = conn({ hostKeys: new HostKeyCheck(file, true) });
  await assert.rejects(c.connect(), (e: Error & { remedy?: string }) => {
    assert.equal(e.message, `etcd-01 (127.0.0.1): HOST KEY CHANGED for [127.0.0.1]:${P_TARGET}: presented ssh-ed25519 `
      + `${fingerprintOf(publicBlob(targetHost.public))}, expected ssh-ed25519 ${fingerprintOf(publicBlob(old.public))} (${file} line 1); `
      + 'refusing to connect (possible man-in-the-middle)');
    assert.equal(e.remedy, `if the host was really reinstalled, verify the new fingerprint out of band and remove the old entry: ssh-keygen -f ${file} -R '[127.0.0.1]:${P_TARGET}'`);
    return true;
  });
  assert.equal(readFileSync(file, 'utf8'), `${line(P_TARGET, old.public)}\n`, 'the file is untouched');
});

test('host keys: an @revoked key is refused', async () => {
  const file = knownHostsFile([`@revoked * ${targetHost.public.trim().split(/\s+/).slice(0, 2).join(' ')}`]);
  await assert.rejects(conn({ hostKeys: new HostKeyCheck(file, true) }).connect(), /marked @revoked/);
});

test('sudo: a password is asked once, fed to sudo -S on stdin, never on a command line', async () => {
  target.commands.length = 0;
  let asked = 0;
  const c = conn({ sudoPassword: async () => { asked++; return 's3cret pass'; } });
  const r1 = await c.run('id -u >/dev/null; echo root-ish $FAKE_SUDO_USED', { sudo: true });
  assert.deepEqual(r1, { code: 0, stdout: 'root-ish 1\n', stderr: '' });
  const r2 = await c.run('cat', { sudo: true, stdin: 'payload\n' });
  assert.equal(r2.stdout, 'payload\n', 'the command gets its own stdin after the password line');
  const r3 = await c.run('cat', { sudo: true, stdin: Buffer.from([0, 1, 2]) });
  assert.deepEqual(Buffer.from(r3.stdout, 'latin1'), Buffer.from([0, 1, 2]));
  assert.equal((await c.run('echo plain $FAKE_SUDO_USED')).stdout, 'plain\n', 'no sudo when not asked');
  assert.equal(asked, 1);
  assert.ok(target.commands.every((cmd) => !cmd.includes('s3cret')), target.commands.join('\n'));
  assert.ok(target.commands.some((cmd) => cmd.startsWith("sudo -k -S -p '' /bin/sh -c")));
  await c.close();
});

test('sudo: a wrong password is one clear error that does not contain it', async () => {
  const c = conn({ sudoPassword: async () => 'wrong-horse' });
  await assert.rejects(c.run('true', { sudo: true }), (e: Error) => {
    assert.equal(e.message, 'etcd-01 (127.0.0.1): sudo rejected the password of deploy');
    assert.ok(!e.message.includes('wrong-horse'));
    return true;
  });
  await c.close();
});

test('sudo: passwordless sudo never asks for the password', async () => {
  let asked = 0;
  const c = conn({ port: P_OTHER, sudoPassword: async () => { asked++; return 'x'; } });
  assert.equal((await c.run('echo $FAKE_SUDO_USED', { sudo: true })).stdout, '1\n');
  assert.equal(asked, 0);
  assert.ok(other.commands.includes("sudo -n /bin/sh -c 'echo $FAKE_SUDO_USED'"));
  await c.close();
});

test('jump host: two targets through one pinned bastion connection; the bastion closes with the last', async () => {
  const file = knownHostsFile([line(P_BASTION, bastionHost.public), line(P_TARGET, targetHost.public), line(P_OTHER, otherHost.public)]);
  const hk = new HostKeyCheck(file);
  const jump = { address: '127.0.0.1', port: P_BASTION, user: 'jump', privateKey: keyFile };
  const before = bastion.connections;
  const a = conn({ jump, hostKeys: hk });
  const b = conn({ name: 'etcd-02', port: P_OTHER, jump, hostKeys: hk });
  const [ra, rb] = await Promise.all([a.run('echo $SERVER_NAME'), b.run('echo $SERVER_NAME')]);
  assert.equal(ra.stdout, 'target\n');
  assert.equal(rb.stdout, 'other\n');
  assert.equal(bastion.connections - before, 1, 'one shared bastion connection');
  assert.deepEqual(bastion.forwards.slice(-2).sort(), [`127.0.0.1:${P_TARGET}`, `127.0.0.1:${P_OTHER}`]);
  assert.equal(bastion.commands.length, 0, 'nothing runs on the bastion');
  assert.equal((await a.run('echo again')).stdout, 'again\n', 'connection reused');
  assert.equal(jumpPoolSize(), 1);
  await a.close();
  assert.equal(jumpPoolSize(), 1);
  await b.close();
  assert.equal(jumpPoolSize(), 0);
});

test('jump host: a changed bastion key is refused naming the bastion; a changed target key behind it too', async () => {
  const wrong = newKey();
  const jump = { address: '127.0.0.1', port: P_BASTION, user: 'jump', privateKey: keyFile };
  const f1 = knownHostsFile([line(P_BASTION, wrong.public), line(P_TARGET, targetHost.public)]);
  await assert.rejects(conn({ jump, hostKeys: new HostKeyCheck(f1, true) }).connect(),
    /^Error: bastion jump@\[127\.0\.0\.1\]:35102: HOST KEY CHANGED|bastion jump@\[127\.0\.0\.1\]:35102: HOST KEY CHANGED/);
  const f2 = knownHostsFile([line(P_BASTION, bastionHost.public), line(P_TARGET, wrong.public)]);
  const c = conn({ jump, hostKeys: new HostKeyCheck(f2) });
  await assert.rejects(c.connect(), /etcd-01 \(127\.0\.0\.1\): HOST KEY CHANGED for \[127\.0\.0\.1\]:35101/);
  await c.close();
  assert.equal(jumpPoolSize(), 0);
});

test('forks: a limiter of 2 bounds parallel commands across 4 connectors', async () => {
  const limiter = new SshLimiter(2);
  const cs = [1, 2, 3, 4].map((i) => conn({ name: `etcd-0${i}`, limiter }));
  const rs = await Promise.all(cs.map((c) => c.run('sleep 0.2; echo done')));
  assert.ok(rs.every((r) => r.stdout === 'done\n'));
  assert.ok(limiter.peak <= 2 && limiter.peak >= 1, `peak ${limiter.peak}`);
  await Promise.all(cs.map((c) => c.close()));
  assert.throws(() => new SshLimiter(0), /--forks must be a positive integer/);
});

test('agent: keys from SSH_AUTH_SOCK when no key file is given', { skip: spawnSync('which', ['ssh-agent']).status !== 0 }, async () => {
  const sock = path.join(dir, 'agent.sock');
  const agent = spawnSync('ssh-agent', ['-a', sock, '-s'], { encoding: 'utf8' });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1]);
  assert.ok(pid > 0, agent.stderr);
  try {
    const add = spawnSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = sock;
    try {
      const c = new SshConnector({ name: 'etcd-01', address: '127.0.0.1', port: P_TARGET, user: 'deploy', connectTimeoutMs: 10_000 });
      assert.equal((await c.run('echo agent')).stdout, 'agent\n');
      await c.close();
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK; else process.env.SSH_AUTH_SOCK = saved;
    }
  } finally {
    process.kill(pid);
  }
});
