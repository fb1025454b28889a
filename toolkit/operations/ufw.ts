/**
 * A member's firewall rules on a host where ufw is in charge. The operator's own ufw rules (SSH
 * included) are never touched: quorum only adds its rules and deletes the ones it added before. What it
 * added is recorded, one rule spec a line, in a state file (`statePath`), so a rerun with the same rules
 * changes nothing and a peer dropped from the inventory loses its rule.
 */
import { shq } from '../connectors/types.js';
import { type Command, type OperationResult, changes, noChange, run } from './types.js';

/** What the member's firewall must let in. */
export interface UfwDesired {
  /** SSH port: kept open (ufw skips the rule when the operator already has it). */
  sshPort: number;
  /** Open to everyone (clients). */
  clientPort: number;
  /** Open to `peers` only (peer and metrics ports). */
  peerPorts: number[];
  /** Member and operator IPv4 addresses or CIDRs. */
  peers: string[];
  /** ufw rule comment, e.g. `quorum lab`. */
  comment: string;
  /** File recording the rules quorum added (e.g. /etc/etcd/ufw.rules). */
  statePath: string;
}

/** The rule specs (`ufw` arguments without the comment), sorted, one per allowed source/port set. */
export function ufwRules(d: UfwDesired): string[] {
  const ports = [...new Set(d.peerPorts)].sort((a, b) => a - b).join(',');
  const rules = [
    `allow ${d.sshPort}/tcp`,
    `allow ${d.clientPort}/tcp`,
    ...[...new Set(d.peers)].map((p) => `allow from ${p} to any port ${ports} proto tcp`),
  ];
  return [...new Set(rules)].sort();
}

/**
 * Commands that bring quorum's ufw rules from `recorded` (the state file's content; undefined when
 * absent) to `d`: `ufw delete` for rules quorum added before and no longer wants, `ufw` for new ones
 * (with the comment), then the state file. No commands when the recorded rules are the wanted ones.
 */
export function ufwOp(recorded: string | undefined, d: UfwDesired): OperationResult {
  const want = ufwRules(d);
  const had = (recorded ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const gone = had.filter((r) => !want.includes(r));
  const added = want.filter((r) => !had.includes(r));
  if (!gone.length && !added.length && recorded !== undefined) return noChange(`ufw has quorum's ${want.length} rules (${d.statePath})`);
  const cmds: Command[] = [
    // The operator's rules stay; only the ones recorded as quorum's are deleted.
    ...gone.map((r) => run(`ufw delete ${r}`)),
    ...added.map((r) => run(`ufw ${r} comment ${shq(d.comment)}`)),
    { kind: 'put', path: d.statePath, content: Buffer.from(`# rules quorum added with ufw (managed)\n${want.join('\n')}\n`), mode: '0644', owner: 'root:root' },
  ];
  const why = [
    ...(added.length ? [`add ${added.length} ufw rule(s)`] : []),
    ...(gone.length ? [`delete ${gone.length} ufw rule(s) quorum added before`] : []),
  ];
  return changes(cmds, why.join(', ') || `record quorum's ufw rules in ${d.statePath}`);
}
