/**
 * `quorum backup -i FILE [--dest DIR] [--keep N]`: a verified snapshot from a healthy member (the backup runbook);
 * `quorum backup schedule -i FILE --every 1h --keep 48`: a systemd timer on every member taking local snapshots
 * with retention (installed quorumctl, the member's own certificate); `quorum backup pull -i FILE --dest DIR`:
 * copies the members' scheduled backups to the operator (playbooks/backup).
 */
import type { Command } from 'commander';
import { type SshCliOptions, addSshOptions, sshConnectorsFor } from '../connectors/ssh_cli.js';
import { loadInventory } from '../inventory/index.js';
import { EXIT_FAILURE, ReportedFailure } from './errors.js';
import { parseKeep } from './runbook.js';

/** Registers `backup`, `backup schedule` and `backup pull` on `program`. */
export function registerBackup(program: Command): void {
  // The SSH options belong to `backup` and apply to `schedule` and `pull` too (read with optsWithGlobals).
  const b = addSshOptions(program.command('backup'))
    .description('take a verified snapshot from a healthy member into --dest, keeping the newest --keep')
    .option('-i, --inventory <file>', 'inventory YAML file')
    .option('--dest <dir>', 'backup directory (default ~/.quorum/<cluster>/backups)')
    .option('--keep <n>', 'retention count (0 keeps all)', '48')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (o: { inventory?: string; dest?: string; keep: string; dryRun?: boolean } & SshCliOptions) => {
      if (!o.inventory) {
        process.stderr.write('quorum: backup needs -i FILE\n');
        throw new ReportedFailure(2);
      }
      const keep = parseKeep(o.keep)!;
      const inv = loadInventory(o.inventory);
      const connectorFor = sshConnectorsFor(inv, o);
      const { runRunbook } = await import('../../playbooks/runbooks/index.js');
      const r = await runRunbook(inv, 'backup', {
        now: new Date(), dryRun: !!o.dryRun, connectorFor, keep, ...(o.dest ? { dest: o.dest } : {}),
      });
      if (r.plan.refused) {
        process.stderr.write(`quorum: backup refused: ${r.plan.refused}\n`);
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
  // -i belongs to `backup` (commander reads a parent's options after the subcommand too).
  const inventoryOf = (cmd: Command): string => {
    const f = (cmd.optsWithGlobals() as { inventory?: string }).inventory;
    if (!f) {
      process.stderr.write(`quorum: backup ${cmd.name()} needs -i FILE\n`);
      throw new ReportedFailure(2);
    }
    return f;
  };
  b.command('schedule')
    .description('install a systemd timer on every member that snapshots locally with retention (-i FILE)')
    .option('--every <interval>', 'systemd time span between backups (1h, 30min, 1d)', '1h')
    .action(async (_o: unknown, cmd: Command) => {
      // --keep and --dry-run are `backup`'s options (see inventoryOf).
      const o = cmd.optsWithGlobals() as { every: string; keep: string; dryRun?: boolean } & SshCliOptions;
      const keep = parseKeep(o.keep)!;
      const inv = loadInventory(inventoryOf(cmd));
      const connectorFor = sshConnectorsFor(inv, o);
      const { scheduleBackups } = await import('../../playbooks/backup/schedule.js');
      await scheduleBackups(inv, { every: o.every, keep, dryRun: !!o.dryRun, connectorFor, out: (t) => process.stdout.write(t) });
    });
  b.command('pull')
    .description('copy the members\' scheduled backups to --dest (files already there are skipped) (-i FILE)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { dest?: string } & SshCliOptions;
      const inv = loadInventory(inventoryOf(cmd));
      const connectorFor = sshConnectorsFor(inv, o);
      const { pullBackups } = await import('../../playbooks/backup/schedule.js');
      const got = await pullBackups(inv, { connectorFor, ...(o.dest ? { dest: o.dest } : {}), out: (t) => process.stdout.write(t) });
      if (got.failed.length) {
        process.stderr.write(`quorum: could not pull from ${got.failed.join(', ')}\n`);
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
}
