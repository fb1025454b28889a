import { createHash } from 'node:crypto';
import { shq } from '../connectors/types.js';
import { type Fact, FactParseError } from './types.js';

/** A systemd unit as `systemctl show` reports it. */
export interface SystemdUnitFact {
  /** loaded | not-found | masked | error ... */
  loadState: string;
  /** active | inactive | failed | activating | deactivating | reloading */
  activeState: string;
  subState: string;
  /** enabled | disabled | static | masked | "" (not found) */
  unitFileState: string;
  /** True when `systemctl is-enabled` would say enabled. */
  enabled: boolean;
  /** The unit file changed on disk since the last daemon-reload. */
  needDaemonReload: boolean;
}

export const systemdUnitFact: Fact<{ unit: string }, SystemdUnitFact> = {
  name: 'systemd_unit',
  command: (a) => `systemctl show ${shq(a.unit)} -p LoadState -p ActiveState -p SubState -p UnitFileState -p NeedDaemonReload`,
  parse(stdout, code) {
    const kv = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
    }
    if (code !== 0 && !kv.has('LoadState')) throw new FactParseError('systemd_unit', `systemctl exited ${code}`);
    const unitFileState = kv.get('UnitFileState') ?? '';
    return {
      loadState: kv.get('LoadState') ?? 'not-found',
      activeState: kv.get('ActiveState') ?? 'inactive',
      subState: kv.get('SubState') ?? 'dead',
      unitFileState,
      enabled: unitFileState === 'enabled' || unitFileState === 'enabled-runtime',
      needDaemonReload: kv.get('NeedDaemonReload') === 'yes',
    };
  },
};

/** An nftables table: whether it is loaded and the SHA-256 of its listing (counters zeroed). */
export type NftTableFact = { exists: false } | { exists: true; rulesetSha256: string };

/** Hash of an `nft list table` listing with packet/byte counters removed (they change every second). */
export function nftRulesetHash(listing: string): string {
  const norm = listing.replace(/counter packets \d+ bytes \d+/g, 'counter').replace(/\s+$/g, '') + '\n';
  return createHash('sha256').update(norm).digest('hex');
}

export const nftTableFact: Fact<{ family: string; table: string }, NftTableFact> = {
  name: 'nft_table',
  command: (a) => `nft list table ${shq(a.family)} ${shq(a.table)}`,
  parse(stdout, code) {
    if (code !== 0 || stdout.trim() === '') return { exists: false };
    return { exists: true, rulesetSha256: nftRulesetHash(stdout) };
  },
};
