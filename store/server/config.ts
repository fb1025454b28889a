/**
 * quorumd's configuration: etcd 3.4's flags, ETCD_* environment variables and YAML config-file keys
 * (etcd docs "Configuration flags", etcd.conf.yml.sample), with etcd's defaults, into a validated ServerConfig.
 *
 * Precedence as etcd: when --config-file (or ETCD_CONFIG_FILE) is given, the file is the whole configuration
 * and other flags/env are ignored; otherwise flags override ETCD_* variables, which override defaults.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseWatchInterval } from './watch_options.js';

/** TLS material for one listener kind (client or peer). Paths to PEM files; '' when unset. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  /** Require and verify client certificates against trustedCaFile. */
  clientCertAuth: boolean;
}

/** One member of --initial-cluster. */
export interface InitialMember {
  name: string;
  peerUrls: string[];
}

/** The validated configuration of one quorumd member. Durations in ms, sizes in bytes. */
export interface ServerConfig {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialCluster: InitialMember[];
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** 0 in the input means etcd's default, 2 GiB; this field holds the effective quota. */
  quotaBackendBytes: number;
  /** Largest client request accepted (etcd default 1.5 MiB). */
  maxRequestBytes: number;
  /** Most ops in one txn branch (etcd --max-txn-ops, default 128); undefined = the default. */
  maxTxnOps?: number;
  /** Period of watch progress notifications, ms (--experimental-watch-progress-notify-interval, etcd default 10m). */
  watchProgressNotifyIntervalMs?: number;
  listenMetricsUrls: string[];
  /** Simple auth token TTL in seconds, sliding (etcd --auth-token-ttl, default 300); --auth-token accepts only `simple`. */
  authTokenTtlSec?: number;
  clientTls: TlsConfig;
  peerTls: TlsConfig;
  /** Flags/keys accepted for etcd compatibility but without effect here. */
  ignored: string[];
  /** Snapshot and compaction (snapshot_policy.ts); undefined = etcd's defaults. */
  snapshot?: SnapshotFlags;
  /** etcd --initial-election-tick-advance (default true): fast-forward the election timer on boot (election_advance.ts); undefined = true. */
  initialElectionTickAdvance?: boolean;
}

/** etcd's --snapshot-count (default 100000), --experimental-snapshot-catchup-entries (5000), --max-snapshots (5), --max-wals (5). */
export interface SnapshotFlags {
  count: number;
  catchupEntries: number;
  maxSnapshots: number;
  maxWals: number;
}

/** A configuration error; the message names the flag (or config key) and what is wrong. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What the command line asks for: print the version, or run with this configuration. */
export type ParsedCommand = { kind: 'version' } | { kind: 'help' } | { kind: 'run'; config: ServerConfig };

const DEFAULT_QUOTA = 2 * 1024 * 1024 * 1024;
const DEFAULT_MAX_REQUEST = 1.5 * 1024 * 1024;

type Kind = 'string' | 'urls' | 'int' | 'bool';
const FLAGS: Record<string, Kind> = {
  name: 'string',
  'data-dir': 'string',
  'listen-client-urls': 'urls',
  'advertise-client-urls': 'urls',
  'listen-peer-urls': 'urls',
  'initial-advertise-peer-urls': 'urls',
  'initial-cluster': 'string',
  'initial-cluster-state': 'string',
  'initial-cluster-token': 'string',
  'log-level': 'string',
  'heartbeat-interval': 'int',
  'election-timeout': 'int',
  'quota-backend-bytes': 'int',
  'max-request-bytes': 'int',
  'max-txn-ops': 'int',
  'experimental-watch-progress-notify-interval': 'string',
  'listen-metrics-urls': 'urls',
  'cert-file': 'string',
  'key-file': 'string',
  'trusted-ca-file': 'string',
  'client-cert-auth': 'bool',
  'peer-cert-file': 'string',
  'peer-key-file': 'string',
  'peer-trusted-ca-file': 'string',
  'peer-client-cert-auth': 'bool',
  'config-file': 'string',
  'auth-token': 'string',
  'auth-token-ttl': 'int',
  'snapshot-count': 'int',
  'experimental-snapshot-catchup-entries': 'int',
  'max-snapshots': 'int',
  'max-wals': 'int',
  'initial-election-tick-advance': 'bool',
};

