/**
 * The inventory file as written (kebab-case keys), after it passed inventory/schema.json and before
 * defaults are applied. Mirrors the schema; see inventory/example.yaml.
 */

/** `ssh:` at the top level (and, without connect-timeout, under a host's `overrides:`). */
export interface RawSsh {
  'user'?: string;
  'port'?: number;
  'private-key'?: string;
  /** ms */
  'connect-timeout'?: number;
  /** `[user@]host[:port]` */
  'jump-host'?: string;
  'known-hosts'?: string;
  'use-agent'?: boolean;
  'sudo-password-prompt'?: boolean;
  'forks'?: number;
}

/** Store settings a host may override. */
export interface RawStoreOverrides {
  'log-level'?: 'debug' | 'info' | 'warn' | 'error';
  'heartbeat-interval'?: number;
  'election-timeout'?: number;
  'quota-backend-bytes'?: number;
}

export interface RawHost {
  'name': string;
  'address': string;
  'overrides'?: RawStoreOverrides & { ssh?: Omit<RawSsh, 'connect-timeout'> };
}

export interface RawInventory {
  cluster?: RawStoreOverrides & {
    'name'?: string;
    'initial-cluster-token'?: string;
    'client-port'?: number;
    'peer-port'?: number;
    'metrics-port'?: number;
    'user'?: string;
    'data-dir'?: string;
    'config-dir'?: string;
    'release'?: string;
  };
  ssh?: RawSsh;
  pki?: { 'dir'?: string; 'ca-csr'?: string; 'ca-config'?: string; 'cert-days'?: number; 'cert-minutes'?: number };
  hosts: RawHost[];
}
