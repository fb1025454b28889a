/** `quorum status -i FILE`: the cluster's status table; exit 1 when it is not healthy. */
import type { Command } from 'commander';
import { loadInventory } from '../inventory/index.js';
import { EXIT_FAILURE, ReportedFailure } from './errors.js';

/** Registers the command on `program`. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print every member\'s status (etcdctl endpoint status -w table) and check health')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .action(async (o: { inventory: string }) => {
      const inv = loadInventory(o.inventory);
      const { statusAll, formatStatusTable } = await import('../../playbooks/provision/index.js');
      const { healthProblems } = await import('../../playbooks/provision/store.js');
      const results = await statusAll(inv);
      process.stdout.write(formatStatusTable(results));
      const problems = healthProblems(results);
      if (problems.length) {
        process.stderr.write(`quorum: cluster ${inv.cluster.name} is not healthy: ${problems.join('; ')} `
          + '(fix: see `journalctl -u quorumd.service` on the members and the runbooks)\n');
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
}
