import { Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { type HostKeyVerdict, fingerprintOf, hostToken, keyTypeOf } from './known_hosts.js';
import { type HostKeyCheck, type JumpTarget, type SshLimiter, acquireJump, hostKeyOptions } from './ssh_jump.js';
import {
  type Connector, ConnectorError, type PutFileOptions, type RunOptions, type RunResult,
  finishUploadCommand, shq, tempPathFor,
} from './types.js';

/** Where and how to connect. */
export interface SshTarget {
  /** Host name shown in messages (`etcd-02`). */
  name: string;
  /** IP address or DNS name to connect to. */
  address: string;
  port: number;
  user: string;
  /** Absolute path of the private key file; undefined = ssh-agent (`$SSH_AUTH_SOCK`). */
  privateKey?: string;
  /** TCP connect + handshake timeout, ms. */
  connectTimeoutMs: number;
  /** Also offer the SSH agent's keys (`$SSH_AUTH_SOCK`) when a key file is given. */
  useAgent?: boolean;
  /** Reach the host through this bastion (one shared connection per bastion, `forwardOut` through it). */
  jump?: JumpTarget;
  /** Verify the host key (and the bastion's) against a known_hosts file; undefined = not verified. */
  hostKeys?: HostKeyCheck;
  /**
   * The sudo password, asked lazily (the caller memoizes it so the operator is prompted once per run). Only
   * called when `sudo -n true` fails for the login user. The password is fed to `sudo -S` on stdin and never
   * appears in a command line, a message or a log.
   */
  sudoPassword?: () => Promise<string>;
  /** Bounds parallel SSH work across connectors (`--forks`). */
  limiter?: SshLimiter;
}

/**
 * The refusal of a host key that is not the pinned one: names the host, both fingerprints and the fix.
 * An unknown key says how to accept it; a changed or revoked key is never accepted automatically.
 */
export function hostKeyError(host: string, t: { address: string; port: number; hostKeys?: HostKeyCheck }, v: HostKeyVerdict, key: Buffer): ConnectorError {
  const file = t.hostKeys?.file ?? 'known_hosts';
  const token = hostToken(t.address, t.port);
  const presented = `${keyTypeOf(key)} ${fingerprintOf(key)}`;
  if (v.kind === 'unknown') {
    return new ConnectorError(host, `host key of ${token} is not in ${file} (presented ${presented})`,
      `verify the fingerprint out of band (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host), then rerun with --accept-new-host-keys to record it`);
  }
  if (v.kind === 'revoked') {
    return new ConnectorError(host, `host key of ${token} (${presented}) is marked @revoked in ${file} line ${v.line}`, 'the host must get a new host key');
  }
  if (v.kind === 'changed') {
    const known = v.known.map((k) => `${k.keyType} ${k.fingerprint} (${file} line ${k.line})`).join(', ');
    return new ConnectorError(host, `HOST KEY CHANGED for ${token}: presented ${presented}, expected ${known}; refusing to connect (possible man-in-the-middle)`,
      `if the host was really reinstalled, verify the new fingerprint out of band and remove the old entry: ssh-keygen -f ${file} -R '${token}'`);
  }
  return new ConnectorError(host, 'host key accepted');
}

/**
 * A host reached over SSH with node-ssh. Commands run with `/bin/sh -c`; when the login user is not
 * root, `sudo: true` commands and all file installs go through `sudo -n`, or `sudo -k -S` with the password
 * on stdin when the target has a `sudoPassword` source and passwordless sudo fails. Optional: a bastion
 * (`jump`), host key pinning (`hostKeys`), agent keys beside a key file, a shared `--forks` limiter.
 * Errors: `ConnectorError` with one line such as
 * `etcd-02 (10.88.0.12): SSH connection refused on port 22`.
 */
export class SshConnector implements Connector {
  readonly host: string;
  private ssh?: NodeSSH;
  private connecting?: Promise<void>;
  /** Released when this connector closes (its share of the bastion connection). */
  private releaseJump?: () => void;
  /** How sudo runs once known: `-n` (passwordless) or with the password on stdin. */
  private sudoMode?: Promise<{ password?: string }>;
  /** The last host key verdict (for the error message when the handshake is refused). */
  private verdict?: { verdict: HostKeyVerdict; key: Buffer };

  constructor(private readonly target: SshTarget) {
    this.host = `${target.name} (${target.address})`;
  }

  connect(): Promise<void> {
    if (this.ssh) return Promise.resolve();
    if (!this.connecting) {
      this.connecting = this.open().finally(() => { this.connecting = undefined; });
    }
    return this.connecting;
  }

  private async open(): Promise<void> {
    const t = this.target;
    const ssh = new NodeSSH();
    let sock: NodeJS.ReadableStream | undefined;
    try {
      if (t.jump) {
        const j = await acquireJump(t.jump, t.hostKeys, t.connectTimeoutMs);
        this.releaseJump = j.release;
        sock = await j.forward(t.address, t.port).catch((e: Error) => {
          throw new ConnectorError(this.host, `bastion ${t.jump!.address} cannot reach port ${t.port}: ${e.message}`,
            `check that the bastion can reach ${t.address}:${t.port} (nc -zv ${t.address} ${t.port} on the bastion)`);
        });
      }
    } catch (e) {
      this.releaseJump?.(); this.releaseJump = undefined;
      throw e instanceof ConnectorError ? e : new ConnectorError(this.host, (e as Error).message);
    }
    const check = t.hostKeys ? await hostKeyOptions(t.hostKeys, t.address, t.port, (verdict, key) => { this.verdict = { verdict, key }; }) : {};
    try {
      await (t.limiter ? t.limiter.run(() => ssh.connect(this.connectConfig(sock, check))) : ssh.connect(this.connectConfig(sock, check)));
    } catch (e) {
      ssh.dispose();
      this.releaseJump?.(); this.releaseJump = undefined;
      throw this.explain(e as Error & { code?: string; level?: string });
    }
    if (this.verdict?.verdict.kind === 'unknown' && t.hostKeys?.acceptNew) {
      await t.hostKeys.record(t.address, t.port, this.verdict.key);
    }
    this.ssh = ssh;
  }

  private connectConfig(sock: NodeJS.ReadableStream | undefined, check: object): Parameters<NodeSSH['connect']>[0] {
    const t = this.target;
    const agent = process.env.SSH_AUTH_SOCK;
    return {
      ...(sock ? { sock: sock as never, host: t.address } : { host: t.address, port: t.port }),
      username: t.user,
      ...(t.privateKey ? { privateKeyPath: t.privateKey } : {}),
      ...(!t.privateKey || t.useAgent ? (agent ? { agent } : {}) : {}),
      readyTimeout: t.connectTimeoutMs,
      keepaliveInterval: 10_000,
      ...check,
    };
  }

  /** Turns ssh2's errors into one clear line with a remedy. */
  private explain(e: Error & { code?: string; level?: string }): ConnectorError {
    const t = this.target;
    const msg = e.message ?? String(e);
    const key = t.privateKey ? `key ${t.privateKey}${t.useAgent ? ' and ssh-agent keys' : ''}` : 'ssh-agent keys';
    if (e instanceof ConnectorError) return e;
    const hk = this.verdict;
    if (hk && hk.verdict.kind !== 'match' && /verification failed|Host denied/i.test(msg)) return hostKeyError(this.host, t, hk.verdict, hk.key);
    if (e.code === 'ECONNREFUSED') {
      return new ConnectorError(this.host, `SSH connection refused on port ${t.port}`,
        'check that sshd runs on the host and the inventory port is right');
    }
    if (e.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
      if (!t.privateKey && !process.env.SSH_AUTH_SOCK) {
        return new ConnectorError(this.host, `SSH authentication rejected for user ${t.user}: no key (no ssh.private-key and SSH_AUTH_SOCK is not set)`,
          'set ssh.private-key in the inventory or start ssh-agent and ssh-add your key');
      }
      return new ConnectorError(this.host, `SSH authentication rejected for user ${t.user} (${key})`,
        `add the public key to ~${t.user}/.ssh/authorized_keys on the host or fix ssh.private-key`);
    }
    if (e.code === 'ETIMEDOUT' || /timed out/i.test(msg)) {
      return new ConnectorError(this.host, `SSH connection timed out after ${t.connectTimeoutMs} ms`,
        'check the address and that the host is up (ping, firewall)');
    }
    if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') {
      return new ConnectorError(this.host, `host unreachable (${e.code})`, 'check the address and the network route');
    }
    if (/does not exist at given fs path|ENOENT/.test(msg)) {
      return new ConnectorError(this.host, `SSH private key not found (${key})`, 'fix ssh.private-key in the inventory');
    }
    if (/privateKey|parse/i.test(msg)) {
      return new ConnectorError(this.host, `cannot use SSH private key (${key}): ${msg}`,
        'use an unencrypted OpenSSH key or load it into ssh-agent');
    }
    return new ConnectorError(this.host, `SSH connection failed: ${msg}`);
  }

  private get needsSudo(): boolean {
    return this.target.user !== 'root';
  }

  /**
   * Decides once how sudo runs: `sudo -n` when it needs no password (or no password source is given); else
   * the password (asked once through `sudoPassword`) is checked with `sudo -k -S true` and then fed on stdin.
   * Throws ConnectorError when the password is rejected (the message never contains it).
   */
  private sudo(): Promise<{ password?: string }> {
    if (!this.sudoMode) {
      this.sudoMode = (async () => {
        if (!this.target.sudoPassword) return {};
        const probe = await this.exec('sudo -n true', undefined);
        if (probe.code === 0) return {};
        const password = await this.target.sudoPassword();
        const check = await this.exec("sudo -k -S -p '' true", `${password}\n`);
        if (check.code !== 0) {
          throw new ConnectorError(this.host, `sudo rejected the password of ${this.target.user}`,
            `check the sudo password, or give ${this.target.user} passwordless sudo (NOPASSWD in /etc/sudoers.d)`);
        }
        return { password };
      })();
      this.sudoMode.catch(() => { this.sudoMode = undefined; });
    }
    return this.sudoMode;
  }

  /** One command on the open connection, through the forks limiter. */
  private async exec(cmd: string, stdin: string | Buffer | undefined): Promise<RunResult> {
    await this.connect();
    const ssh = this.ssh!;
    const go = async (): Promise<RunResult> => {
      try {
        const r = await ssh.execCommand(cmd, {
          noTrim: true,
          ...(stdin !== undefined ? { stdin: typeof stdin === 'string' ? stdin : Readable.from([stdin]) } : {}),
        });
        return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        throw new ConnectorError(this.host, `SSH command failed: ${(e as Error).message}`,
          'the connection dropped; rerun the command');
      }
    };
    return this.target.limiter ? this.target.limiter.run(go) : go();
  }

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    await this.connect();
    if (!opts.sudo || !this.needsSudo) return this.exec(cmd, opts.stdin);
    const mode = await this.sudo();
    if (mode.password === undefined) return this.exec(`sudo -n /bin/sh -c ${shq(cmd)}`, opts.stdin);
    // -k: always read the password (never a cached timestamp), so stdin holds exactly password + input.
    const pw = `${mode.password}\n`;
    const stdin = opts.stdin === undefined ? pw
      : typeof opts.stdin === 'string' ? pw + opts.stdin : Buffer.concat([Buffer.from(pw), opts.stdin]);
    return this.exec(`sudo -k -S -p '' /bin/sh -c ${shq(cmd)}`, stdin);
  }

  async putFile(remotePath: string, content: Buffer, opts: PutFileOptions): Promise<void> {
    const tmp = tempPathFor(remotePath);
    const cmd = `umask 077 && cat > ${shq(tmp)} && ${finishUploadCommand(tmp, remotePath, opts)} || { rm -f ${shq(tmp)}; exit 1; }`;
    const r = await this.run(cmd, { sudo: true, stdin: content });
    if (r.code !== 0) {
      throw new ConnectorError(this.host, `cannot install ${remotePath}: ${r.stderr.trim() || `exit ${r.code}`}`,
        'check that the parent directory exists and the SSH user may write it (root or passwordless sudo)');
    }
  }

  async putFileFrom(localPath: string, remotePath: string, opts: Partial<PutFileOptions> = {}): Promise<void> {
    await this.connect();
    // Non-root users upload into /tmp and move the file into place with sudo.
    const tmp = this.needsSudo ? tempPathFor(`/tmp/${remotePath.split('/').pop()}`) : tempPathFor(remotePath);
    try {
      const up = () => this.ssh!.putFile(localPath, tmp);
      await (this.target.limiter ? this.target.limiter.run(up) : up());
    } catch (e) {
      throw new ConnectorError(this.host, `upload of ${localPath} failed: ${(e as Error).message}`,
        'check free disk space on the host and that the target directory exists');
    }
    const r = await this.run(finishUploadCommand(tmp, remotePath, opts), { sudo: true });
    if (r.code !== 0) {
      await this.run(`rm -f ${shq(tmp)}`, { sudo: true });
      throw new ConnectorError(this.host, `cannot install ${remotePath}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }

  async getFile(remotePath: string): Promise<Buffer | undefined> {
    const r = await this.run(`if [ -e ${shq(remotePath)} ]; then base64 < ${shq(remotePath)}; else exit 3; fi`, { sudo: true });
    if (r.code === 3) return undefined;
    if (r.code !== 0) throw new ConnectorError(this.host, `cannot read ${remotePath}: ${r.stderr.trim()}`);
    return Buffer.from(r.stdout.replace(/\s+/g, ''), 'base64');
  }

  async close(): Promise<void> {
    this.ssh?.dispose();
    this.ssh = undefined;
    this.sudoMode = undefined;
    this.releaseJump?.();
    this.releaseJump = undefined;
  }
}
