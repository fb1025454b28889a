/**
 * `role add|delete|get|list|grant-permission|revoke-permission` (etcdctl 3.4 ctlv3/command/role_command.go):
 * permission types read/write/readwrite (any case), key ranges from [key, endkey), --prefix or --from-key
 * (an empty key with either means the whole key space: ["\0", "\0")), etcdctl's messages and exit codes.
 */
import { Command } from 'commander';
import { prefixRangeEnd, type ResponseHeader } from '../../client/client.js';
import { type Globals } from '../global.js';
import { PbWriter, goQuote } from '../printer.js';
import { authCall, badArgs, printAuth } from './auth_util.js';

/** authpb.Permission as proto-loader gives it. */
export interface WirePerm { permType: number; key: Buffer; range_end: Buffer }

const PERM_TYPES: Record<string, number> = { READ: 0, WRITE: 1, READWRITE: 2 };
const PERM_NAMES = ['READ', 'WRITE', 'READWRITE'];

/** etcdctl's simple RoleGet text. */
export function roleGetText(role: string, perms: WirePerm[]): string {
  let s = `Role ${role}\n`;
  const range = (p: WirePerm) => {
    const k = p.key.toString('utf8');
    const e = p.range_end.toString('utf8');
    let line = e !== '\0' ? `\t[${k}, ${e})` : `\t[${k}, <open ended>`;
    if (Buffer.from(prefixRangeEnd(p.key)).toString('utf8') === e) line += ` (prefix ${k})`;
    return line + '\n';
  };
  const section = (title: string, types: number[]) => {
    s += `${title}\n`;
    for (const p of perms) {
      if (!types.includes(p.permType)) continue;
      s += p.range_end.length === 0 ? `\t${p.key.toString('utf8')}\n` : range(p);
    }
  };
  section('KV Read:', [0, 2]);
  section('KV Write:', [1, 2]);
  return s;
}

/** Print a RoleGet response in the selected format. */
export function printRoleGet(g: Globals, out: (s: string | Uint8Array) => void, role: string, header: ResponseHeader, perms: WirePerm[]): void {
  printAuth(
    g, out, header, roleGetText(role, perms),
    { perm: perms.length ? perms.map((p) => ({ permType: p.permType || undefined, key: p.key.length ? new Uint8Array(p.key) : undefined, range_end: p.range_end.length ? new Uint8Array(p.range_end) : undefined })) : undefined },
    (w) => {
      for (const p of perms) w.message(2, new PbWriter().varint(1, p.permType).bytes(2, p.key).bytes(3, p.range_end));
    },
    perms.map((p) => `"PermType" :  ${PERM_NAMES[p.permType] ?? p.permType}\n"Key" : ${goQuote(p.key)}\n"RangeEnd" : ${goQuote(p.range_end)}\n`).join(''),
  );
}

/** etcdctl's permRange: [key, rangeEnd) from the arguments and --prefix/--from-key. Exits 128 on conflicts. */
export function permRange(args: string[], prefix: boolean, fromKey: boolean): { key: string; rangeEnd: string } {
  let key = args[0];
  let rangeEnd = '';
  if (key.length === 0) {
    if (prefix && fromKey) badArgs('--from-key and --prefix flags are mutually exclusive');
    key = '\0';
    if (prefix || fromKey) rangeEnd = '\0';
    return { key, rangeEnd };
  }
  if (args.length === 1) {
    if (prefix) {
      if (fromKey) badArgs('--from-key and --prefix flags are mutually exclusive');
      return { key, rangeEnd: Buffer.from(prefixRangeEnd(Buffer.from(key, 'utf8'))).toString('utf8') };
    }
    if (fromKey) return { key, rangeEnd: '\0' };
    return { key, rangeEnd: '' };
  }
  if (prefix) badArgs('unexpected endkey argument with --prefix flag');
  if (fromKey) badArgs('unexpected endkey argument with --from-key flag');
  return { key, rangeEnd: args[1] };
}

