/**
 * One lab host: an overlayfs root (shared read-only base + its own upper dir) booted by systemd-nspawn
 * with systemd as PID 1, started detached by a small sh launcher that first moves itself into the host's
 * cgroups and restarts nspawn when it exits 133 (a reboot inside the container). DESIGN.md, "The local
 * test hosts".
 *
 * Host dir layout (/var/lib/quorum-lab/hosts/<name>/): upper/ work/ merged/ (the overlay), launch.sh,
 * launcher.pid, nspawn.pid, state.json. Console and launcher output go to /var/lib/quorum-lab/logs/<name>.log,
 * which outlives the host (truncated when the host is launched again).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_DIR, BRIDGE, HOSTS_DIR, LOGS_DIR, hostDir, type LabHost } from './config.js';
import { ensureHostCgroups, hostPids, killHostCgroups, removeHostCgroups } from './cgroup.js';
import { run, runOk, sleep } from './run.js';

/** Paths of one host's files. */
export function hostPaths(name: string) {
  const dir = hostDir(name);
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    merged: join(dir, 'merged'),
    launcher: join(dir, 'launch.sh'),
    log: join(LOGS_DIR, `${name}.log`),
    launcherPid: join(dir, 'launcher.pid'),
    nspawnPid: join(dir, 'nspawn.pid'),
    state: join(dir, 'state.json'),
  };
}

/** Mount points (from /proc/mounts, octal escapes decoded) at or below `prefix`. */
export function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const mp = line.split(' ')[1];
    if (!mp) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path === prefix || path.startsWith(`${prefix}/`)) out.push(path);
  }
  return out;
}

