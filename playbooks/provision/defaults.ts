/**
 * Defaults of the provision playbook (Ansible role style: named, commented, overridable through
 * `ProvisionOptions`). Paths of the rendered files come from `memberPaths` in files.ts.
 */

/** The systemd unit of a member. */
export const UNIT = 'quorumd.service';

/** Releases unpack to `<RELEASE_ROOT>/<version>`; the binaries are linked into /usr/local/bin. */
export const RELEASE_ROOT = '/opt/quorum';

/** Links to the installed release's programs: link path -> path inside the release directory. */
export const RELEASE_LINKS: Record<string, string> = {
  '/usr/local/bin/quorumd': 'bin/quorumd',
  '/usr/local/bin/quorumctl': 'bin/quorumctl',
};

/** The nftables table the firewall template defines. */
export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'quorum';

/** Handler: `systemctl daemon-reload` on the host (runs right after its tasks). */
export const HANDLER_DAEMON_RELOAD = 'daemon-reload';
/** Handler: restart the member (cluster phase: one member at a time behind the health gate). */
export const HANDLER_RESTART = 'restart';

/** How long the health gate waits for every member to be healthy with one leader, ms. */
export const HEALTH_TIMEOUT_MS = 90_000;
/** Interval between health probes, ms. */
export const HEALTH_POLL_MS = 1_000;
/** Timeout of one status RPC, ms. */
export const STATUS_RPC_TIMEOUT_MS = 3_000;

/**
 * Sub-path of the data dir whose presence means the member has bootstrapped (etcd's layout:
 * `<data-dir>/member/wal`); then `initial-cluster-state` must be `existing`.
 */
export const WAL_SUBDIR = 'member/wal';
