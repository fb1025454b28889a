/**
 * Defaults (etcd's and the reference articles') and path resolution: RawInventory -> Inventory.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { RawInventory, RawSsh } from './raw.js';
import type { HostSpec, Inventory, SshSettings, StoreSettings } from './types.js';

/** Default values applied when a key is absent. Units: ms, bytes, days. */
export const DEFAULTS = {
  clusterName: 'quorum',
  clientPort: 2379,
  peerPort: 2380,
  metricsPort: 2381,
  user: 'etcd',
  dataDir: '/var/lib/etcd',
  configDir: '/etc/etcd',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  logLevel: 'info' as const,
  sshUser: 'root',
  sshPort: 22,
  sshConnectTimeoutMs: 10000,
  certDays: 365,
} as const;

/**
 * Resolve an operator-side path: `~` and `~/...` to the home directory, relative paths against the
 * directory of the inventory file.
 */
export function resolveLocalPath(p: string, inventoryFile: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(dirname(inventoryFile), p);
}

/** The effective store settings of a host: cluster values, then the host's overrides. */
export function effectiveStore(raw: RawInventory, hostIndex: number | undefined): StoreSettings {
  const c = raw.cluster ?? {};
  const o = hostIndex === undefined ? {} : raw.hosts[hostIndex].overrides ?? {};
  return {
    heartbeatIntervalMs: o['heartbeat-interval'] ?? c['heartbeat-interval'] ?? DEFAULTS.heartbeatIntervalMs,
    electionTimeoutMs: o['election-timeout'] ?? c['election-timeout'] ?? DEFAULTS.electionTimeoutMs,
    quotaBackendBytes: o['quota-backend-bytes'] ?? c['quota-backend-bytes'] ?? DEFAULTS.quotaBackendBytes,
    logLevel: o['log-level'] ?? c['log-level'] ?? DEFAULTS.logLevel,
  };
}

/** Apply defaults and resolve paths. `file` must be absolute. The input must have passed the schema. */
export function applyDefaults(raw: RawInventory, file: string): Inventory {
  const c = raw.cluster ?? {};
  const name = c.name ?? DEFAULTS.clusterName;
  const s = raw.ssh ?? {};
  const ssh: SshSettings = {
    user: s.user ?? DEFAULTS.sshUser,
    port: s.port ?? DEFAULTS.sshPort,
    connectTimeoutMs: s['connect-timeout'] ?? DEFAULTS.sshConnectTimeoutMs,
  };
  if (s['private-key'] !== undefined) ssh.privateKey = resolveLocalPath(s['private-key'], file);
  applySshExtras(ssh, s, file);
  const p = raw.pki ?? {};
  const inv: Inventory = {
    file,
    cluster: {
      name,
      token: c['initial-cluster-token'] ?? `${name}-token`,
      clientPort: c['client-port'] ?? DEFAULTS.clientPort,
      peerPort: c['peer-port'] ?? DEFAULTS.peerPort,
      metricsPort: c['metrics-port'] ?? DEFAULTS.metricsPort,
      user: c.user ?? DEFAULTS.user,
      dataDir: c['data-dir'] ?? DEFAULTS.dataDir,
      configDir: c['config-dir'] ?? DEFAULTS.configDir,
      store: effectiveStore(raw, undefined),
    },
    ssh,
    pki: {
      dir: resolveLocalPath(p.dir ?? `~/.quorum/${name}/pki`, file),
      // cert-minutes (short lifetimes) overrides cert-days; certDays may then be fractional
      certDays: p['cert-minutes'] !== undefined ? p['cert-minutes'] / 1440 : p['cert-days'] ?? DEFAULTS.certDays,
    },
    hosts: raw.hosts.map((h, i): HostSpec => {
      const hs = h.overrides?.ssh ?? {};
      const hostSsh: SshSettings = {
        user: hs.user ?? ssh.user,
        port: hs.port ?? ssh.port,
        connectTimeoutMs: ssh.connectTimeoutMs,
      };
      const key = hs['private-key'] !== undefined ? resolveLocalPath(hs['private-key'], file) : ssh.privateKey;
      if (key !== undefined) hostSsh.privateKey = key;
      applySshExtras(hostSsh, { ...pickSshExtras(ssh), ...(hs['jump-host'] !== undefined ? { 'jump-host': hs['jump-host'] } : {}) }, file, ssh);
      return { name: h.name, address: h.address, ssh: hostSsh, store: effectiveStore(raw, i) };
    }),
  };
  if (c.release !== undefined) inv.cluster.release = resolveLocalPath(c.release, file);
  if (p['ca-csr'] !== undefined) inv.pki.caCsr = resolveLocalPath(p['ca-csr'], file);
  if (p['ca-config'] !== undefined) inv.pki.caConfig = resolveLocalPath(p['ca-config'], file);
  return inv;
}

/** The cluster-level ssh extras as raw keys (hosts inherit them; `jump-host` may be overridden per host). */
function pickSshExtras(ssh: SshSettings): RawSsh {
  const r: RawSsh = {};
  if (ssh.jumpHost) r['jump-host'] = `${ssh.jumpHost.user}@${ssh.jumpHost.address}:${ssh.jumpHost.port}`;
  if (ssh.knownHosts !== undefined) r['known-hosts'] = ssh.knownHosts;
  if (ssh.useAgent !== undefined) r['use-agent'] = ssh.useAgent;
  if (ssh.sudoPasswordPrompt !== undefined) r['sudo-password-prompt'] = ssh.sudoPasswordPrompt;
  if (ssh.forks !== undefined) r.forks = ssh.forks;
  return r;
}

/** Sets jump host, known_hosts, agent, sudo prompt and forks on `out` from raw `s` (schema-checked). */
function applySshExtras(out: SshSettings, s: RawSsh, file: string, base: SshSettings = out): void {
  const j = s['jump-host'];
  if (j !== undefined) {
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(j)!;
    out.jumpHost = { user: m[1] ?? base.user, address: m[2]!, port: m[3] ? Number(m[3]) : 22 };
  }
  if (s['known-hosts'] !== undefined) out.knownHosts = resolveLocalPath(s['known-hosts'], file);
  if (s['use-agent'] !== undefined) out.useAgent = s['use-agent'];
  if (s['sudo-password-prompt'] !== undefined) out.sudoPasswordPrompt = s['sudo-password-prompt'];
  if (s.forks !== undefined) out.forks = s.forks;
}
