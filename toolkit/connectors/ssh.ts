import { Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
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
}

/**
 * A host reached over SSH with node-ssh. Commands run with `/bin/sh -c`; when the login user is not
 * root, `sudo: true` commands and all file installs go through `sudo -n` (passwordless sudo required).
 * Errors: `ConnectorError` with one line such as
 * `etcd-02 (10.88.0.12): SSH connection refused on port 22`.
 */
export class SshConnector implements Connector {
  readonly host: string;
  private ssh?: NodeSSH;
  private connecting?: Promise<void>;

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
    try {
      await ssh.connect({
        host: t.address,
        port: t.port,
        username: t.user,
        ...(t.privateKey ? { privateKeyPath: t.privateKey } : { agent: process.env.SSH_AUTH_SOCK }),
        readyTimeout: t.connectTimeoutMs,
        keepaliveInterval: 10_000,
      });
    } catch (e) {
      ssh.dispose();
      throw this.explain(e as Error & { code?: string; level?: string });
    }
    this.ssh = ssh;
  }

  /** Turns ssh2's errors into one clear line with a remedy. */
  private explain(e: Error & { code?: string; level?: string }): ConnectorError {
    const t = this.target;
    const msg = e.message ?? String(e);
    const key = t.privateKey ? `key ${t.privateKey}` : 'ssh-agent keys';
    if (e.code === 'ECONNREFUSED') {
      return new ConnectorError(this.host, `SSH connection refused on port ${t.port}`,
        'check that sshd runs on the host and the inventory port is right');
    }
    if (e.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
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

  private wrap(cmd: string, sudo: boolean | undefined): string {
    return sudo && this.needsSudo ? `sudo -n /bin/sh -c ${shq(cmd)}` : cmd;
  }

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    await this.connect();
    const ssh = this.ssh!;
    try {
      const r = await ssh.execCommand(this.wrap(cmd, opts.sudo), {
        noTrim: true,
        ...(opts.stdin !== undefined
          ? { stdin: typeof opts.stdin === 'string' ? opts.stdin : Readable.from([opts.stdin]) }
          : {}),
      });
      return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      throw new ConnectorError(this.host, `SSH command failed: ${(e as Error).message}`,
        'the connection dropped; rerun the command');
    }
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
      await this.ssh!.putFile(localPath, tmp);
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
  }
}
