import { shq } from '../connectors/types.js';
import type { HostnameFact, UserFact } from '../facts/system.js';
import { type Command, type OperationResult, changes, noChange, run } from './types.js';

/**
 * Sets the host name (kernel and /etc/hostname): `hostnamectl set-hostname` when the host has hostnamectl
 * (`tools`, from the host_tools fact; default true), else /etc/hostname written and `hostname NAME`.
 */
export function hostnameOp(fact: HostnameFact, d: { name: string }, tools: { hostnamectl: boolean } = { hostnamectl: true }): OperationResult {
  if (fact.current === d.name && fact.static === d.name) return noChange(`hostname is ${d.name}`);
  const why = `hostname is ${fact.current}${fact.static && fact.static !== fact.current ? ` (static ${fact.static})` : ''}, want ${d.name}`;
  if (tools.hostnamectl) return changes([run(`hostnamectl set-hostname ${shq(d.name)}`)], why);
  // No hostnamectl (no systemd-hostnamed): the static name in /etc/hostname, the running one with hostname(1).
  const cmds: Command[] = [];
  if (fact.static !== d.name) cmds.push({ kind: 'put', path: '/etc/hostname', content: Buffer.from(`${d.name}\n`), mode: '0644', owner: 'root:root' });
  if (fact.current !== d.name) cmds.push(run(`hostname ${shq(d.name)}`));
  return changes(cmds, `${why} (no hostnamectl: /etc/hostname)`);
}

/** Desired system user: no home directory, no login shell. */
export interface SystemUserDesired { name: string; shell?: string }

/**
 * Ensures a system user (`useradd --system --no-create-home --shell /usr/sbin/nologin`, with its own
 * group); fixes the shell of an existing user.
 */
export function systemUserOp(fact: UserFact, d: SystemUserDesired): OperationResult {
  const shell = d.shell ?? '/usr/sbin/nologin';
  if (!fact.exists) {
    return changes([run(`useradd --system --user-group --no-create-home --home-dir /nonexistent --shell ${shq(shell)} ${shq(d.name)}`)],
      `user ${d.name} does not exist`);
  }
  if (fact.shell !== shell) {
    return changes([run(`usermod --shell ${shq(shell)} ${shq(d.name)}`)], `user ${d.name} has shell ${fact.shell}`);
  }
  return noChange(`user ${d.name} exists (uid ${fact.uid})`);
}
