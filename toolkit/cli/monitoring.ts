/**
 * `quorum monitoring -i FILE --out DIR`: writes, for the inventory's cluster, a Prometheus scrape config
 * fragment (prometheus.yml), alert rules on etcd's metric names (quorum-alerts.yml) and a Grafana dashboard
 * (quorum-dashboard.json) into DIR on the operator's machine (playbooks/monitoring). Touches no host.
 */
import type { Command } from 'commander';
import { loadInventory } from '../inventory/index.js';

/** Registers the command on `program`. */
export function registerMonitoring(program: Command): void {
  program
    .command('monitoring')
    .description('write a Prometheus scrape config, alert rules and a Grafana dashboard for the cluster into --out')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .requiredOption('--out <dir>', 'output directory (created if missing; files are overwritten)')
    .action(async (o: { inventory: string; out: string }) => {
      const inv = loadInventory(o.inventory);
      const { writeMonitoring } = await import('../../playbooks/monitoring/index.js');
      const w = writeMonitoring(inv, o.out);
      process.stdout.write(`wrote ${w.scrape}\nwrote ${w.rules}\nwrote ${w.dashboard}\n`);
    });
}
