/** `quorum lab up [--hosts N] | down | status`: the local test hosts (delegates to scripts/lab). */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** Registers the command group on `program`. */
export function registerLab(program: Command): void {
  const lab = program.command('lab').description('local test hosts (systemd-nspawn containers; needs root)');
  lab
    .command('up')
    .description('start N hosts (default 3) and write inventory/lab.yaml')
    .option('--hosts <n>', 'number of hosts, 1..7', '3')
    .action(async (o: { hosts: string }) => {
      if (!/^\d+$/.test(o.hosts)) throw new UsageError(`--hosts must be a number, got "${o.hosts}"`);
      const { labUp } = await import('../../scripts/lab/index.js');
      const t0 = Date.now();
      const hosts = await labUp({ hosts: Number(o.hosts) });
      process.stderr.write(`lab: ${hosts.length} host(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      for (const h of hosts) process.stdout.write(`${h.name}\t${h.address}\n`);
    });
  lab
    .command('down')
    .description('stop and remove every lab host (keeps the base image cache)')
    .action(async () => {
      const { labDown } = await import('../../scripts/lab/index.js');
      await labDown();
    });
  lab
    .command('status')
    .description('show the lab hosts')
    .action(async () => {
      const { labStatus } = await import('../../scripts/lab/index.js');
      const st = await labStatus();
      process.stdout.write(`base: ${st.base.unpacked ? 'unpacked' : 'not unpacked'}, ${st.base.cached ? 'cached' : 'not cached'}; bridge: ${st.bridge ? 'up' : 'absent'}\n`);
      if (!st.hosts.length) process.stdout.write('no hosts\n');
      for (const h of st.hosts) {
        process.stdout.write(`${h.name}\t${h.address}\t${h.running ? 'running' : 'stopped'}\t${h.state ?? '-'}\n`);
      }
    });
}
