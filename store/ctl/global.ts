/**
 * quorumctl's global flags (etcdctl 3.4's: --endpoints --cacert --cert --key --dial-timeout --command-timeout
 * -w/--write-out, and the same ETCDCTL_* environment variables, flags winning) and the client they build.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StoreClient, StoreError, type ResponseHeader } from '../client/client.js';
import { RawJson } from './printer.js';

/** An error that ends the command: printed as "Error: <message>", exit code `code` (etcdctl: 1). */
export class CtlError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
    this.name = 'CtlError';
  }
}

/** The resolved global settings. Durations in ms. */
export interface Globals {
  endpoints: string[];
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  writeOut: 'simple' | 'json' | 'table' | 'fields' | 'protobuf';
  hex: boolean;
}

/** Parse a Go duration ("2s", "500ms", "1m30s", "1.5s"). Throws CtlError naming `flag`. */
export function parseGoDuration(flag: string, s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new CtlError(`invalid argument "${s}" for "--${flag}" flag: time: invalid duration "${s}"`);
  return total;
}

function readFile(flag: string, p: string): Buffer {
  try {
    return readFileSync(p);
  } catch (e) {
    throw new CtlError(`${flag}: cannot read ${p}: ${(e as Error).message}`);
  }
}

/** Resolve global flags of `cmd` (with ETCDCTL_* from `env` as defaults). */
export function globals(cmd: Command, env: NodeJS.ProcessEnv = process.env): Globals {
  const o = cmd.optsWithGlobals() as Record<string, string | boolean | undefined>;
  const pick = (name: string, envName: string, d?: string): string | undefined => (o[name] as string | undefined) ?? env[envName] ?? d;
  const endpoints = (pick('endpoints', 'ETCDCTL_ENDPOINTS', '127.0.0.1:2379') as string).split(',').map((s) => s.trim()).filter(Boolean);
  const cacert = pick('cacert', 'ETCDCTL_CACERT');
  const cert = pick('cert', 'ETCDCTL_CERT');
  const key = pick('key', 'ETCDCTL_KEY');
  const w = pick('writeOut', 'ETCDCTL_WRITE_OUT', 'simple') as string;
  if (!['simple', 'json', 'table', 'fields', 'protobuf'].includes(w)) throw new CtlError(`unsupported output format ${w}`);
  if ((cert && !key) || (key && !cert)) throw new CtlError('--cert and --key must be given together');
  const tls = cacert || cert ? { ca: cacert ? readFile('--cacert', cacert) : (undefined as unknown as Buffer), cert: cert ? readFile('--cert', cert) : undefined, key: key ? readFile('--key', key) : undefined } : undefined;
  return {
    endpoints,
    tls,
    dialTimeoutMs: parseGoDuration('dial-timeout', pick('dialTimeout', 'ETCDCTL_DIAL_TIMEOUT', '2s') as string),
    commandTimeoutMs: parseGoDuration('command-timeout', pick('commandTimeout', 'ETCDCTL_COMMAND_TIMEOUT', '5s') as string),
    writeOut: w as Globals['writeOut'],
    hex: !!o.hex,
  };
}

/** A client for one endpoint with the command timeout. */
export function clientFor(g: Globals, endpoint: string): StoreClient {
  return new StoreClient(endpoint, g.tls, { timeoutMs: g.commandTimeoutMs });
}

/** Try each endpoint in turn until one answers (etcdctl balances over --endpoints). */
export async function withClient<T>(g: Globals, fn: (c: StoreClient) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const ep of g.endpoints) {
    const c = clientFor(g, ep);
    try {
      return await fn(c);
    } catch (e) {
      last = e;
      // etcd errors from a live server are final; only connection problems move on to the next endpoint
      if (e instanceof StoreError && e.code !== 14 && e.code !== 4) throw e;
    } finally {
      c.close();
    }
  }
  throw last;
}

/** The message etcdctl prints for an error. */
export function errorMessage(e: unknown): string {
  if (e instanceof StoreError) {
    if (e.code === 4) return 'context deadline exceeded';
    return e.details;
  }
  return e instanceof Error ? e.message : String(e);
}

/** ResponseHeader as etcdctl's JSON (omitempty). */
export function headerJson(h: ResponseHeader): Record<string, unknown> {
  return {
    cluster_id: h.clusterId !== 0n ? new RawJson(h.clusterId.toString()) : undefined,
    member_id: h.memberId !== 0n ? new RawJson(h.memberId.toString()) : undefined,
    revision: h.revision || undefined,
    raft_term: h.raftTerm || undefined,
  };
}
