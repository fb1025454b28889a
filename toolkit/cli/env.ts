/** `quorum env -i FILE`: shell exports that point etcdctl 3.4 at the cluster with the operator's client cert. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { shq } from '../connectors/types.js';
import type { Inventory } from '../inventory/types.js';
import { loadInventory } from '../inventory/index.js';

/** The `export ...` line for `inv` (etcdctl's ETCDCTL_* environment variables). */
export function envLine(inv: Inventory, paths: { ca: string; cert: string; key: string }): string {
  const endpoints = inv.hosts.map((h) => `https://${h.address}:${inv.cluster.clientPort}`).join(',');
  return `export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=${shq(endpoints)} ETCDCTL_CACERT=${shq(paths.ca)} `
    + `ETCDCTL_CERT=${shq(paths.cert)} ETCDCTL_KEY=${shq(paths.key)}\n`;
}

/** Registers the command on `program`. */
export function registerEnv(program: Command): void {
  program
    .command('env')
    .description('print shell exports for etcdctl (use: eval "$(quorum env -i FILE)")')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .action(async (o: { inventory: string }) => {
      const inv = loadInventory(o.inventory);
      const { clientTlsPaths } = await import('../../playbooks/provision/pki.js');
      const paths = clientTlsPaths(inv);
      const missing = Object.values(paths).filter((p) => !existsSync(p));
      if (missing.length) {
        throw new Error(`client certificate files missing: ${missing.join(', ')} (fix: run \`quorum provision -i ${o.inventory}\` first)`);
      }
      process.stdout.write(envLine(inv, paths));
    });
}
