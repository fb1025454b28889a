/**
 * Reaching lab hosts: run a command as root over SSH with the lab key, and wait for a host to boot.
 */
import { SSH_KEY, labHostByName, type LabHost } from './config.js';
import { run, sleep, type RunResult } from './run.js';

/** SSH options for lab hosts: the lab key, no host-key pinning (hosts are recreated), batch mode. */
export function sshArgs(address: string, connectTimeoutS = 5): string[] {
  return [
    'ssh', '-i', SSH_KEY,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${connectTimeoutS}`,
    `root@${address}`,
  ];
}

/** Options for {@link labExec}. */
export interface LabExecOptions {
  /** Text for the remote command's stdin. */
  stdin?: string;
  /** Give up (SIGKILL the ssh client) after this many ms; the result then has code 124. Default 120000. */
  timeoutMs?: number;
}

/**
 * Runs the shell command line `cmd` as root on lab host `host` (a LabHost, a name `etcd-0N` or an IPv4
 * address) over SSH. Resolves with the remote exit code and output (255 = SSH itself failed); rejects only
 * when `ssh` cannot be started or `host` is an unknown name.
 */
export function labExec(host: LabHost | string, cmd: string, opts: LabExecOptions = {}): Promise<RunResult> {
  let address: string;
  if (typeof host === 'string') {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) address = host;
    else {
      const h = labHostByName(host);
      if (!h) return Promise.reject(new Error(`lab: unknown host ${host} (expected etcd-01..etcd-07 or an IP)`));
      address = h.address;
    }
  } else address = host.address;
  return run([...sshArgs(address), cmd], { stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 120_000 });
}

/** Outcome of {@link waitReady}: the final `systemctl is-system-running` state and failed units, if any. */
export interface ReadyResult {
  state: 'running' | 'degraded';
  failedUnits: string[];
}

/**
 * Polls `systemctl is-system-running` over SSH every 250 ms until the host says `running` or `degraded`
 * (then lists the failed units). Throws Error with the last state/ssh error when `timeoutMs` (default
 * 120000) passes; the caller adds the host's log tail.
 */
export async function waitReady(host: LabHost, timeoutMs = 120_000): Promise<ReadyResult> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const r = await run([...sshArgs(host.address, 2), 'systemctl is-system-running'], { timeoutMs: 10_000 });
    const state = r.stdout.trim();
    if (state === 'running') return { state, failedUnits: [] };
    if (state === 'degraded') {
      const f = await run([...sshArgs(host.address, 2), 'systemctl list-units --failed --plain --no-legend']);
      const failedUnits = f.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
      return { state, failedUnits };
    }
    last = r.code === 255 ? r.stderr.trim() || 'ssh failed' : `state ${state || '(none)'}`;
    await sleep(250);
  }
  throw new Error(`lab: ${host.name} (${host.address}) not ready after ${Math.round(timeoutMs / 1000)} s: ${last}`);
}
