/**
 * quorumctl's global flags, exactly etcdctl 3.4's (ctlv3/ctl.go, ctlv3/command/global.go):
 *   --endpoints (comma list, repeatable; default 127.0.0.1:2379), --cacert --cert --key, --insecure-transport
 *   (default true), --insecure-skip-tls-verify, --insecure-discovery, --discovery-srv/-d, --discovery-srv-name,
 *   --dial-timeout (2s) --command-timeout (5s) --keepalive-time (2s) --keepalive-timeout (6s) (Go durations),
 *   --user (user[:password]) --password, -w/--write-out (simple), --hex, --debug.
 * Environment: ETCDCTL_<FLAG> (upper case, '-' -> '_') fills a global flag that was not given on the command
 * line; a value that does not parse is ignored (etcdctl ignores it too). As pkg/flags in etcd 3.4 does:
 * a variable that names a flag also given on the command line is fatal ("conflicting environment variable ...",
 * exit 1), and any other ETCDCTL_* variable gets a warning ("unrecognized environment variable ...").
 * ETCDCTL_API is consumed by the program and never reported.
 * With --user, each client first calls Auth.Authenticate and sends the token as "token" metadata; a failed
 * authentication exits 2 (etcdctl's ExitBadConnection); "authentication is not enabled" is only a warning.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StoreClient, StoreError, parseEndpoint, type ResponseHeader } from '../client/client.js';
import { ExitCode, RawJson, type OutputFormat } from './printer.js';

/** An error that ends the command: printed as "Error: <message>", exit code `code` (etcdctl: 1). */
export class CtlError extends Error {
  constructor(message: string, readonly code: number = ExitCode.Error) {
    super(message);
    this.name = 'CtlError';
  }
}

/** A bad flag value (cobra prints it, then etcdctl again): "Error: <m>\n\nError: <m>", exit 1. */
export class CtlFlagError extends CtlError {
  constructor(message: string) {
    super(message, ExitCode.Error);
    this.name = 'CtlFlagError';
  }
}

/** A fatal capnslog-style line already printed (e.g. the conflicting-variable check): no "Error:" line, exit `code`. */
export class CtlFatal extends Error {
  constructor(message: string, readonly code: number = ExitCode.Error) {
    super(message);
    this.name = 'CtlFatal';
  }
}

/** The resolved global settings. Durations in ms. */
export interface Globals {
  endpoints: string[];
  /** TLS material when transport security is on (cacert/cert/key given, or --insecure-transport=false). */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  insecureSkipVerify: boolean;
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  writeOut: OutputFormat;
  hex: boolean;
  debug: boolean;
  /** --user split as etcdctl does (user:password, or --password with --user taken whole). */
  auth?: { user: string; password: string };
}

type FlagKind = 'string' | 'bool' | 'duration' | 'slice';
/** Every global flag: commander attribute name, kind, default (as etcdctl prints it in --help). */
export const GLOBAL_FLAGS: Record<string, { attr: string; kind: FlagKind; def: string }> = {
  endpoints: { attr: 'endpoints', kind: 'slice', def: '127.0.0.1:2379' },
  cacert: { attr: 'cacert', kind: 'string', def: '' },
  cert: { attr: 'cert', kind: 'string', def: '' },
  key: { attr: 'key', kind: 'string', def: '' },
  'insecure-transport': { attr: 'insecureTransport', kind: 'bool', def: 'true' },
  'insecure-skip-tls-verify': { attr: 'insecureSkipTlsVerify', kind: 'bool', def: 'false' },
  'insecure-discovery': { attr: 'insecureDiscovery', kind: 'bool', def: 'true' },
  'discovery-srv': { attr: 'discoverySrv', kind: 'string', def: '' },
  'discovery-srv-name': { attr: 'discoverySrvName', kind: 'string', def: '' },
  'dial-timeout': { attr: 'dialTimeout', kind: 'duration', def: '2s' },
  'command-timeout': { attr: 'commandTimeout', kind: 'duration', def: '5s' },
  'keepalive-time': { attr: 'keepaliveTime', kind: 'duration', def: '2s' },
  'keepalive-timeout': { attr: 'keepaliveTimeout', kind: 'duration', def: '6s' },
  user: { attr: 'user', kind: 'string', def: '' },
  password: { attr: 'password', kind: 'string', def: '' },
  'write-out': { attr: 'writeOut', kind: 'string', def: 'simple' },
  hex: { attr: 'hex', kind: 'bool', def: 'false' },
  debug: { attr: 'debug', kind: 'bool', def: 'false' },
};

