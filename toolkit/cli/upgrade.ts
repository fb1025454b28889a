/**
 * `quorum upgrade -i FILE [--release PATH | --rollback] [--dry-run]`: a rolling switch of every member to
 * another quorumd release (playbooks/provision/upgrade-live.ts). Without --release the inventory's
 * `cluster.release` (or the project's own build) is the target. Exit 1 when refused or a member fails its
 * gate after the switch (it is switched back first), 2 for bad usage.
 */
import type { Command } from 'commander';
import { type SshCliOptions, addSshOptions, sshConnectorsFor } from '../connectors/ssh_cli.js';
import { loadInventory } from '../inventory/index.js';
import { EXIT_FAILURE, ReportedFailure, UsageError } from './errors.js';

/** Registers the command on `program`. */
export function registerUpgrade(program: Command): void {
  addSshOptions(program
    .command('upgrade'))
    .description('switch every member to another quorumd release, one at a time behind the health gate (the old release is kept)')
    .requiredOption('-i, --inventory <file>', 'inventory YAML file')
    .option('--release <path>', 'release tarball quorum-<version>-linux-x64.tar.gz (with its .sha256 beside it); default: cluster.release')
    .option('--rollback', 'switch back to the release every member ran before its last switch')
    .option('--dry-run', 'print each member\'s releases and the plan; change nothing')
    .action(async (o: { inventory: string; release?: string; rollback?: boolean; dryRun?: boolean } & SshCliOptions) => {
      if (o.release && o.rollback) throw new UsageError('--release and --rollback exclude each other (fix: give one of them)');
      const inv = loadInventory(o.inventory);
      const connectorFor = sshConnectorsFor(inv, o); // validates the SSH options before anything else is looked at
      const { upgrade } = await import('../../playbooks/provision/upgrade-live.js');
      const { findRelease, releaseAt } = await import('../../playbooks/provision/release.js');
      const release = o.rollback ? undefined : o.release ? releaseAt(o.release) : findRelease(inv);
      const r = await upgrade(inv, {
        ...(release ? { release } : { rollback: true }), dryRun: !!o.dryRun, connectorFor,
      });
      if (r.errors.length) {
        for (const e of r.errors) process.stderr.write(`quorum: ${e.message}\n`);
        throw new ReportedFailure(EXIT_FAILURE);
      }
    });
}
