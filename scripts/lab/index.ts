/**
 * The lab: real local test hosts (systemd-nspawn containers with systemd as PID 1) on a private bridge,
 * reachable as root over SSH, for the e2e tier. See shared DESIGN.md "The local test hosts (the lab)".
 *
 * Importing this module has no side effects. Every entry point needs root on a Debian machine with
 * debootstrap, systemd-container, zstd and nftables installed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { BASE_DIR, BASE_TAR, HOSTS_DIR, LAB_ROOT, MAX_HOSTS, labHost, labHostByName, type LabHost } from './config.js';
import { baseIsCurrent, ensureBase, ensureSshKey } from './base.js';
import { cgroupHostNames, removeLabCgroupIfEmpty } from './cgroup.js';
import { destroyHost, hostDirNames, isRunning, launchHost, logTail, mountsUnder, nspawnPid, prepareHost } from './host.js';
import { writeLabInventory } from './inventory.js';
import { withLabLock } from './lock.js';
import { bridgeExists, deleteBridge, ensureBridge } from './network.js';
import { run } from './run.js';
import { sshArgs, waitReady } from './ssh.js';

export { labExec, type LabExecOptions } from './ssh.js';
export { labHost, labHostByName, type LabHost, LAB_ROOT, SSH_KEY, BRIDGE, MAX_HOSTS } from './config.js';
export { labInventoryYaml, defaultInventoryPath } from './inventory.js';
export { labUserAdd, labSshPort, labUserKey, type LabUser, type LabUserOptions } from './user.js';
export type { RunResult } from './run.js';

/** Options of {@link labUp}. */
export interface LabUpOptions {
  /** Number of hosts, 1..7 (default 3): etcd-01..etcd-0N at 10.88.0.11.. */
  hosts?: number;
  /** Where to write the inventory (default <project>/inventory/lab.yaml); `false` = do not write it. */
  inventoryPath?: string | false;
  /** Per-host readiness timeout, ms (default 120000). */
  readyTimeoutMs?: number;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

const stderrLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Every host name the lab has any trace of: a host dir, a cgroup or a mount under HOSTS_DIR. */
function knownHostNames(): string[] {
  const names = new Set<string>([...hostDirNames(), ...cgroupHostNames()]);
  for (const mp of mountsUnder(HOSTS_DIR)) {
    const rel = mp.slice(HOSTS_DIR.length + 1).split('/')[0];
    if (rel) names.add(rel);
  }
  return [...names].sort();
}

/**
 * Brings the lab to exactly `hosts` running hosts and returns them (sorted by number) once each answers
 * `systemctl is-system-running` with running or degraded over SSH. Idempotent: running wanted hosts are
 * kept as they are; wanted hosts that are missing or stopped are (re)created fresh from the base; hosts
 * numbered above `hosts` are destroyed. Builds or unpacks the base image first when needed (only while
 * no host runs). Writes the inventory when it differs.
 * Throws RangeError for a bad host count, Error when the base is stale while hosts run, and Error with
 * the host's log tail when a host is not ready within `readyTimeoutMs`.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabHost[]> {
  const count = opts.hosts ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new RangeError(`lab: --hosts must be 1..${MAX_HOSTS}, got ${count}`);
  }
  const log = opts.log ?? stderrLog;
  const wanted = Array.from({ length: count }, (_, i) => labHost(i + 1));
  return withLabLock(async () => {
    mkdirSync(LAB_ROOT, { recursive: true });
    const pubKey = await ensureSshKey();
    const wantedNames = new Set(wanted.map((h) => h.name));
    const extra = knownHostNames().filter((n) => !wantedNames.has(n));
    const stopped = wanted.filter((h) => !isRunning(h.name)).map((h) => h.name);
    const toDestroy = [...extra, ...stopped.filter((n) => knownHostNames().includes(n))];
    if (toDestroy.length) log(`lab: removing ${toDestroy.join(', ')}`);
    await Promise.all(toDestroy.map((n) => destroyHost(n)));

    const running = wanted.filter((h) => isRunning(h.name));
    if (running.length > 0) {
      if (!baseIsCurrent(pubKey)) {
        throw new Error('lab: the base image is out of date but hosts run on it (fix: quorum lab down, then lab up)');
      }
    } else {
      const t0 = Date.now();
      const did = await ensureBase(pubKey, log);
      if (did !== 'kept') log(`lab: base image ${did} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    await ensureBridge();
    const missing = wanted.filter((h) => !isRunning(h.name));
    if (missing.length) log(`lab: starting ${missing.map((h) => h.name).join(', ')}`);
    for (const h of missing) {
      await prepareHost(h);
      await launchHost(h);
    }
    await Promise.all(
      wanted.map(async (h) => {
        let r;
        try {
          r = await waitReady(h, opts.readyTimeoutMs ?? 120_000);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n--- ${h.name} log tail ---\n${logTail(h.name)}`);
        }
        if (r.state === 'degraded') log(`lab: ${h.name} is degraded; failed units: ${r.failedUnits.join(' ')}`);
      }),
    );
    if (opts.inventoryPath !== false) {
      if (writeLabInventory(wanted, opts.inventoryPath)) log('lab: wrote the lab inventory');
    }
    log(`lab: up: ${wanted.map((h) => `${h.name} ${h.address}`).join(', ')}`);
    return wanted;
  });
}

/**
 * Tears the whole lab down from any state (after a crash, with hosts half-created, or already down):
 * each host powered off (SIGTERM to nspawn), leftovers in its cgroups killed, its overlay unmounted, its
 * dir and cgroups removed; then the bridge is deleted. Keeps the base image cache and the SSH key.
 * Idempotent. Throws when a mount or process cannot be removed (the message names it).
 */
export async function labDown(opts: { log?: (line: string) => void } = {}): Promise<void> {
  const log = opts.log ?? stderrLog;
  await withLabLock(async () => {
    const names = knownHostNames();
    if (names.length) log(`lab: stopping ${names.join(', ')}`);
    const results = await Promise.allSettled(names.map((n) => destroyHost(n)));
    removeLabCgroupIfEmpty();
    await deleteBridge();
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n'));
    log('lab: down');
  });
}

/** One host as seen by {@link labStatus}. */
export interface LabHostStatus extends LabHost {
  /** Its nspawn process is alive. */
  running: boolean;
  /** PID of its systemd-nspawn process. */
  pid?: number;
  /** Its overlay is mounted. */
  mounted: boolean;
  /** `systemctl is-system-running` over SSH when probed ('unreachable' when SSH fails). */
  state?: string;
}

/** What {@link labStatus} reports. */
export interface LabStatus {
  /** The base dir is unpacked / the cached tar exists. */
  base: { unpacked: boolean; cached: boolean };
  bridge: boolean;
  hosts: LabHostStatus[];
}

/**
 * Reports the lab's state without changing anything: base cache, bridge, and every host with any trace
 * (probed over SSH with a 3 s connect timeout unless `probe` is false).
 */
export async function labStatus(opts: { probe?: boolean } = {}): Promise<LabStatus> {
  const hosts = await Promise.all(
    knownHostNames().map(async (name): Promise<LabHostStatus> => {
      const h = labHostByName(name) ?? { name, index: 0, address: '' };
      const pid = nspawnPid(name);
      const st: LabHostStatus = {
        ...h,
        running: pid !== undefined,
        mounted: mountsUnder(`${HOSTS_DIR}/${name}/merged`).length > 0,
      };
      if (pid !== undefined) st.pid = pid;
      if (opts.probe !== false && st.running && h.address) {
        const r = await run([...sshArgs(h.address, 3), 'systemctl is-system-running'], { timeoutMs: 10_000 });
        st.state = r.code === 255 ? 'unreachable' : r.stdout.trim() || 'unknown';
      }
      return st;
    }),
  );
  return {
    base: { unpacked: existsSync(BASE_DIR), cached: existsSync(BASE_TAR) },
    bridge: await bridgeExists(),
    hosts,
  };
}