export function roleCommand(out: (s: string | Uint8Array) => void): Command {
  const role = new Command('role').description('Role related commands');
  role
    .command('add')
    .description('Adds a new role')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) badArgs('role add command requires role name as its argument');
      const { g, header } = await authCall(cmd, 'RoleAdd', { name: args[0] });
      printAuth(g, out, header, `Role ${args[0]} created\n`);
    });
  role
    .command('delete')
    .description('Deletes a role')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) badArgs('role delete command requires role name as its argument');
      const { g, header } = await authCall(cmd, 'RoleDelete', { role: args[0] });
      printAuth(g, out, header, `Role ${args[0]} deleted\n`);
    });
  role
    .command('get')
    .description('Gets detailed information of a role')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) badArgs('role get command requires role name as its argument');
      const { g, header, r } = await authCall<{ header: never; perm: WirePerm[] }>(cmd, 'RoleGet', { role: args[0] });
      printRoleGet(g, out, args[0], header, r.perm);
    });
  role
    .command('list')
    .description('Lists all roles')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) badArgs('role list command requires no arguments');
      const { g, header, r } = await authCall<{ header: never; roles: string[] }>(cmd, 'RoleList', {});
      printAuth(g, out, header, r.roles.map((x) => `${x}\n`).join(''), { roles: r.roles.length ? r.roles : undefined }, (w) => {
        for (const x of r.roles) w.bytes(2, x, true);
      }, `"Roles" :${r.roles.map((x) => ' ' + goQuote(x)).join('')}\n`);
    });
  role
    .command('grant-permission')
    .description('Grants a key to a role')
    .argument('[args...]')
    .option('--prefix', 'grant a prefix permission')
    .option('--from-key', 'grant a permission of keys that are greater than or equal to the given key using byte compare')
    .action(async (args: string[], o: { prefix?: boolean; fromKey?: boolean }, cmd: Command) => {
      if (args.length < 3) badArgs('role grant command requires role name, permission type, and key [endkey] as its argument');
      const permType = PERM_TYPES[args[1].toUpperCase()];
      if (permType === undefined) badArgs(`invalid permission type: ${args[1]}`);
      const { key, rangeEnd } = permRange(args.slice(2), !!o.prefix, !!o.fromKey);
      const perm = { permType, key: Buffer.from(key, 'utf8'), range_end: Buffer.from(rangeEnd, 'utf8') };
      const { g, header } = await authCall(cmd, 'RoleGrantPermission', { name: args[0], perm });
      printAuth(g, out, header, `Role ${args[0]} updated\n`);
    });
  role
    .command('revoke-permission')
    .description('Revokes a key from a role')
    .argument('[args...]')
    .option('--prefix', 'revoke a prefix permission')
    .option('--from-key', 'revoke a permission of keys that are greater than or equal to the given key using byte compare')
    .action(async (args: string[], o: { prefix?: boolean; fromKey?: boolean }, cmd: Command) => {
      if (args.length < 2) badArgs('role revoke-permission command requires role name and key [endkey] as its argument');
      const { key, rangeEnd } = permRange(args.slice(1), !!o.prefix, !!o.fromKey);
      const { g, header } = await authCall(cmd, 'RoleRevokePermission', { role: args[0], key: Buffer.from(key, 'utf8'), range_end: Buffer.from(rangeEnd, 'utf8') });
      let text: string;
      if (rangeEnd.length === 0) text = `Permission of key ${args[1]} is revoked from role ${args[0]}\n`;
      else if (rangeEnd !== '\0') text = `Permission of range [${args[1]}, ${rangeEnd}) is revoked from role ${args[0]}\n`;
      else text = `Permission of range [${args[1]}, <open ended> is revoked from role ${args[0]}\n`;
      printAuth(g, out, header, text);
    });
  return role;
}
