/**
 * The SSH options every host-touching command shares: `--forks N`, `--accept-new-host-keys`,
 * `--sudo-password-file FILE`, turned into one connector factory for the run.
 */
import type { Command } from 'commander';
import type { HostSpec, Inventory } from '../inventory/types.js';
import { sshConnectorFor, sshRunOptions } from './inventory.js';
import { SshLimiter } from './ssh_jump.js';
import { sudoPasswordSource } from './ssh_prompt.js';
import type { SshConnector } from './ssh.js';

/** The parsed options (commander camel-cases them). */
export interface SshCliOptions {
  forks?: string;
  acceptNewHostKeys?: boolean;
  sudoPasswordFile?: string;
}

/** Adds the shared SSH options to `cmd`. */
export function addSshOptions(cmd: Command): Command {
  return cmd
    .option('--forks <n>', 'at most N SSH operations at once (default: ssh.forks, else unbounded)')
    .option('--accept-new-host-keys', 'record host keys not yet in ssh.known-hosts (a CHANGED key is always refused)')
    .option('--sudo-password-file <file>', 'with ssh.sudo-password-prompt: read the sudo password from FILE instead of prompting');
}

/**
 * The connector factory of a run: one limiter (`--forks` over `ssh.forks`), one host key check per known_hosts
 * file, and a sudo password asked at most once. Throws Error on a bad `--forks`.
 */
export function sshConnectorsFor(inv: Inventory, o: SshCliOptions): (h: HostSpec) => SshConnector {
  const forks = o.forks !== undefined ? Number(o.forks) : inv.ssh.forks;
  const limiter = forks !== undefined ? new SshLimiter(forks) : undefined;
  const needsPassword = inv.hosts.filter((h) => h.ssh.sudoPasswordPrompt);
  const run = sshRunOptions({
    acceptNew: !!o.acceptNewHostKeys,
    ...(limiter ? { limiter } : {}),
    ...(needsPassword.length || inv.ssh.sudoPasswordPrompt
      ? { ask: sudoPasswordSource({ ...(o.sudoPasswordFile ? { file: o.sudoPasswordFile } : {}), users: (needsPassword.length ? needsPassword : inv.hosts).map((h) => h.ssh.user) }) }
      : {}),
  });
  return (h) => sshConnectorFor(h, run);
}