/** Boolean flags of commands (all default false except --interactive) that pflag accepts as `--flag=false`. */
export const COMMAND_BOOL_FLAGS = new Set(['interactive', 'no-password', 'detail', 'prefix', 'from-key', 'listen', 'prev-kv',
  'keys-only', 'print-value-only', 'cluster', 'ignore-value', 'ignore-lease', 'physical', 'keys', 'learner', 'count-only']);

/** Go's strconv.ParseBool; undefined when the text is not a boolean. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/**
 * Rewrite argv so commander can parse pflag's boolean forms: `--hex=false` / `--insecure-transport=false`
 * become `--no-hex` / `--no-insecure-transport`, `--hex=true` becomes `--hex`. An unparsable boolean value
 * throws CtlError with pflag's message. Only global boolean flags are rewritten.
 */
export function normalizeArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === '--') {
      out.push(...argv.slice(argv.indexOf(a)));
      break;
    }
    if (a.startsWith('-w=') || a.startsWith('-d=')) {
      out.push(a.slice(0, 2), a.slice(3)); // pflag shorthand "-w=json"
      continue;
    }
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (m && COMMAND_BOOL_FLAGS.has(m[1]) && GLOBAL_FLAGS[m[1]] === undefined) {
      const b = parseGoBool(m[2]);
      if (b === undefined) throw new CtlFlagError(`invalid argument "${m[2]}" for "--${m[1]}" flag: strconv.ParseBool: parsing "${m[2]}": invalid syntax`);
      if (m[1] === 'interactive') out.push(b ? '--interactive' : '--no-interactive');
      else if (b) out.push(`--${m[1]}`);
      continue;
    }
    if (m && GLOBAL_FLAGS[m[1]]?.kind === 'bool') {
      const b = parseGoBool(m[2]);
      if (b === undefined) throw new CtlFlagError(`invalid argument "${m[2]}" for "--${m[1]}" flag: strconv.ParseBool: parsing "${m[2]}": invalid syntax`);
      out.push(b ? `--${m[1]}` : `--no-${m[1]}`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * Parse a Go duration ("2s", "500ms", "1m30s", "1.5s", "0") into ms, with time.ParseDuration's error texts
 * ("invalid duration", "missing unit in duration", "unknown unit "x" in duration"). Throws CtlFlagError naming `flag`.
 */
export function parseGoDuration(flag: string, s: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const fail = (why: string): never => {
    throw new CtlFlagError(`invalid argument "${s}" for "--${flag}" flag: time: ${why}`);
  };
  const q = (x: string) => JSON.stringify(x);
  let body = s;
  let sign = 1;
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body.startsWith('-') ? -1 : 1;
    body = body.slice(1);
  }
  if (body === '0') return 0;
  if (body === '') fail(`invalid duration ${q(s)}`);
  let total = 0;
  while (body.length > 0) {
    const num = /^(\d*)(\.\d*)?/.exec(body)!;
    if (num[0] === '' || num[0] === '.') fail(`invalid duration ${q(s)}`);
    body = body.slice(num[0].length);
    const u = /^[^0-9.]*/.exec(body)![0];
    if (u === '') fail(`missing unit in duration ${q(s)}`);
    if (unit[u] === undefined) fail(`unknown unit ${q(u)} in duration ${q(s)}`);
    total += Number(num[0]) * unit[u];
    body = body.slice(u.length);
  }
  return sign * total;
}

/** Where output goes; main() sets it so shared code (warnings) writes to the same stderr as commands. */
export const ctlIo: { out: (s: string | Uint8Array) => void; err: (s: string) => void } = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** capnslog's line prefix "2006-01-02 15:04:05.000000 L | pkg: " in local time. */
export function capnslogLine(level: 'W' | 'C' | 'E' | 'I' | 'N', pkg: string, msg: string, now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ts = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}.${p(now.getMilliseconds(), 3)}000`;
  return `${ts} ${level} | ${pkg}: ${msg}\n`;
}

/** Go's gRPC code names (codes.Code.String()). */
const GRPC_CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal',
  'Unavailable', 'DataLoss', 'Unauthenticated'];

/**
 * The zap warning clientv3 3.4 logs to stderr for every failed unary call
 * (clientv3/retry_interceptor.go:62 "retrying of unary invoker failed"). `target` is host:port.
 */
export function retryWarnLine(endpoint: string, code: number, details: string, attempt = 0, now = new Date()): string {
  const target = parseEndpoint(endpoint, false).target;
  const uuid = globalThis.crypto.randomUUID();
  return JSON.stringify({
    level: 'warn', ts: now.toISOString(), caller: 'clientv3/retry_interceptor.go:62', msg: 'retrying of unary invoker failed',
    target: `endpoint://client-${uuid}/${target}`, attempt, error: `rpc error: code = ${GRPC_CODE_NAMES[code] ?? 'Unknown'} desc = ${details}`,
  }) + '\n';
}

