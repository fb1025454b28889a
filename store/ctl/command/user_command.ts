/**
 * `user add|delete|get|list|passwd|grant-role|revoke-role` (etcdctl 3.4 ctlv3/command/user_command.go):
 * same arguments, flags (--new-user-password, --no-password, --interactive, --detail), messages and
 * exit codes (128 for bad arguments). quorumctl cannot prompt on a terminal: without a password in the
 * arguments it reads one whitespace-delimited word from stdin (etcdctl's --interactive=false behaviour).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { headerFromWire } from '../../client/client.js';
import { CtlError, globals, withClient } from '../global.js';
import { display } from '../printer.js';
import { authCall, badArgs, printAuth } from './auth_util.js';
import { printRoleGet, type WirePerm } from './role_command.js';

/** One whitespace-delimited word from stdin (Go's fmt.Scanf("%s")); "" at end of input. */
function readPasswordFromStdin(): string {
  let text = '';
  try {
    text = readFileSync(0, 'utf8');
  } catch {
    text = '';
  }
  return text.trim().split(/\s+/)[0] ?? '';
}

function readPassword(interactive: boolean, user: string): string {
  if (!interactive || !process.stdin.isTTY) return readPasswordFromStdin();
  throw new CtlError(`quorumctl cannot read the password of ${user} from a terminal; pass user:password or --interactive=false`);
}

export function userCommand(out: (s: string | Uint8Array) => void): Command {
  const user = new Command('user').description('User related commands');
  user
    .command('add')
    .description('Adds a new user')
    .argument('[args...]')
    .option('--interactive', 'Read password from stdin instead of interactive terminal (default true)')
    .option('--no-interactive', 'read the password from stdin')
    .option('--new-user-password <password>', 'Supply password from the command line flag')
    .option('--no-password', 'Create a user without password (CN based auth only)')
    .action(async (args: string[], o: { interactive?: boolean; newUserPassword?: string; password?: boolean }, cmd: Command) => {
      if (args.length !== 1) badArgs('user add command requires user name as its argument');
      let name: string;
      let password = '';
      // commander maps --no-password to password=false
      const noPassword = o.password === false;
      if (!noPassword) {
        if (o.newUserPassword) {
          name = args[0];
          password = o.newUserPassword;
        } else {
          const i = args[0].indexOf(':');
          if (i < 0) {
            name = args[0];
            password = readPassword(o.interactive !== false, name);
          } else {
            name = args[0].slice(0, i);
            password = args[0].slice(i + 1);
            if (name.length === 0) badArgs('empty user name is not allowed');
          }
        }
      } else name = args[0];
      const { g, header } = await authCall(cmd, 'UserAdd', { name, password, options: { no_password: noPassword } });
      printAuth(g, out, header, `User ${name} created\n`);
    });
  user
    .command('delete')
    .description('Deletes a user')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) badArgs('user delete command requires user name as its argument');
      const { g, header } = await authCall(cmd, 'UserDelete', { name: args[0] });
      printAuth(g, out, header, `User ${args[0]} deleted\n`);
    });
  user
    .command('get')
    .description('Gets detailed information of a user')
    .argument('[args...]')
    .option('--detail', 'Show permissions of roles granted to the user')
    .action(async (args: string[], o: { detail?: boolean }, cmd: Command) => {
      if (args.length !== 1) badArgs('user get command requires user name as its argument');
      const name = args[0];
      const { g, header, r } = await authCall<{ header: never; roles: string[] }>(cmd, 'UserGet', { name });
      if (o.detail) {
        out(`User: ${name}\n`);
        for (const role of r.roles) {
          out('\n');
          const rr = await withClient(g, (c) => c.unary<{ header: never; perm: WirePerm[] }>('Auth', 'RoleGet', { role }));
          printRoleGet(g, out, role, headerFromWire(rr.header), rr.perm);
        }
        return;
      }
      printAuth(g, out, header, `User: ${name}\nRoles:${r.roles.map((x) => ' ' + x).join('')}\n`, { roles: r.roles.length ? r.roles : undefined }, (w) => {
        for (const x of r.roles) w.bytes(2, x, true);
      }, null);
    });
  user
    .command('list')
    .description('Lists all users')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) badArgs('user list command requires no arguments');
      const { g, header, r } = await authCall<{ header: never; users: string[] }>(cmd, 'UserList', {});
      printAuth(g, out, header, r.users.map((u) => `${u}\n`).join(''), { users: r.users.length ? r.users : undefined }, (w) => {
        for (const x of r.users) w.bytes(2, x, true);
      }, null);
    });
  user
    .command('passwd')
    .description('Changes password of user')
    .argument('[args...]')
    .option('--interactive', 'If true, read password from stdin instead of interactive terminal (default true)')
    .option('--no-interactive', 'read the password from stdin')
    .action(async (args: string[], o: { interactive?: boolean }, cmd: Command) => {
      if (args.length !== 1) badArgs('user passwd command requires user name as its argument');
      const password = readPassword(o.interactive !== false, args[0]);
      const { g, header } = await authCall(cmd, 'UserChangePassword', { name: args[0], password });
      printAuth(g, out, header, 'Password updated\n');
    });
  user
    .command('grant-role')
    .description('Grants a role to a user')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 2) badArgs('user grant command requires user name and role name as its argument');
      const { g, header } = await authCall(cmd, 'UserGrantRole', { user: args[0], role: args[1] });
      printAuth(g, out, header, `Role ${args[1]} is granted to user ${args[0]}\n`);
    });
  user
    .command('revoke-role')
    .description('Revokes a role from a user')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 2) badArgs('user revoke-role requires user name and role name as its argument');
      const { g, header } = await authCall(cmd, 'UserRevokeRole', { name: args[0], role: args[1] });
      printAuth(g, out, header, `Role ${args[1]} is revoked from user ${args[0]}\n`);
    });
  void display;
  return user;
}
