/**
 * End to end on the lab (issue 9, "real SSH"): a 3-member cluster provisioned through a non-root login user
 * whose sudo asks for a password (`--sudo-password-file`), reached on a non-default sshd port (38022) only
 * through a bastion (etcd-01 on port 22; a lab nftables fence drops direct connections from this machine
 * to port 38022 on every host), with host keys pinned in a known_hosts file written by the test from
 * `ssh-keyscan` run on the bastion, and `--forks 2`.
 *   1. a host whose key is not pinned is refused (naming it and --accept-new-host-keys); nothing changed;
 *   2. with --accept-new-host-keys its key is recorded and the cluster comes up healthy (`quorum status`);
 *   3. a host whose key changed (all host keys regenerated, sshd restarted) refuses the next provision with
 *      a message naming the host, even with --accept-new-host-keys, and nothing changes on any host although
 *      the inventory asks for a new log level;
 *   4. with the old entry removed and the new key pinned, the change is applied and the cluster is healthy;
 *   5. `quorum backup`, `quorum certs check` and `quorum runbook doctor` work through the same path and options.
 * Needs root (the lab). Minutes; generous timeouts, no timing assertions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateQuorumTree } from '../helpers/private-tree.js';
import { eventually, run, type RunResult } from '../helpers/proc.js';
import { labInventoryYaml, must, ssh } from '../helpers/lab-e2e.js';

const root = new URL('../../../', import.meta.url).pathname;
const user = 'qops';
const userKey = `/var/lib/quorum-lab/ssh/${user}_ed25519`;
const port = 38022;
const hosts = [1, 2, 3].map((i) => ({ name: `etcd-0${i}`, address: `10.88.0.1${i}` }));
const bastion = hosts[0]!;
const work = mkdtempSync(join(tmpdir(), 'quorum-ssh-real-'));
const knownHosts = join(work, 'known_hosts');
const passwordFile = join(work, 'sudo-password');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
let quorum = join(root, 'bin', 'quorum.js');
let quorumEnv: NodeJS.ProcessEnv = process.env;

function q(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return run(process.execPath, [quorum, ...args], { cwd: root, env: quorumEnv, timeoutMs });
}
/** Root on a lab host over port 22 (the lab's own access path; host keys not checked). */
function rootSsh(address: string, cmd: string): Promise<RunResult> {
  return ssh(address, cmd, 120_000);
}
/** The inventory: the login user, its key, port 38022 through the bastion, pinned keys, sudo password prompt. */
function inventory(logLevel: string): string {
  const file = join(work, `lab-${logLevel}.yaml`);
  writeFileSync(file, labInventoryYaml({
    hosts, release: join(work, 'release', `quorum-${version}-linux-x64.tar.gz`), pki: join(work, 'pki'), logLevel,
    ssh: [`  user: ${user}`, `  private-key: ${userKey}`, `  port: ${port}`, `  jump-host: ${user}@${bastion.address}:22`,
      `  known-hosts: ${knownHosts}`, '  sudo-password-prompt: true'],
  }));
  return file;
}
/** known_hosts lines of `addresses` at `p`, scanned on the bastion (as an operator would from inside). */
async function keyscan(addresses: string[], p: number): Promise<string> {
  const out = must(await rootSsh(bastion.address, `ssh-keyscan -p ${p} -T 10 ${addresses.join(' ')} 2>/dev/null`), 'ssh-keyscan');
  const lines = out.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(lines.length >= addresses.length, `ssh-keyscan found too few keys:\n${out}`);
  return `${lines.join('\n')}\n`;
}
/** Every managed file's checksum and quorumd's invocation id on each host: equal snapshots = nothing changed. */
async function snapshot(): Promise<string> {
  const parts: string[] = [];
  for (const h of hosts) {
    parts.push(`## ${h.name}\n${must(await rootSsh(h.address,
      'find /etc/etcd /etc/systemd/system/quorumd.service /etc/hosts /etc/hostname /etc/nftables.d /etc/nftables.conf -type f -exec sha256sum {} + 2>/dev/null | sort; '
      + 'systemctl show -p InvocationID -p ActiveState quorumd.service; nft list table inet quorum | sha256sum'), `snapshot ${h.name}`)}`);
  }
  return parts.join('');
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
  // The release under test is built from this tree (the shared release/ may predate what provision uses).
  must(await run(process.execPath, [join(root, 'scripts', 'release.mjs'), '--out', join(work, 'release')], { cwd: root, timeoutMs: 600_000 }), 'release build');
  ({ quorum, env: quorumEnv } = privateQuorumTree(root, join(work, 'tree')));
  writeFileSync(passwordFile, 'lab-sudo-pw-7\n', { mode: 0o600 });
  await q(['lab', 'down']);
  must(await q(['lab', 'up', '--hosts', '3']), 'quorum lab up');
  must(await q(['lab', 'user', 'add', user, '--password-file', passwordFile]), 'quorum lab user add');
  must(await q(['lab', 'ssh-port', String(port)]), 'quorum lab ssh-port');
  // The fence: this machine (10.88.0.1) may not reach port 38022 directly; only the bastion path works.
  for (const h of hosts) {
    must(await rootSsh(h.address, `nft add table inet labfence && nft add chain inet labfence input '{ type filter hook input priority -10; policy accept; }' && nft add rule inet labfence input ip saddr 10.88.0.1 tcp dport ${port} drop`), `fence ${h.name}`);
  }
});

