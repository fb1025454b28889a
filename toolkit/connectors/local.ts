import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  type Connector, ConnectorError, type PutFileOptions, type RunOptions, type RunResult,
  finishUploadCommand, tempPathFor,
} from './types.js';

/** Options of `LocalConnector`. */
export interface LocalConnectorOptions {
  /** Display name (default `local`). */
  host?: string;
  /**
   * Directory prefix for file transfers: `putFile('/etc/x')` writes `<root>/etc/x`. Commands given
   * to `run` are not rewritten; they see the prefix in `$QUORUM_ROOT` (empty when unset).
   */
  root?: string;
}

/**
 * Runs everything on this machine with `/bin/sh -c`, as the current user (sudo is ignored).
 * Used by tests: the engine drives it exactly as it drives `SshConnector`.
 */
export class LocalConnector implements Connector {
  readonly host: string;
  private readonly root: string;

  constructor(opts: LocalConnectorOptions = {}) {
    this.host = opts.host ?? 'local';
    this.root = opts.root ?? '';
  }

  async connect(): Promise<void> {}

  private mapPath(p: string): string {
    return this.root ? path.join(this.root, p) : p;
  }

  run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', cmd], {
        env: { ...process.env, QUORUM_ROOT: this.root },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new ConnectorError(this.host, `cannot run /bin/sh: ${e.message}`)));
      child.on('close', (code) => resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }));
      child.stdin.on('error', () => { /* command did not read its stdin */ });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  async putFile(remotePath: string, content: Buffer, opts: PutFileOptions): Promise<void> {
    const target = this.mapPath(remotePath);
    const tmp = tempPathFor(target);
    try {
      await fs.writeFile(tmp, content, { mode: 0o600 });
    } catch (e) {
      throw new ConnectorError(this.host, `cannot write ${remotePath}: ${(e as Error).message}`,
        'check that the parent directory exists');
    }
    await this.finish(tmp, target, remotePath, opts);
  }

  async putFileFrom(localPath: string, remotePath: string, opts: Partial<PutFileOptions> = {}): Promise<void> {
    const target = this.mapPath(remotePath);
    const tmp = tempPathFor(target);
    try {
      await fs.copyFile(localPath, tmp);
    } catch (e) {
      throw new ConnectorError(this.host, `cannot copy ${localPath} to ${remotePath}: ${(e as Error).message}`);
    }
    await this.finish(tmp, target, remotePath, opts);
  }

  private async finish(tmp: string, target: string, remotePath: string, opts: Partial<PutFileOptions>): Promise<void> {
    const r = await this.run(finishUploadCommand(tmp, target, opts));
    if (r.code !== 0) {
      await fs.rm(tmp, { force: true });
      throw new ConnectorError(this.host, `cannot install ${remotePath}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }

  async getFile(remotePath: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.mapPath(remotePath));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ConnectorError(this.host, `cannot read ${remotePath}: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {}
}