/** etcd flags accepted and ignored (with a warning) so existing etcd command lines and files still start. */
const IGNORED: Record<string, Kind> = {
  'auto-compaction-retention': 'string',
  'auto-compaction-mode': 'string',
  'enable-v2': 'bool',
  'enable-pprof': 'bool',
  'strict-reconfig-check': 'bool',
  logger: 'string',
  'log-outputs': 'string',
  metrics: 'string',
  'cipher-suites': 'string',
  'auto-tls': 'bool',
  'peer-auto-tls': 'bool',
  'client-crl-file': 'string',
  'peer-crl-file': 'string',
  'grpc-keepalive-min-time': 'string',
  'grpc-keepalive-interval': 'string',
  'grpc-keepalive-timeout': 'string',
  'force-new-cluster': 'bool',
  'wal-dir': 'string',
  debug: 'bool',
  'bcrypt-cost': 'int',
};

type Raw = Map<string, string | boolean>;

/**
 * Parse a quorumd command line (argv without node and script), with `env` for ETCD_* variables.
 * Accepts `--flag value`, `--flag=value` and the single-dash forms, as Go's flag package does.
 * Throws ConfigError naming the flag on unknown flags, missing or bad values, or inconsistent settings.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand {
  const raw: Raw = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw new ConfigError(`'${arg}' is not a valid flag`);
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'version') return { kind: 'version' };
    if (name === 'help' || name === 'h') return { kind: 'help' };
    const kind = FLAGS[name] ?? IGNORED[name];
    if (!kind) throw new ConfigError(`unknown flag: --${name}`);
    if (eq >= 0) {
      raw.set(name, kind === 'bool' ? parseBool(`--${name}`, body.slice(eq + 1)) : body.slice(eq + 1));
    } else if (kind === 'bool') {
      raw.set(name, true);
    } else {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: --${name}`);
      raw.set(name, argv[++i]);
    }
  }
  const configFile = (raw.get('config-file') as string | undefined) ?? env.ETCD_CONFIG_FILE;
  if (configFile) return { kind: 'run', config: loadConfigFile(configFile) };
  // ETCD_* variables fill what the flags did not set.
  for (const [name, kind] of Object.entries({ ...FLAGS, ...IGNORED })) {
    const v = env['ETCD_' + name.toUpperCase().replace(/-/g, '_')];
    if (v !== undefined && !raw.has(name)) raw.set(name, kind === 'bool' ? parseBool(`ETCD_${name}`, v) : v);
  }
  return { kind: 'run', config: buildConfig(raw, (n) => `--${n}`) };
}

/** Read an etcd YAML config file into a ServerConfig. Throws ConfigError naming the file and key. */
export function loadConfigFile(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config-file: cannot read ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`--config-file: ${path} is not valid YAML: ${(e as Error).message}`);
  }
  return configFromObject((doc ?? {}) as Record<string, unknown>, path);
}

/** Build a ServerConfig from a parsed YAML document (etcd's config-file keys). `where` names it in errors. */
export function configFromObject(doc: Record<string, unknown>, where = 'config'): ServerConfig {
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where}: expected a YAML mapping`);
  const raw: Raw = new Map();
  const put = (key: string, value: unknown, kind: Kind) => {
    if (value === null || value === undefined) return;
    if (kind === 'bool') {
      if (typeof value !== 'boolean') throw new ConfigError(`${where}: ${key}: expected true or false, got ${JSON.stringify(value)}`);
      raw.set(key, value);
    } else if (typeof value === 'string' || typeof value === 'number') {
      raw.set(key, String(value));
    } else if (Array.isArray(value) && kind === 'urls') {
      raw.set(key, value.map(String).join(','));
    } else {
      throw new ConfigError(`${where}: ${key}: expected a ${kind === 'int' ? 'number' : 'string'}, got ${JSON.stringify(value)}`);
    }
  };
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'client-transport-security' || key === 'peer-transport-security') {
      const prefix = key === 'peer-transport-security' ? 'peer-' : '';
      const sec = (value ?? {}) as Record<string, unknown>;
      if (typeof sec !== 'object') throw new ConfigError(`${where}: ${key}: expected a mapping`);
      for (const [k, v] of Object.entries(sec)) {
        const flag = k === 'client-cert-auth' ? `${prefix}client-cert-auth` : `${prefix}${k}`;
        const kind = FLAGS[flag];
        if (kind && ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth'].includes(k)) put(flag, v, kind);
        else ignored.push(`${key}.${k}`);
      }
    } else if (FLAGS[key] && key !== 'config-file') {
      put(key, value, FLAGS[key]);
    } else {
      ignored.push(key); // etcd's YAML loader ignores keys it does not know as well
    }
  }
  const cfg = buildConfig(raw, (n) => `${where}: ${n}`);
  cfg.ignored.push(...ignored);
  return cfg;
}

function parseBool(flag: string, v: string): boolean {
  if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(v)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v)) return false;
  throw new ConfigError(`${flag}: invalid boolean value ${JSON.stringify(v)}`);
}

/** Parse a comma-separated URL list; each must be http:// or https:// with a host and a port. */
export function parseUrls(flag: string, value: string, allowEmpty = false): string[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0 && !allowEmpty) throw new ConfigError(`${flag}: expected at least one URL`);
  return parts.map((p) => {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new ConfigError(`${flag}: ${JSON.stringify(p)} is not a URL (expected e.g. https://10.0.0.1:2379)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ConfigError(`${flag}: URL scheme must be http or https: ${JSON.stringify(p)}`);
    }
    if (!u.port) throw new ConfigError(`${flag}: URL must include a port: ${JSON.stringify(p)}`);
    if (u.pathname !== '/' && u.pathname !== '') throw new ConfigError(`${flag}: URL must not have a path: ${JSON.stringify(p)}`);
    return `${u.protocol}//${u.host}`;
  });
}

