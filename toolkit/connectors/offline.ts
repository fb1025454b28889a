/**
 * A connector that never connects: every operation that would reach the host throws.
 * `quorum provision --dry-run --offline` plans with it, so a plan for hosts that must not be
 * contacted (an example inventory, addresses on someone else's network) provably sends nothing.
 */
import { type Connector, ConnectorError, type PutFileOptions, type RunOptions, type RunResult } from './types.js';

export class OfflineConnector implements Connector {
  constructor(readonly host: string) {}

  /** No-op: there is nothing to open. */
  async connect(): Promise<void> {}

  private refuse(what: string): never {
    throw new ConnectorError(this.host, `offline plan: refusing to ${what} (remove --offline to reach the host)`);
  }

  async run(cmd: string, _opts?: RunOptions): Promise<RunResult> {
    this.refuse(`run "${cmd.split('\n')[0]}"`);
  }

  async putFile(remotePath: string, _content: Buffer, _opts: PutFileOptions): Promise<void> {
    this.refuse(`write ${remotePath}`);
  }

  async putFileFrom(_local: string, remotePath: string, _opts?: Partial<PutFileOptions>): Promise<void> {
    this.refuse(`upload ${remotePath}`);
  }

  async getFile(remotePath: string): Promise<Buffer | undefined> {
    this.refuse(`read ${remotePath}`);
  }

  async close(): Promise<void> {}
}