after(async () => {
  const r = await q(['lab', 'down']);
  if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
  rmSync(work, { recursive: true, force: true });
});

test('bastion + non-root sudo with a password + pinned host keys + non-default port + --forks', { timeout: 1_800_000 }, async () => {
  // The lab user logs in with its key and sudo wants a password (no NOPASSWD).
  const direct = await run('ssh', ['-i', userKey, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes', `${user}@${bastion.address}`, 'id -un; sudo -n true 2>&1; echo sudo-n=$?'], { timeoutMs: 60_000 });
  assert.equal(direct.code, 0, direct.stderr);
  assert.match(direct.stdout, new RegExp(`^${user}\\n[\\s\\S]*sudo-n=1`), direct.stdout);
  // The passwordless variant of the lab user: sudo -n works.
  must(await q(['lab', 'user', 'add', 'qnopw']), 'quorum lab user add qnopw');
  const nopw = await run('ssh', ['-i', '/var/lib/quorum-lab/ssh/qnopw_ed25519', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', `qnopw@${hosts[2]!.address}`, 'sudo -n id -un'], { timeoutMs: 60_000 });
  assert.equal(nopw.code, 0, nopw.stderr);
  assert.equal(nopw.stdout.trim(), 'root');

  // known_hosts: the bastion on 22 and the members on 38022, except etcd-03 (unknown).
  writeFileSync(knownHosts, await keyscan([bastion.address], 22) + await keyscan(hosts.slice(0, 2).map((h) => h.address), port));
  const sshOpts = ['--forks', '2', '--sudo-password-file', passwordFile];
  const info = inventory('info');

  // 1. Unknown host key: refused, named, with the flag to accept it; nothing changed anywhere.
  const before1 = await snapshot();
  const r1 = await q(['provision', '-i', info, ...sshOpts]);
  const out1 = r1.stdout + r1.stderr;
  assert.equal(r1.code, 1, out1);
  assert.match(out1, /etcd-03.*host key of \[10\.88\.0\.13\]:38022 is not in .*known_hosts/, out1);
  assert.match(out1, /--accept-new-host-keys/, out1);
  assert.doesNotMatch(out1, /etcd-0[12].*host key/, out1);
  assert.equal(await snapshot(), before1, 'a refused run changed a host');

  // 2. Accepted explicitly: recorded, and the cluster comes up through the bastion as the sudo user.
  const r2 = await q(['provision', '-i', info, ...sshOpts, '--accept-new-host-keys']);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /IS LEADER/);
  assert.match(readFileSync(knownHosts, 'utf8'), /^\[10\.88\.0\.13\]:38022 ssh-/m);
  must(await q(['status', '-i', info]), 'quorum status');
  // Files were installed by sudo through the login user, and sshd saw the user come from the bastion only.
  for (const h of hosts) {
    const log = must(await rootSsh(h.address, `journalctl -u ssh.service --no-pager -o cat | grep 'Accepted publickey for ${user}' || true`), `sshd log ${h.name}`);
    assert.match(log, new RegExp(`Accepted publickey for ${user} from ${bastion.address.replace(/\./g, '\\.')} port \\d+`), `${h.name}:\n${log}`);
    // (the bastion itself was logged into directly on port 22 by the check above)
    if (h !== bastion) assert.doesNotMatch(log, new RegExp(`for ${user} from 10\\.88\\.0\\.1 `), `${h.name} was reached directly:\n${log}`);
  }
  // Idempotent through the same path: the next run changes nothing.
  const r2b = await q(['provision', '-i', info, ...sshOpts]);
  assert.equal(r2b.code, 0, r2b.stdout + r2b.stderr);
  for (const h of hosts) assert.match(r2b.stdout, new RegExp(`${h.name}\\s*:\\s*ok=\\d+\\s+changed=0\\s+failed=0`), r2b.stdout);

  // 3. etcd-02 gets new host keys: refused with a clear message naming it, even with --accept-new-host-keys.
  must(await rootSsh(hosts[1]!.address, 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh'), 'new host keys');
  const debug = inventory('debug');
  const before3 = await snapshot();
  const r3 = await q(['provision', '-i', debug, ...sshOpts, '--accept-new-host-keys']);
  const out3 = r3.stdout + r3.stderr;
  assert.equal(r3.code, 1, out3);
  assert.match(out3, /etcd-02\b.*HOST KEY CHANGED for \[10\.88\.0\.12\]:38022/, out3);
  assert.match(out3, /ssh-keygen -f .*known_hosts -R '\[10\.88\.0\.12\]:38022'/, out3);
  assert.equal(await snapshot(), before3, 'a run refused for a changed host key changed a host');
  for (const h of hosts) {
    assert.match(must(await rootSsh(h.address, 'cat /etc/etcd/quorumd.conf.yml'), 'config'), /log-level: "?info/);
  }

  // 4. The operator verifies and re-pins the new key: the change goes through; healthy.
  must(await run('ssh-keygen', ['-f', knownHosts, '-R', `[${hosts[1]!.address}]:${port}`], { timeoutMs: 30_000 }), 'ssh-keygen -R');
  writeFileSync(knownHosts, readFileSync(knownHosts, 'utf8') + await keyscan([hosts[1]!.address], port));
  const r4 = await q(['provision', '-i', debug, ...sshOpts]);
  assert.equal(r4.code, 0, r4.stdout + r4.stderr);
  for (const h of hosts) {
    assert.match(must(await rootSsh(h.address, 'cat /etc/etcd/quorumd.conf.yml'), 'config'), /log-level: "?debug/);
  }
  must(await q(['status', '-i', debug]), 'quorum status');

  // 5. The other host-touching commands take the same SSH options and path: a backup, the certificates read
  //    over SSH with sudo (password from the file), and the doctor's probes on every host.
  const backups = join(work, 'backups');
  must(await q(['backup', '-i', debug, '--dest', backups, ...sshOpts], 300_000), 'quorum backup');
  assert.ok(readdirSync(backups).some((f) => /^lab-.*-r\d+\.db$/.test(f)), `a backup in ${backups}`);
  const certs = must(await q(['certs', 'check', '-i', debug, ...sshOpts], 300_000), 'quorum certs check');
  for (const h of hosts) assert.match(certs, new RegExp(`^${h.name}\\s+server\\b`, 'm'), certs);
  let doctorOut = '';
  await eventually(async () => {
    const d = await q(['runbook', 'doctor', '-i', debug, ...sshOpts, '--fsync-warn-ms', '1000'], 300_000);
    doctorOut = d.stdout + d.stderr;
    assert.doesNotMatch(doctorOut, /cannot run the probes over SSH/, doctorOut);
    assert.equal(d.code, 0, doctorOut);
  }, 120_000, 10_000).catch(() => assert.fail(`quorum runbook doctor through the bastion:\n${doctorOut}`));
  assert.match(doctorOut, /doctor: no problems found/);
});
