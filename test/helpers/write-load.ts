/**
 * A continuous write load for e2e tests of day-2 changes (scale, rolling restarts, upgrades): sequential puts
 * over mTLS (StoreClient) spread over the given members, retried on the next member (once by default), every
 * acknowledged write recorded so a test can check that none was lost. Deterministic keys: `<prefix>NNNNNN`.
 */
import { appendFileSync } from 'node:fs';
import { StoreClient, prefixRangeEnd } from '../../store/client/client.js';

/** A member the load writes to. */
export interface LoadTarget {
  name: string;
  address: string;
}

/** Options of `WriteLoad`. */
export interface WriteLoadOptions {
  /** Key prefix, e.g. `scale/`. */
  prefix: string;
  /** Client port (default 2379). */
  port?: number;
  /** When set, failed attempts are appended to this file (diagnosis). */
  logFile?: string;
  /** Pause between writes, ms (default 50). */
  pauseMs?: number;
  /**
   * Attempts per write (default 2), each on the next member after a 1 s pause: a write counts as failed only
   * when every attempt failed. A rolling run restarts members about a second apart, so a test of one sets it
   * above the member count (every member tried more than once).
   */
  attempts?: number;
}

/** The load. `start`, then `stop`; `failures` lists writes that failed twice; `lost()` reads everything back. */
export class WriteLoad {
  readonly acked = new Map<string, string>();
  readonly failures: string[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;
  private readonly clients: StoreClient[];

  constructor(private readonly targets: LoadTarget[], tls: { ca: Buffer; cert: Buffer; key: Buffer }, private readonly opts: WriteLoadOptions) {
    this.clients = targets.map((h) => new StoreClient(`https://${h.address}:${opts.port ?? 2379}`, tls, { timeoutMs: 10_000 }));
  }

  start(): void {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const k = `${this.opts.prefix}${String(i).padStart(6, '0')}`;
        const v = `v${i}`;
        let ok = false;
        let last = '';
        for (let attempt = 0; attempt < (this.opts.attempts ?? 2) && !ok; attempt++) {
          const at = (i + attempt) % this.clients.length;
          try {
            await this.clients[at]!.put(k, v);
            ok = true;
          } catch (e) {
            last = (e as Error).message;
            if (this.opts.logFile) appendFileSync(this.opts.logFile, `${new Date().toISOString()} ${k} attempt ${attempt} on ${this.targets[at]!.name}: ${last}\n`);
            if (attempt + 1 < (this.opts.attempts ?? 2)) await new Promise((r) => setTimeout(r, 1000));
          }
        }
        if (ok) this.acked.set(k, v);
        else this.failures.push(`${k}: ${last}`);
        await new Promise((r) => setTimeout(r, this.opts.pauseMs ?? 50));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Reads every key back (linearizable range on the first member) and returns the acknowledged writes missing or wrong. */
  async lost(): Promise<string[]> {
    const prefix = Buffer.from(this.opts.prefix);
    const r = await this.clients[0]!.range(prefix, { rangeEnd: prefixRangeEnd(prefix) });
    const got = new Map(r.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
    return [...this.acked].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
