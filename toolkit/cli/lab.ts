/** `quorum lab up [--hosts N] | down | status | user add NAME | ssh-port PORT`: the local test hosts (delegates to scripts/lab). */
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
  const user = lab.command('user').description('login users of the lab hosts (real-SSH tests)');
  user
    .command('add <name>')
    .description('add a non-root sudo user with its own ed25519 key (/var/lib/quorum-lab/ssh/NAME_ed25519) to every running host')
    .option('--password <pw>', 'give the user this password and make sudo ask for it (default: NOPASSWD sudo)')
    .option('--password-file <file>', 'like --password, read from the first line of FILE')
    .action(async (name: string, o: { password?: string; passwordFile?: string }) => {
      const { labUserAdd } = await import('../../scripts/lab/user.js');
      const { readFileSync } = await import('node:fs');
      const password = o.passwordFile !== undefined ? readFileSync(o.passwordFile, 'utf8').split('\n')[0]! : o.password;
      const u = await labUserAdd(name, password !== undefined ? { password } : {}).catch((e: unknown) => {
        throw e instanceof RangeError ? new UsageError(e.message) : e;
      });
      process.stdout.write(`${u.name}\t${u.privateKey}\tsudo ${u.sudo}\t${u.hosts.join(',')}\n`);
    });
  lab
    .command('ssh-port <port>')
    .description('make sshd on every running host listen on PORT as well as 22 (22 = remove the extra port)')
    .action(async (port: string) => {
      if (!/^\d+$/.test(port)) throw new UsageError(`ssh-port must be a number, got "${port}"`);
      const { labSshPort } = await import('../../scripts/lab/user.js');
      const hosts = await labSshPort(Number(port));
      process.stdout.write(`sshd listens on 22 and ${port}: ${hosts.join(', ')}\n`);
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
