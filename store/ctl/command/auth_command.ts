/**
 * `auth enable` / `auth disable` (etcdctl 3.4 ctlv3/command/auth_command.go). enable adds the "root" role
 * when the server reports it missing and retries. Both print a fixed line whatever -w says.
 */
import { Command } from 'commander';
import { StoreError } from '../../client/client.js';
import { globals, logRpcError, withClient } from '../global.js';
import { badArgs } from './auth_util.js';

export function authCommand(out: (s: string) => void): Command {
  const auth = new Command('auth').description('Enable or disable authentication');
  auth
    .command('enable')
    .description('Enables authentication')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) badArgs('auth enable command does not accept any arguments');
      const g = globals(cmd);
      await withClient(g, async (c) => {
        for (;;) {
          try {
            await c.unary('Auth', 'AuthEnable', {});
            return;
          } catch (e) {
            if (!(e instanceof StoreError) || e.details !== 'etcdserver: root user does not have root role') throw e;
            logRpcError(e);
            await c.unary('Auth', 'RoleAdd', { name: 'root' });
          }
        }
      });
      out('Authentication Enabled\n');
    });
  auth
    .command('disable')
    .description('Disables authentication')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) badArgs('auth disable command does not accept any arguments');
      const g = globals(cmd);
      await withClient(g, (c) => c.unary('Auth', 'AuthDisable', {}));
      out('Authentication Disabled\n');
    });
  return auth;
}