/** Parse "name1=url1,name1=url2,name2=url3" (--initial-cluster) keeping first-seen name order. */
export function parseInitialCluster(flag: string, value: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${flag}: ${JSON.stringify(part)} is not NAME=URL`);
    const name = part.slice(0, eq);
    const urls = parseUrls(flag, part.slice(eq + 1));
    byName.set(name, [...(byName.get(name) ?? []), ...urls]);
  }
  if (byName.size === 0) throw new ConfigError(`${flag}: expected at least one NAME=URL`);
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}

function buildConfig(raw: Raw, flagName: (n: string) => string): ServerConfig {
  const str = (n: string, d: string): string => {
    const v = raw.get(n);
    return v === undefined ? d : String(v);
  };
  const int = (n: string, d: number): number => {
    const v = raw.get(n);
    if (v === undefined || v === '') return d;
    if (!/^\d+$/.test(String(v))) throw new ConfigError(`${flagName(n)}: invalid value ${JSON.stringify(v)}: expected a non-negative whole number`);
    return Number(v);
  };
  const bool = (n: string): boolean => raw.get(n) === true || raw.get(n) === 'true';
  const name = str('name', 'default');
  const initialAdvertisePeerUrls = parseUrls(flagName('initial-advertise-peer-urls'), str('initial-advertise-peer-urls', 'http://localhost:2380'));
  const initialClusterRaw = str('initial-cluster', `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`);
  const initialCluster = parseInitialCluster(flagName('initial-cluster'), initialClusterRaw);
  const state = str('initial-cluster-state', 'new');
  if (state !== 'new' && state !== 'existing') {
    throw new ConfigError(`${flagName('initial-cluster-state')}: must be "new" or "existing", got ${JSON.stringify(state)}`);
  }
  const logLevel = str('log-level', 'info');
  if (!['debug', 'info', 'warn', 'error', 'panic', 'fatal'].includes(logLevel)) {
    throw new ConfigError(`${flagName('log-level')}: must be one of debug, info, warn, error, panic, fatal; got ${JSON.stringify(logLevel)}`);
  }
  const heartbeat = int('heartbeat-interval', 100);
  const election = int('election-timeout', 1000);
  if (heartbeat <= 0) throw new ConfigError(`${flagName('heartbeat-interval')}: must be > 0 ms`);
  if (election < 5 * heartbeat) {
    throw new ConfigError(`${flagName('election-timeout')}[${election}ms] should be at least as 5 times as ${flagName('heartbeat-interval')}[${heartbeat}ms]`);
  }
  if (election > 50000) throw new ConfigError(`${flagName('election-timeout')}[${election}ms] is too long, and should be set less than 50000ms`);
  const quota = int('quota-backend-bytes', 0);
  const tls = (prefix: string): TlsConfig => ({
    certFile: str(`${prefix}cert-file`, ''),
    keyFile: str(`${prefix}key-file`, ''),
    trustedCaFile: str(`${prefix}trusted-ca-file`, ''),
    clientCertAuth: bool(`${prefix}client-cert-auth`),
  });
  const authTokenTtl = () => { // auth: only etcd's simple tokens (store/auth/tokens.ts)
    const kind = str('auth-token', 'simple');
    if (kind !== 'simple') throw new ConfigError(`${flagName('auth-token')}: only "simple" tokens are supported, not ${JSON.stringify(kind)}`);
    const ttl = int('auth-token-ttl', 300);
    if (ttl <= 0) throw new ConfigError(`${flagName('auth-token-ttl')} must be positive`);
    return ttl;
  };
  const cfg: ServerConfig = {
    name,
    dataDir: str('data-dir', `${name}.etcd`),
    listenClientUrls: parseUrls(flagName('listen-client-urls'), str('listen-client-urls', 'http://localhost:2379')),
    advertiseClientUrls: parseUrls(flagName('advertise-client-urls'), str('advertise-client-urls', 'http://localhost:2379')),
    listenPeerUrls: parseUrls(flagName('listen-peer-urls'), str('listen-peer-urls', 'http://localhost:2380')),
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: str('initial-cluster-token', 'etcd-cluster'),
    logLevel: logLevel as ServerConfig['logLevel'],
    heartbeatIntervalMs: heartbeat,
    electionTimeoutMs: election,
    quotaBackendBytes: quota === 0 ? DEFAULT_QUOTA : quota,
    maxRequestBytes: int('max-request-bytes', DEFAULT_MAX_REQUEST),
    maxTxnOps: int('max-txn-ops', 128),
    watchProgressNotifyIntervalMs: parseWatchInterval(flagName('experimental-watch-progress-notify-interval'), str('experimental-watch-progress-notify-interval', '10m')),
    listenMetricsUrls: parseUrls(flagName('listen-metrics-urls'), str('listen-metrics-urls', ''), true),
    authTokenTtlSec: authTokenTtl(),
    clientTls: tls(''),
    peerTls: tls('peer-'),
    ignored: [...raw.keys()].filter((k) => IGNORED[k] !== undefined),
    snapshot: {
      count: int('snapshot-count', 100000),
      catchupEntries: int('experimental-snapshot-catchup-entries', 5000),
      maxSnapshots: int('max-snapshots', 5),
      maxWals: int('max-wals', 5),
    },
    initialElectionTickAdvance: raw.has('initial-election-tick-advance') ? bool('initial-election-tick-advance') : true,
  };
  for (const [k, v] of [['snapshot-count', cfg.snapshot!.count], ['experimental-snapshot-catchup-entries', cfg.snapshot!.catchupEntries]] as const) {
    if (v < 1) throw new ConfigError(`${flagName(k)} must be at least 1, got ${v}`);
  }
  const self = cfg.initialCluster.find((m) => m.name === cfg.name);
  if (!self) {
    throw new ConfigError(`${flagName('initial-cluster')}: couldn't find local name ${JSON.stringify(cfg.name)} in the initial cluster configuration`);
  }
  if ([...self.peerUrls].sort().join(',') !== [...cfg.initialAdvertisePeerUrls].sort().join(',')) {
    throw new ConfigError(
      `${flagName('initial-cluster')} has ${cfg.name}=${self.peerUrls.join(',')} but missing from ${flagName('initial-advertise-peer-urls')}=${cfg.initialAdvertisePeerUrls.join(',')}`,
    );
  }
  checkTls(cfg.clientTls, cfg.listenClientUrls, '', flagName);
  checkTls(cfg.peerTls, cfg.listenPeerUrls, 'peer-', flagName);
  return cfg;
}

function checkTls(t: TlsConfig, urls: string[], prefix: string, flagName: (n: string) => string): void {
  const https = urls.some((u) => u.startsWith('https:'));
  if (https && (!t.certFile || !t.keyFile)) {
    throw new ConfigError(`${flagName(`${prefix}cert-file`)} and ${flagName(`${prefix}key-file`)} are required for https:// ${prefix ? 'peer' : 'client'} URLs`);
  }
  if (t.clientCertAuth && !t.trustedCaFile) {
    throw new ConfigError(`${flagName(`${prefix}client-cert-auth`)} needs ${flagName(`${prefix}trusted-ca-file`)}`);
  }
}
