/**
 * Real-SSH fixtures of the lab (issue 9): a non-root login user with sudo and its own key on every running
 * host, and an extra sshd port. With them a lab host can serve as a bastion for the others (Debian's sshd
 * allows TCP forwarding by default; the user exists on every host, bastion included).
 *
 * Keys live beside the root key: /var/lib/quorum-lab/ssh/<user>_ed25519 (+ .pub), created once and kept by
 * `lab down` (like the root key). The password, when given, is sent on the ssh stdin, never in a command line.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SSH_DIR, labHostByName, type LabHost } from './config.js';
import { hostDirNames, isRunning } from './host.js';
import { runOk } from './run.js';
import { labExec } from './ssh.js';

/** What {@link labUserAdd} did. */
export interface LabUser {
  name: string;
  /** Absolute path of the user's private key (ed25519, no passphrase). */
  privateKey: string;
  /** `nopasswd`: `NOPASSWD: ALL`; `password`: sudo asks for the password. */
  sudo: 'nopasswd' | 'password';
  /** Hosts the user was set up on. */
  hosts: string[];
}

/** Options of {@link labUserAdd}. */
export interface LabUserOptions {
  /** Login and sudo password; absent = passwordless sudo (and no login password). */
  password?: string;
  /** Host names (default: every running lab host). */
  hosts?: string[];
}

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The private key path of lab user `name`. */
export function labUserKey(name: string): string {
  return join(SSH_DIR, `${name}_ed25519`);
}

/** The running lab hosts (sorted by number), or those named in `names` (each must be running). Throws Error otherwise. */
export function runningLabHosts(names?: string[]): LabHost[] {
  const pick = names ?? hostDirNames().filter((n) => isRunning(n));
  const hosts = pick.map((n) => {
    const h = labHostByName(n);
    if (!h) throw new Error(`lab: unknown host ${n} (expected etcd-01..etcd-07)`);
    if (!isRunning(n)) throw new Error(`lab: ${n} is not running (fix: quorum lab up --hosts N)`);
    return h;
  });
  if (!hosts.length) throw new Error('lab: no host is running (fix: quorum lab up)');
  return hosts.sort((a, b) => a.index - b.index);
}

/** Creates the user's key pair once; returns the public key line. */
async function ensureUserKey(name: string): Promise<string> {
  mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
  const key = labUserKey(name);
  if (!existsSync(key) || !existsSync(`${key}.pub`)) {
    rmSync(key, { force: true });
    rmSync(`${key}.pub`, { force: true });
    await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `quorum-lab-${name}`, '-f', key]);
  }
  chmodSync(key, 0o600);
  return readFileSync(`${key}.pub`, 'utf8').trim();
}

/**
 * The root shell script that makes `name` a login user with `pubKey` authorized and sudo rights (idempotent).
 * With a password, stdin carries `name:password` for chpasswd and sudo asks for it; without, the account has
 * no password (`*`: key login only) and sudo is NOPASSWD.
 */
export function userScript(name: string, pubKey: string, withPassword: boolean): string {
  const home = `/home/${name}`;
  const rule = withPassword ? `${name} ALL=(ALL:ALL) ALL` : `${name} ALL=(ALL:ALL) NOPASSWD: ALL`;
  const sudoers = `/etc/sudoers.d/quorum-lab-${name}`;
  return [
    'set -e',
    `id -u ${name} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${name}`,
    // The password arrives on stdin (one line): never in a command line.
    withPassword ? `head -n1 | sed 's/^/${name}:/' | chpasswd` : `usermod -p '*' ${name}`,
    `install -d -m 0700 -o ${name} -g ${name} ${home}/.ssh`,
    `printf '%s\\n' '${pubKey}' > ${home}/.ssh/authorized_keys`,
    `chown ${name}:${name} ${home}/.ssh/authorized_keys && chmod 0600 ${home}/.ssh/authorized_keys`,
    `printf '%s\\n' '${rule}' > ${sudoers}.tmp && chmod 0440 ${sudoers}.tmp`,
    `visudo -cqf ${sudoers}.tmp && mv -f ${sudoers}.tmp ${sudoers}`,
  ].join('\n');
}

/**
 * Adds the non-root sudo user `name` with its own ed25519 key to the running lab hosts (or `opts.hosts`).
 * Idempotent: rerunning updates the key, password and sudo rule. Throws Error naming the host on failure,
 * RangeError for a bad user name or a password with a newline or colon.
 */
export async function labUserAdd(name: string, opts: LabUserOptions = {}): Promise<LabUser> {
  if (!USER_RE.test(name) || name === 'root') throw new RangeError(`lab: bad user name "${name}" (lowercase letters, digits, _ and -; not root)`);
  if (opts.password !== undefined && (opts.password === '' || /[\n\r]/.test(opts.password))) {
    throw new RangeError('lab: the password must be one non-empty line');
  }
  const hosts = runningLabHosts(opts.hosts);
  const pub = await ensureUserKey(name);
  const script = userScript(name, pub, opts.password !== undefined);
  await Promise.all(hosts.map(async (h) => {
    const r = await labExec(h, script, {
      ...(opts.password !== undefined ? { stdin: `${opts.password}\n` } : {}), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`lab: cannot add user ${name} on ${h.name}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }));
  return { name, privateKey: labUserKey(name), sudo: opts.password !== undefined ? 'password' : 'nopasswd', hosts: hosts.map((h) => h.name) };
}

/**
 * Makes sshd on the running lab hosts (or `hosts`) listen on `port` as well as 22 (a drop-in
 * /etc/ssh/sshd_config.d/quorum-lab-port.conf, then `systemctl restart ssh`; open sessions survive).
 * `port` 22 removes the extra port. Throws RangeError for a bad port, Error naming the host on failure.
 */
export async function labSshPort(port: number, hosts?: string[]): Promise<string[]> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`lab: bad ssh port ${port}`);
  const file = '/etc/ssh/sshd_config.d/quorum-lab-port.conf';
  const write = port === 22 ? `rm -f ${file}` : `printf 'Port 22\\nPort ${port}\\n' > ${file}`;
  const list = runningLabHosts(hosts);
  await Promise.all(list.map(async (h) => {
    const r = await labExec(h, `set -e; ${write}; sshd -t; systemctl restart ssh`, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`lab: cannot set the ssh port on ${h.name}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }));
  return list.map((h) => h.name);
}
