import { shq } from '../connectors/types.js';
import type { FileFact } from '../facts/files.js';
import type { NftTableFact, SystemdUnitFact } from '../facts/services.js';
import { type Command, type OperationResult, changes, noChange, run, sha256 } from './types.js';

/** Facts the firewall operation reads. */
export interface FirewallFacts {
  /** The rule file at `desired.path`. */
  file: FileFact;
  /** The live table. */
  table: NftTableFact;
  /** Content of /etc/nftables.conf (undefined when absent). */
  nftablesConf: string | undefined;
  /** nftables.service. */
  service: SystemdUnitFact;
}

/** Desired firewall: the rendered rule file, where it goes and which table it defines. */
export interface FirewallDesired {
  /** /etc/nftables.d/quorum.nft */
  path: string;
  content: Buffer;
  family: string;
  table: string;
  /** /etc/nftables.conf */
  confPath?: string;
}

/** The line /etc/nftables.conf needs so the rule files load at boot. */
export function includeLine(dir: string): string {
  return `include "${dir}/*.nft"`;
}

/**
 * The /etc/nftables.conf written when the host has none: only the include of `<dir>/*.nft`, WITHOUT
 * `flush ruleset`, so a boot or `systemctl restart nftables` replaces our table alone (each rule file declares
 * and deletes its own table before defining it, templates/quorum.nft.hbs) and keeps the tables other tools
 * loaded. `dir` is the rule directory, e.g. /etc/nftables.d.
 */
export function nftablesConfContent(dir: string): string {
  return `#!/usr/sbin/nft -f\n# Written by quorum: loads the rule files of ${dir}; each replaces only its own table.\n`
    + `# No "flush ruleset" here: tables loaded by other tools are kept.\n${includeLine(dir)}\n`;
}

/**
 * Loads the table from the rendered file atomically (one `nft -f -` transaction that replaces the
 * table) when the file changed or the table is missing, and makes it persistent: an include of
 * `<dir>/*.nft` in /etc/nftables.conf and nftables.service enabled.
 */
export function firewallOp(f: FirewallFacts, d: FirewallDesired): OperationResult {
  const dir = d.path.slice(0, d.path.lastIndexOf('/'));
  const conf = d.confPath ?? '/etc/nftables.conf';
  const cmds: Command[] = [];
  const why: string[] = [];
  const fileCurrent = f.file.exists && f.file.sha256 === sha256(d.content);
  if (!fileCurrent) {
    cmds.push(run(`mkdir -p ${shq(dir)}`));
    cmds.push({ kind: 'put', path: d.path, content: d.content, mode: '0644', owner: 'root:root' });
    why.push(f.file.exists ? `${d.path} content differs` : `${d.path} does not exist`);
  }
  if (!fileCurrent || !f.table.exists) {
    const tx = [`table ${d.family} ${d.table}`, `delete table ${d.family} ${d.table}`, `include "${d.path}"`];
    cmds.push(run(`printf '%s\\n' ${tx.map(shq).join(' ')} | nft -f -`));
    if (!f.table.exists) why.push(`table ${d.family} ${d.table} is not loaded`);
  }
  const line = includeLine(dir);
  if (f.nftablesConf === undefined) {
    cmds.push({ kind: 'put', path: conf, content: Buffer.from(nftablesConfContent(dir)), mode: '0755', owner: 'root:root' });
    why.push(`${conf} does not exist`);
  } else if (!f.nftablesConf.split('\n').some((l) => l.trim() === line)) {
    cmds.push(run(`printf '\\n%s\\n' ${shq(line)} >> ${shq(conf)}`));
    why.push(`${conf} does not include ${dir}`);
  }
  if (!f.service.enabled) {
    cmds.push(run('systemctl enable nftables.service'));
    why.push('nftables.service is not enabled');
  }
  if (!cmds.length) return noChange(`table ${d.family} ${d.table} loaded from ${d.path}, persistent`);
  return changes(cmds, why.join(', '));
}
