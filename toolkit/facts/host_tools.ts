/**
 * Which system tools a host has, so the playbook works with the host as it is: the firewall in charge
 * (ufw when installed and enabled, nftables otherwise) and how to set the host name (hostnamectl when
 * present, /etc/hostname + `hostname` otherwise).
 */
import { type Fact, FactParseError } from './types.js';

/** `host_tools` fact. */
export interface HostToolsFact {
  /** `hostnamectl` is on PATH. */
  hostnamectl: boolean;
  /** `nft` is on PATH. */
  nft: boolean;
  /** ufw: not installed, installed but inactive, or enabled (`ufw status` says `Status: active`). */
  ufw: 'absent' | 'inactive' | 'active';
}

/** The firewall tool a host's rules must go through. */
export type FirewallBackend = 'nftables' | 'ufw';

export const hostToolsFact: Fact<Record<string, never>, HostToolsFact> = {
  name: 'host_tools',
  command: () => [
    'for c in hostnamectl nft ufw; do command -v "$c" >/dev/null && echo "has=$c"; done',
    'command -v ufw >/dev/null && ufw status | head -n 1',
    'echo end',
  ].join('; '),
  parse(stdout) {
    const lines = stdout.split('\n').map((l) => l.trim());
    if (!lines.includes('end')) throw new FactParseError('host_tools', 'output cut short (no end line)');
    const has = new Set(lines.filter((l) => l.startsWith('has=')).map((l) => l.slice(4)));
    let ufw: HostToolsFact['ufw'] = 'absent';
    if (has.has('ufw')) {
      const status = lines.find((l) => /^Status:/i.test(l));
      ufw = status && /^Status:\s*active$/i.test(status) ? 'active' : 'inactive';
    }
    return { hostnamectl: has.has('hostnamectl'), nft: has.has('nft'), ufw };
  },
};

/**
 * The firewall in charge on a host: ufw when it is installed and enabled (its own rules, SSH included,
 * stay; quorum adds its rules through `ufw`), else nftables (quorum loads its own table beside the others).
 */
export function firewallBackend(t: HostToolsFact): FirewallBackend {
  return t.ufw === 'active' ? 'ufw' : 'nftables';
}