function readFile(flag: string, p: string): Buffer {
  try {
    return readFileSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CtlError(code === 'ENOENT' ? `open ${p}: no such file or directory` : `${flag}: cannot read ${p}: ${(e as Error).message}`);
  }
}

/** The root command of `cmd`. */
function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

let envChecked = false;

/**
 * Resolve the global flags of `cmd`: command line first, then ETCDCTL_* from `env`, then etcdctl's defaults.
 * Prints pkg/flags warnings to stderr; throws CtlFatal (exit 1) for a conflicting variable, CtlError for bad
 * values given on the command line, CtlError code 4 for an unknown output format.
 */
export function globals(cmd: Command, env: NodeJS.ProcessEnv = process.env): Globals {
  const root = rootOf(cmd);
  const o = cmd.optsWithGlobals() as Record<string, string | string[] | boolean | undefined>;
  const fromCli = (attr: string) => {
    const src = root.getOptionValueSource(attr);
    return src === 'cli';
  };
  const envName = (flag: string) => 'ETCDCTL_' + flag.toUpperCase().replace(/-/g, '_');
  // pkg/flags verifyEnv: once per process, in environ order
  const known = new Set(Object.keys(GLOBAL_FLAGS).map(envName));
  if (cmd.name() === 'watch') {
    known.add('ETCDCTL_WATCH_KEY');
    known.add('ETCDCTL_WATCH_RANGE_END');
  }
  if (!envChecked) {
    envChecked = true;
    for (const [k, v] of Object.entries(env)) {
      if (k === 'ETCDCTL_API' || v === undefined) continue;
      const flag = Object.keys(GLOBAL_FLAGS).find((f) => envName(f) === k);
      if (flag && fromCli(GLOBAL_FLAGS[flag].attr)) {
        const msg = `conflicting environment variable "${k}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`;
        ctlIo.err(capnslogLine('C', 'pkg/flags', msg));
        throw new CtlFatal(msg);
      }
      if (flag && v !== '') continue;
      if (!flag && known.has(k)) continue;
      if (k.startsWith('ETCDCTL_')) ctlIo.err(capnslogLine('W', 'pkg/flags', `unrecognized environment variable ${k}=${v}`));
    }
  }
  /** The effective text of a flag: CLI value, else a parsable env value, else the default. */
  const value = (flag: string): string | string[] | boolean => {
    const f = GLOBAL_FLAGS[flag];
    const cli = o[f.attr];
    if (fromCli(f.attr) && cli !== undefined) return cli;
    const ev = env[envName(flag)];
    if (ev !== undefined && ev !== '') {
      if (f.kind === 'bool') {
        const b = parseGoBool(ev);
        if (b !== undefined) return b;
      } else if (f.kind === 'duration') {
        try {
          parseGoDuration(flag, ev);
          return ev;
        } catch {
          /* ignored as etcdctl does */
        }
      } else if (f.kind === 'slice') {
        return ev.split(',');
      } else return ev;
    }
    if (f.kind === 'bool') return f.def === 'true';
    if (f.kind === 'slice') return [f.def];
    return f.def;
  };
  const str = (flag: string) => value(flag) as string;
  const w = str('write-out');
  if (!['simple', 'json', 'table', 'fields', 'protobuf'].includes(w)) throw new CtlError('unsupported output format', ExitCode.BadFeature);
  const endpoints = (value('endpoints') as string[]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const cacert = str('cacert');
  const cert = str('cert');
  const key = str('key');
  if (cert && !key) throw new CtlError('KeyFile and CertFile must both be present[key: , cert: ' + cert + ']');
  if (key && !cert) throw new CtlError('KeyFile and CertFile must both be present[key: ' + key + ', cert: ]');
  const insecureTransport = value('insecure-transport') as boolean;
  const secure = !!(cacert || cert) || !insecureTransport;
  const tls = secure
    ? { ca: cacert ? readFile('--cacert', cacert) : (undefined as unknown as Buffer), cert: cert ? readFile('--cert', cert) : undefined, key: key ? readFile('--key', key) : undefined }
    : undefined;
  let auth: Globals['auth'];
  const user = str('user');
  const password = str('password');
  if (user) {
    if (password) auth = { user, password };
    else {
      const i = user.indexOf(':');
      if (i < 0) throw new CtlError('password is required: quorumctl cannot prompt for it; use --user user:password or --password');
      auth = { user: user.slice(0, i), password: user.slice(i + 1) };
    }
  }
  return {
    endpoints,
    tls,
    insecureSkipVerify: value('insecure-skip-tls-verify') as boolean,
    dialTimeoutMs: parseGoDuration('dial-timeout', str('dial-timeout')),
    commandTimeoutMs: parseGoDuration('command-timeout', str('command-timeout')),
    keepaliveTimeMs: parseGoDuration('keepalive-time', str('keepalive-time')),
    keepaliveTimeoutMs: parseGoDuration('keepalive-timeout', str('keepalive-timeout')),
    writeOut: w as OutputFormat,
    hex: value('hex') as boolean,
    debug: value('debug') as boolean,
    auth,
  };
}

/** Reset the once-per-process environment check (tests that call main() repeatedly in one process). */
export function resetGlobalsForTest(): void {
  envChecked = false;
  tokens.clear();
}

/** A client for one endpoint with the command timeout (and the auth token once withClient authenticated). */
export function clientFor(g: Globals, endpoint: string): StoreClient {
  return new StoreClient(endpoint, g.tls, { timeoutMs: g.commandTimeoutMs, token: tokens.get(endpoint), insecureSkipVerify: g.insecureSkipVerify });
}

const tokens = new Map<string, string>();

function isConnectionError(e: unknown): boolean {
  return e instanceof StoreError && (e.code === 14 || (e.code === 4 && /connect|TransientFailure|No connection/i.test(e.details)));
}

/**
 * Authenticate on `c` when --user is given (once per endpoint per process). A FailedPrecondition
 * "authentication is not enabled" is logged and ignored; other failures throw CtlError exit 2.
 */
export async function authenticate(g: Globals, c: StoreClient): Promise<void> {
  if (!g.auth) return;
  const cached = tokens.get(c.endpoint);
  if (cached) {
    c.token = cached;
    return;
  }
  try {
    const r = await c.unary<{ token: string }>('Auth', 'Authenticate', { name: g.auth.user, password: g.auth.password });
    tokens.set(c.endpoint, r.token);
    c.token = r.token;
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    logRpcError(e);
    if (e.details === 'etcdserver: authentication is not enabled') return;
    if (isConnectionError(e)) throw e;
    throw new CtlError(e.details, ExitCode.BadConnection);
  }
}

/** Print clientv3's retry warning for a failed call (connection failures as 3.4's balancer reports them). */
export function logRpcError(e: StoreError): void {
  if (isConnectionError(e)) ctlIo.err(retryWarnLine(e.endpoint, 4, 'latest balancer error: all SubConns are in TransientFailure'));
  else ctlIo.err(retryWarnLine(e.endpoint, e.code, e.details));
}

/**
 * Run `fn` with an authenticated client, trying each endpoint in turn until one answers (etcdctl balances over
 * --endpoints). Errors from a live server are final (logged as clientv3 does, then rethrown); when every
 * endpoint is unreachable the error is etcdctl's "context deadline exceeded".
 */
export async function withClient<T>(g: Globals, fn: (c: StoreClient) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const ep of g.endpoints) {
    const c = clientFor(g, ep);
    try {
      await authenticate(g, c);
      return await fn(c);
    } catch (e) {
      last = e;
      if (e instanceof StoreError && !isConnectionError(e)) {
        logRpcError(e);
        throw e;
      }
      if (!(e instanceof StoreError)) throw e;
    } finally {
      c.close();
    }
  }
  if (last instanceof StoreError) {
    logRpcError(last);
    throw new CtlError('context deadline exceeded');
  }
  throw last;
}

/** The message etcdctl prints for an error. */
export function errorMessage(e: unknown): string {
  if (e instanceof StoreError) {
    if (e.code === 4 || isConnectionError(e)) return 'context deadline exceeded';
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
