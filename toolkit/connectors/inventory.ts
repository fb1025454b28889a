import type { HostSpec } from '../inventory/types.js';
import { SshConnector } from './ssh.js';
import { HostKeyCheck, type SshLimiter } from './ssh_jump.js';

/** Run-wide SSH state shared by the connectors of one command (see `sshRunOptions`). */
export interface SshRunOptions {
  /** One HostKeyCheck per known_hosts file (read once, writes serialized). */
  hostKeys?: (file: string) => HostKeyCheck;
  /** The `--forks` limiter. */
  limiter?: SshLimiter;
  /** The sudo password, prompted once (memoized by the caller). */
  sudoPassword?: () => Promise<string>;
}

/**
 * Run-wide options: `acceptNew` (`--accept-new-host-keys`) for every known_hosts file, a shared limiter
 * and a memoized sudo password prompt (`ask` is called at most once, and only when a host needs it).
 */
export function sshRunOptions(o: { acceptNew?: boolean; limiter?: SshLimiter; ask?: () => Promise<string> }): SshRunOptions {
  const checks = new Map<string, HostKeyCheck>();
  let pw: Promise<string> | undefined;
  return {
    hostKeys: (file) => {
      let c = checks.get(file);
      if (!c) { c = new HostKeyCheck(file, o.acceptNew ?? false); checks.set(file, c); }
      return c;
    },
    ...(o.limiter ? { limiter: o.limiter } : {}),
    ...(o.ask ? { sudoPassword: () => (pw ??= o.ask!()) } : {}),
  };
}

/** The SSH connector of an inventory host (its `ssh` settings already carry the cluster defaults). */
export function sshConnectorFor(h: HostSpec, run: SshRunOptions = {}): SshConnector {
  const s = h.ssh;
  return new SshConnector({
    name: h.name, address: h.address, port: s.port, user: s.user,
    ...(s.privateKey ? { privateKey: s.privateKey } : {}),
    connectTimeoutMs: s.connectTimeoutMs,
    ...(s.useAgent ? { useAgent: true } : {}),
    ...(s.jumpHost ? { jump: { ...s.jumpHost, ...(s.privateKey ? { privateKey: s.privateKey } : {}), ...(s.useAgent ? { useAgent: true } : {}) } } : {}),
    ...(s.knownHosts ? { hostKeys: run.hostKeys?.(s.knownHosts) ?? new HostKeyCheck(s.knownHosts) } : {}),
    ...(s.sudoPasswordPrompt && run.sudoPassword ? { sudoPassword: run.sudoPassword } : {}),
    ...(run.limiter ? { limiter: run.limiter } : {}),
  });
}