/** Names of hosts that have a directory under HOSTS_DIR. */
export function hostDirNames(): string[] {
  if (!existsSync(HOSTS_DIR)) return [];
  return readdirSync(HOSTS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

function pidAlive(pidFile: string, comm: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The live systemd-nspawn process of the host, if any. */
export function nspawnPid(name: string): number | undefined {
  return pidAlive(hostPaths(name).nspawnPid, 'systemd-nspawn');
}

/** True when the host's container is running (its nspawn process is alive). */
export function isRunning(name: string): boolean {
  return nspawnPid(name) !== undefined;
}

function networkFile(h: LabHost): string {
  return [
    '# written by quorum lab',
    '[Match]',
    'Name=host0',
    '',
    '[Network]',
    `Address=${h.address}/24`,
    'IPv6AcceptRA=no',
    'LinkLocalAddressing=no',
    '',
  ].join('\n');
}

function hostsFile(h: LabHost): string {
  return [
    '127.0.0.1\tlocalhost',
    `${h.address}\t${h.name}`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    '',
  ].join('\n');
}

/**
 * Mounts the host's overlay (creating its dirs) and, on first use of its upper dir, writes its identity:
 * /etc/hostname, /etc/hosts, the systemd-networkd file for host0 and fresh SSH host keys.
 * Throws CommandError when mount or ssh-keygen fail.
 */
export async function prepareHost(h: LabHost): Promise<void> {
  const p = hostPaths(h.name);
  for (const d of [p.upper, p.work, p.merged]) mkdirSync(d, { recursive: true });
  if (!mountsUnder(p.merged).includes(p.merged)) {
    await runOk([
      'mount', '-t', 'overlay', `quorum-lab-${h.name}`, '-o',
      `lowerdir=${BASE_DIR},upperdir=${p.upper},workdir=${p.work}`, p.merged,
    ]);
  }
  const m = p.merged;
  writeFileSync(join(m, 'etc/hostname'), `${h.name}\n`);
  writeFileSync(join(m, 'etc/hosts'), hostsFile(h));
  mkdirSync(join(m, 'etc/systemd/network'), { recursive: true });
  writeFileSync(join(m, 'etc/systemd/network/10-host0.network'), networkFile(h));
  if (!existsSync(join(m, 'etc/ssh/ssh_host_ed25519_key'))) {
    await runOk(['ssh-keygen', '-A', '-f', m]);
  }
}

/** The launcher script: join the host cgroups, then run nspawn, again after each exit 133 (reboot). */
function launcherScript(h: LabHost, cgroups: string[]): string {
  const p = hostPaths(h.name);
  const nspawn = [
    'systemd-nspawn', '--boot', '--register=no', '--keep-unit', `--directory=${p.merged}`,
    `--machine=${h.name}`, `--hostname=${h.name}`, `--network-bridge=${BRIDGE}`, '--console=read-only',
  ].join(' ');
  return [
    '#!/bin/sh',
    `# quorum lab launcher for ${h.name} (generated)`,
    ...cgroups.map((c) => `echo $$ > ${c}/cgroup.procs || exit 97`),
    'export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1',
    '# no image lock files: they would pile up in /run/systemd/nspawn/locks (/run is not a tmpfs here)',
    'export SYSTEMD_NSPAWN_LOCK=0',
    'while :; do',
    `  ${nspawn} &`,
    `  echo $! > ${p.nspawnPid}`,
    '  wait $!',
    '  rc=$?',
    '  echo "quorum-lab: systemd-nspawn exited with $rc at $(date -u +%FT%TZ)"',
    '  [ "$rc" -eq 133 ] || break',
    'done',
    `rm -f ${p.nspawnPid}`,
    'exit $rc',
    '',
  ].join('\n');
}

/**
 * Starts the host detached (the caller has prepared it and brought the bridge up) and waits until its
 * nspawn process exists. Throws Error with the log tail when nspawn does not appear within 10 s.
 */
export async function launchHost(h: LabHost): Promise<void> {
  const p = hostPaths(h.name);
  const cgroups = ensureHostCgroups(h.name);
  writeFileSync(p.launcher, launcherScript(h, cgroups), { mode: 0o755 });
  rmSync(p.nspawnPid, { force: true });
  mkdirSync(LOGS_DIR, { recursive: true });
  const fd = openSync(p.log, 'w');
  try {
    const child = spawn('/bin/sh', [p.launcher], { detached: true, stdio: ['ignore', fd, fd] });
    writeFileSync(p.launcherPid, `${child.pid}\n`);
    child.unref();
  } finally {
    closeSync(fd);
  }
  writeFileSync(p.state, `${JSON.stringify({ ...h, startedAt: new Date().toISOString() }, null, 2)}\n`);
  const deadline = Date.now() + 10_000;
  while (!isRunning(h.name)) {
    if (Date.now() > deadline) throw new Error(`lab: ${h.name}: systemd-nspawn did not start\n${logTail(h.name)}`);
    await sleep(50);
  }
}

/** The last `lines` lines of the host's nspawn log ('' when there is none). */
export function logTail(name: string, lines = 30): string {
  const log = hostPaths(name).log;
  if (!existsSync(log)) return '';
  const text = readFileSync(log, 'utf8').replace(/\r/g, '');
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Stops and removes a host, whatever state it is in (running, hung, half-created, already gone):
 * SIGTERM to nspawn (clean poweroff) and up to `graceMs` (default 20000) for its processes to leave,
 * then SIGKILL whatever is left in its cgroups, unmount its overlay, delete its dir (never while
 * anything under it is mounted) and its cgroups. Throws when a mount or process cannot be removed.
 */
export async function destroyHost(name: string, graceMs = 20_000): Promise<void> {
  const p = hostPaths(name);
  const pid = nspawnPid(name);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone meanwhile */
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (hostPids(name).length > 0 || isRunning(name))) await sleep(100);
  }
  await killHostCgroups(name);
  // The host side of the veth normally disappears with the container's network namespace.
  const veth = `vb-${name}`.slice(0, 15);
  if ((await run(['ip', 'link', 'show', 'dev', veth])).code === 0) await run(['ip', 'link', 'del', veth]);
  for (const mp of mountsUnder(p.dir).sort((a, b) => b.length - a.length)) {
    const r = await run(['umount', mp]);
    if (r.code !== 0) await runOk(['umount', '-l', mp]);
  }
  const left = mountsUnder(p.dir);
  if (left.length > 0) throw new Error(`lab: ${name}: still mounted: ${left.join(' ')}; not deleting ${p.dir}`);
  rmSync(p.dir, { recursive: true, force: true });
  removeHostCgroups(name);
}
