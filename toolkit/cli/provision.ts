/** `quorum provision -i FILE [--dry-run]`: bring the inventory's hosts to a healthy cluster. */
import type { Command } from 'commander';
import { OfflineConnector } from '../connectors/index.js';
import { type SshCliOptions, addSshOptions, sshConnectorsFor } from '../connectors/ssh_cli.js';
import { loadInventory } from '../inventory/index.js';
import type { HostSpec } from '../inventory/types.js';
import { EXIT_FAILURE, ReportedFailure } from './errors.js';

/** Registers the command on `program`. */
export function registerProvision(program: Command): void {
  addSshOptions(program
    .command('provision'))
    .description('provision (or converge) the cluster described by the inventory; idempotent')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .option('--dry-run', 'print what would change on each host and change nothing')
    .option('--offline', 'with --dry-run: contact no host; plan as if every host were fresh')
    .option('--allow-even', 'accept a membership change that leaves an even number of members')
    .option('--allow-downgrade', 'switch running members to cluster.release even when it differs from the release they run (after `quorum upgrade`)')
    .action(async (o: { inventory: string; dryRun?: boolean; offline?: boolean; allowEven?: boolean; allowDowngrade?: boolean } & SshCliOptions) => {
      const inv = loadInventory(o.inventory, { allowEven: !!o.allowEven });
      const { provision } = await import('../../playbooks/provision/index.js');
      // The offline plan gets connectors that refuse all I/O: it provably contacts nobody.
      const connectorFor = o.offline ? (h: HostSpec) => new OfflineConnector(`${h.name} (${h.address})`) : sshConnectorsFor(inv, o);
      const r = await provision(inv, { dryRun: !!o.dryRun, offline: !!o.offline, allowEven: !!o.allowEven, allowDowngrade: !!o.allowDowngrade, connectorFor });
      if (r.errors.length) {
        for (const e of r.errors) process.stderr.write(`quorum: ${e.message}\n`);
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
}
