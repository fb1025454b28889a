/**
 * Per-host cgroups of the lab. This machine's PID 1 is not systemd, so nothing gives each container its
 * own cgroup: every launcher moves itself into /sys/fs/cgroup/{systemd,unified}/quorum-lab/<host> before
 * it execs systemd-nspawn (otherwise containers collide). Killing "whatever is left" of a host and
 * removing its cgroups is done here.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_NAME, CGROUP_ROOTS } from './config.js';
import { sleep } from './run.js';

/** The cgroup directories of host `name`, one per hierarchy that is mounted here. */
export function hostCgroups(name: string): string[] {
  return CGROUP_ROOTS.filter((r) => existsSync(r)).map((r) => join(r, CGROUP_NAME, name));
}

/** Creates the host's cgroup directories (idempotent). */
export function ensureHostCgroups(name: string): string[] {
  const dirs = hostCgroups(name);
  for (const d of dirs) mkdirSync(d, { recursive: true });
  return dirs;
}

/** Names of hosts that have a cgroup directory in any hierarchy. */
export function cgroupHostNames(): string[] {
  const names = new Set<string>();
  for (const r of CGROUP_ROOTS) {
    const dir = join(r, CGROUP_NAME);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
  }
  return [...names].sort();
}

/** Sub-directories of `dir`, deepest first (post-order), ending with `dir` itself. */
function subtreePostOrder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: import('node:fs').Dirent[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** PIDs of every process in `dir` and its descendant cgroups. */
export function cgroupPids(dir: string): number[] {
  const pids = new Set<number>();
  for (const d of subtreePostOrder(dir)) {
    let text = '';
    try {
      text = readFileSync(join(d, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n')) if (l.trim()) pids.add(Number(l));
  }
  return [...pids];
}

/** PIDs in all of the host's cgroups. */
export function hostPids(name: string): number[] {
  return [...new Set(hostCgroups(name).flatMap(cgroupPids))];
}

/**
 * SIGKILLs every process left in the host's cgroups (cgroup.kill where the kernel has it, else one by one)
 * until they are empty. Throws after `timeoutMs` (default 10000) if processes remain.
 */
export async function killHostCgroups(name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = hostPids(name);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`lab: processes ${pids.join(' ')} of ${name} survive SIGKILL`);
    for (const d of hostCgroups(name)) {
      const kill = join(d, 'cgroup.kill');
      if (existsSync(kill)) {
        try {
          writeFileSync(kill, '1');
        } catch {
          /* fall through to per-pid kill */
        }
      }
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(100);
  }
}

/** Removes the host's (empty) cgroup trees, deepest first; then the lab cgroup when it is empty. */
export function removeHostCgroups(name: string): void {
  for (const d of hostCgroups(name)) {
    for (const sub of subtreePostOrder(d)) {
      try {
        rmdirSync(sub);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }
}

/** Removes /sys/fs/cgroup/{...}/quorum-lab when no host cgroup is left in it. */
export function removeLabCgroupIfEmpty(): void {
  for (const r of CGROUP_ROOTS) {
    const dir = join(r, CGROUP_NAME);
    if (!existsSync(dir)) continue;
    try {
      rmdirSync(dir);
    } catch {
      /* not empty: another host still has a cgroup */
    }
  }
}
