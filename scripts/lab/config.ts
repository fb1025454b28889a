/**
 * Fixed facts of the lab (the local test hosts, see shared DESIGN.md "The local test hosts"):
 * where its state lives, the bridge and addresses, and how host N is named.
 */
import { join } from 'node:path';

/** Root of all lab state (base image cache, SSH key, per-host dirs). */
export const LAB_ROOT = '/var/lib/quorum-lab';
/** Extracted base root filesystem: the shared read-only overlay lower dir. */
export const BASE_DIR = join(LAB_ROOT, 'base');
/** zstd tar of the base root filesystem (the cache a fresh machine unpacks instead of debootstrapping). */
export const BASE_TAR = join(LAB_ROOT, 'base.tar.zst');
/** JSON stamp beside the tar / inside the base dir naming the recipe that built it. */
export const BASE_STAMP_TAR = join(LAB_ROOT, 'base.recipe');
export const BASE_STAMP_DIR = join(LAB_ROOT, 'base.extracted');
/** SSH key pair whose public half is root's authorized key in every host. */
export const SSH_DIR = join(LAB_ROOT, 'ssh');
export const SSH_KEY = join(SSH_DIR, 'id_ed25519');
/** Per-host state: hosts/<name>/{upper,work,merged,state.json,launch.sh,*.pid}. */
export const HOSTS_DIR = join(LAB_ROOT, 'hosts');
/** Console logs of the hosts (<name>.log), kept after `lab down` for post-mortems; truncated on relaunch. */
export const LOGS_DIR = join(LAB_ROOT, 'logs');
/** Lock file serialising lab up/down between processes. */
export const LOCK_FILE = join(LAB_ROOT, 'lock');

/** Linux bridge the hosts' veth pairs are attached to (no uplink, no NAT). */
export const BRIDGE = 'qlab0';
/** Address of the operator machine on the bridge, with prefix. */
export const BRIDGE_ADDRESS = '10.88.0.1/24';
/** Cgroup name under each hierarchy root: /sys/fs/cgroup/{systemd,unified}/quorum-lab/<host>. */
export const CGROUP_NAME = 'quorum-lab';
/** Cgroup hierarchies each launcher is moved into (this machine: cgroup v1 hybrid, PID 1 not systemd). */
export const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

/** Largest number of hosts (3/5/7-member clusters). */
export const MAX_HOSTS = 7;

/** Debian suite and packages of the base (DESIGN.md). */
export const SUITE = 'bookworm';
export const BASE_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'nftables', 'iproute2', 'sudo', 'procps',
  'ca-certificates', 'netcat-openbsd',
];
/**
 * Version of the base recipe (the steps in base.ts). Bump it whenever those steps change:
 * a cached base with another version is rebuilt on the next `lab up` (when no host runs).
 */
export const BASE_RECIPE_VERSION = 1;

/** One lab host. */
export interface LabHost {
  /** Host, machine and member name: `etcd-0N`. */
  name: string;
  /** 1-based host number N. */
  index: number;
  /** IPv4 address on the bridge: `10.88.0.(10+N)`. */
  address: string;
}

/** The lab host with number `n` (1..7). Throws RangeError outside that range. */
export function labHost(n: number): LabHost {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) {
    throw new RangeError(`lab host number must be 1..${MAX_HOSTS}, got ${n}`);
  }
  return { name: `etcd-0${n}`, index: n, address: `10.88.0.${10 + n}` };
}

/** The host with `name` (`etcd-0N`), or undefined when the name is not a lab host name. */
export function labHostByName(name: string): LabHost | undefined {
  const m = /^etcd-0([1-9])$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= MAX_HOSTS ? labHost(n) : undefined;
}

/** Directory of one host's state. */
export function hostDir(name: string): string {
  return join(HOSTS_DIR, name);
}
