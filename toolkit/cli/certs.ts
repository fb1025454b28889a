/**
 * `quorum certs check -i FILE [--json] [--warn-days N]` and
 * `quorum certs rotate -i FILE [--ca] [--dry-run] [--if-expiring-within DAYS]`
 * (playbooks/rotate-certs). `check` exits 1 when a certificate has fewer than N days left (default 30)
 * or a problem, for monitoring.
 */
import type { Command } from 'commander';
import { type SshCliOptions, addSshOptions, sshConnectorsFor } from '../connectors/ssh_cli.js';
import { loadInventory } from '../inventory/index.js';
import { EXIT_FAILURE, ReportedFailure, UsageError } from './errors.js';

function nonNegative(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of days >= 0, got ${JSON.stringify(v)}`);
  return n;
}

/** Registers `certs check` and `certs rotate` on `program`. */
export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('check and rotate the cluster\'s TLS certificates');
  addSshOptions(certs
    .command('check'))
    .description('show the certificates installed on every member (read over SSH) and the operator\'s client certificate')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .option('--json', 'print JSON rows instead of a table')
    .option('--warn-days <n>', 'exit 1 when a certificate has fewer days left', '30')
    .action(async (o: { inventory: string; json?: boolean; warnDays: string } & SshCliOptions) => {
      const warn = nonNegative('--warn-days', o.warnDays);
      const inv = loadInventory(o.inventory);
      const connectorFor = sshConnectorsFor(inv, o);
      const { gatherRows, formatRows, failingRows } = await import('../../playbooks/rotate-certs/check.js');
      const { closeAll } = await import('../../playbooks/provision/cluster.js');
      const conns = new Map(inv.hosts.map((h) => [h.name, connectorFor(h)]));
      let rows;
      try {
        rows = await gatherRows(inv, conns);
      } finally {
        await closeAll([...conns.values()]);
      }
      process.stdout.write(o.json ? `${JSON.stringify(rows.map((r) => ({ ...r, daysLeft: Number.isFinite(r.daysLeft) ? r.daysLeft : null })), null, 2)}\n` : formatRows(rows));
      const bad = failingRows(rows, warn);
      if (bad.length) {
        process.stderr.write(`quorum: ${bad.length} certificate(s) need attention (fewer than ${warn} days left or a problem): `
          + `${bad.map((r) => `${r.host} ${r.cert}`).join(', ')} (fix: quorum certs rotate -i ${o.inventory}; for the CA add --ca)\n`);
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
  addSshOptions(certs
    .command('rotate'))
    .description('re-issue server, peer and client certificates (or with --ca the CA, in three phases), one member at a time, without restarts')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .option('--ca', 'rotate the CA: trust old+new everywhere, switch every leaf, drop the old CA (resumes an interrupted run)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--if-expiring-within <days>', 'rotate only when an installed certificate (the CA with --ca) expires within DAYS')
    .action(async (o: { inventory: string; ca?: boolean; dryRun?: boolean; ifExpiringWithin?: string } & SshCliOptions) => {
      const within = o.ifExpiringWithin === undefined ? undefined : nonNegative('--if-expiring-within', o.ifExpiringWithin);
      const inv = loadInventory(o.inventory);
      const connectorFor = sshConnectorsFor(inv, o);
      const { rotateCerts } = await import('../../playbooks/rotate-certs/rotate.js');
      const r = await rotateCerts(inv, {
        ca: o.ca === true, dryRun: o.dryRun === true, connectorFor, ...(within !== undefined ? { ifExpiringWithinDays: within } : {}),
        log: (line) => process.stdout.write(`${line}\n`),
      });
      if (o.dryRun) process.stdout.write(r.plan);
      else if (!r.rotated) process.stdout.write(`nothing to do: ${r.reason}\n`);
      else process.stdout.write(`certificates of cluster ${inv.cluster.name} rotated\n`);
    });
}
