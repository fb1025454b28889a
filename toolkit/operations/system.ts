import { shq } from '../connectors/types.js';
import type { HostnameFact, UserFact } from '../facts/system.js';
import { type OperationResult, changes, noChange, run } from './types.js';

/** Sets the host name (kernel and /etc/hostname) with `hostnamectl set-hostname`. */
export function hostnameOp(fact: HostnameFact, d: { name: string }): OperationResult {
  if (fact.current === d.name && fact.static === d.name) return noChange(`hostname is ${d.name}`);
  return changes([run(`hostnamectl set-hostname ${shq(d.name)}`)],
    `hostname is ${fact.current}${fact.static && fact.static !== fact.current ? ` (static ${fact.static})` : ''}, want ${d.name}`);
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
