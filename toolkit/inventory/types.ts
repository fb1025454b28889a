/**
 * The inventory after validation and defaults: what every other part of the toolkit consumes.
 * The YAML shape (kebab-case keys, etcd's names where etcd has one) is described in
 * inventory/schema.json and inventory/example.yaml; `loadInventory()` turns it into this.
 */

/** How to reach a host over SSH. */
export interface SshSettings {
  /** Login user (default `root`). */
  user: string;
  /** TCP port (default 22). */
  port: number;
  /** Absolute path of the private key file (`~` expanded, relative paths resolved against the inventory file). */
  privateKey?: string;
  /** Connect timeout, ms (default 10000). */
  connectTimeoutMs: number;
  /** Bastion (`ssh.jump-host: [user@]host[:port]`); user and key default to this host's. */
  jumpHost?: { address: string; port: number; user: string };
  /** Absolute path of the known_hosts file pinning host keys; undefined = keys not checked. */
  knownHosts?: string;
  /** Offer agent keys beside `privateKey` (default false; without privateKey the agent is used anyway). */
  useAgent?: boolean;
  /** Prompt once per run for the login user's sudo password (default false: passwordless sudo). */
  sudoPasswordPrompt?: boolean;
  /** Parallel SSH operations limit (`ssh.forks`, `--forks`); undefined = unbounded. */
  forks?: number;
}

/** Store settings, per cluster, overridable per host. Names follow etcd's config-file keys. */
export interface StoreSettings {
  /** `heartbeat-interval`, ms (default 100). */
  heartbeatIntervalMs: number;
  /** `election-timeout`, ms (default 1000); must be >= 5 x heartbeat. */
  electionTimeoutMs: number;
  /** `quota-backend-bytes`, bytes (default 2 GiB = 2147483648). */
  quotaBackendBytes: number;
  /** `log-level`: debug | info | warn | error (default info). */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** One member host. */
export interface HostSpec {
  /** Member and host name (`etcd-01`): RFC 1123 label. */
  name: string;
  /** IPv4 address members and the operator use to reach it. */
  address: string;
  ssh: SshSettings;
  store: StoreSettings;
}

/** The whole validated inventory. */
export interface Inventory {
  /** Absolute path of the inventory file (for messages and relative paths). */
  file: string;
  cluster: {
    /** Cluster name (default `quorum`); names the operator's state directory. */
    name: string;
    /** `initial-cluster-token` (default `<name>-token`). */
    token: string;
    /** Ports (defaults 2379 / 2380 / 2381). */
    clientPort: number;
    peerPort: number;
    metricsPort: number;
    /** System user owning data and config (default `etcd`). */
    user: string;
    /** `/var/lib/etcd` by default. */
    dataDir: string;
    /** `/etc/etcd` by default. */
    configDir: string;
    /** Absolute path of the release tarball to install; undefined = the project's `release/` build of this version. */
    release?: string;
    store: StoreSettings;
  };
  ssh: SshSettings;
  pki: {
    /** Operator-side directory with the CA and issued certs (default `~/.quorum/<cluster>/pki`). */
    dir: string;
    /** Optional cfssl csr.json for the CA. */
    caCsr?: string;
    /** Optional cfssl ca-config.json (profiles, expiry). */
    caConfig?: string;
    /** Lifetime of leaf certificates, days (default 365); fractional when the inventory gives `cert-minutes`. */
    certDays: number;
  };
  hosts: HostSpec[];
}
