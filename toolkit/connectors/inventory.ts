import type { HostSpec } from '../inventory/types.js';
import { SshConnector } from './ssh.js';

/** The SSH connector of an inventory host (its `ssh` settings already carry the cluster defaults). */
export function sshConnectorFor(h: HostSpec): SshConnector {
  return new SshConnector({
    name: h.name, address: h.address, port: h.ssh.port, user: h.ssh.user,
    ...(h.ssh.privateKey ? { privateKey: h.ssh.privateKey } : {}),
    connectTimeoutMs: h.ssh.connectTimeoutMs,
  });
}
