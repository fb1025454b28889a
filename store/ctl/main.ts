/**
 * quorumctl: an etcdctl 3.4-compatible command line (same commands, flags, ETCDCTL_* variables, output
 * formats and exit codes) for quorumd and etcd. One file per command under command/. `main(argv)` returns
 * the exit code.
 *
 * Errors end as etcdctl's do: "Error: <message>" on stderr, exit 1 (ExitError) unless the error carries its
 * own code (CtlError.code: 2 bad connection/authentication, 4 unsupported output format, 128 bad arguments).
 * Flag/command errors are printed twice, as cobra and then etcdctl's ExitWithError print them.
 */
import { Command, CommanderError, Option } from 'commander';
import { StoreError } from '../client/client.js';
import { alarmCommand } from './command/alarm_command.js';
import { authCommand } from './command/auth_command.js';
import { defragCommand } from './command/defrag_command.js';
import { snapshotCommand } from './command/snapshot_command.js';
import { compactionCommand } from './command/compaction_command.js';
import { delCommand } from './command/del_command.js';
import { txnCommand } from './command/txn_command.js';
import { electCommand } from './command/elect_command.js';
import { endpointCommand } from './command/endpoint_command.js';
import { getCommand } from './command/get_command.js';
import { leaseCommand } from './command/lease_command.js';
import { lockCommand } from './command/lock_command.js';
import { memberCommand } from './command/member_command.js';
import { moveLeaderCommand } from './command/move_leader_command.js';
import { putCommand } from './command/put_command.js';
import { roleCommand } from './command/role_command.js';
import { userCommand } from './command/user_command.js';
import { watchCommand } from './command/watch_command.js';
import { CtlError, CtlFatal, CtlFlagError, ctlIo, errorMessage, normalizeArgv } from './global.js';
import { UnsupportedFormatError } from './printer.js';
import { API_VERSION, PACKAGE_VERSION } from '../server/version.js';

export { renderStatusTable, type StatusRow } from './printer.js';

/** Output sinks of one run: stdout takes strings or raw bytes (`-w protobuf`), stderr strings. */
export interface CtlIo { out?: (s: string | Uint8Array) => void; err?: (s: string) => void }

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** Levenshtein distance (cobra's suggestions use it, case-insensitive, with a limit of 2). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** Build the program with all commands. `out`/`err` are the sinks. */
export function buildProgram(out: (s: string | Uint8Array) => void, err: (s: string) => void): Command {
  const program = new Command('quorumctl')
    .description('A simple command line client for quorumd and etcd (etcdctl 3.4 compatible).')
    .option('--endpoints <list>', 'gRPC endpoints (default [127.0.0.1:2379])', collect)
    .option('--cacert <file>', 'verify certificates of TLS-enabled secure servers using this CA bundle')
    .option('--cert <file>', 'identify secure client using this TLS certificate file')
    .option('--key <file>', 'identify secure client using this TLS key file')
    .option('--insecure-transport', 'disable transport security for client connections (default true)')
    .addOption(new Option('--no-insecure-transport').hideHelp())
    .option('--insecure-skip-tls-verify', 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)')
    .addOption(new Option('--no-insecure-skip-tls-verify').hideHelp())
    .option('--insecure-discovery', 'accept insecure SRV records describing cluster endpoints (default true)')
    .addOption(new Option('--no-insecure-discovery').hideHelp())
    .option('-d, --discovery-srv <domain>', 'domain name to query for SRV records describing cluster endpoints')
    .option('--discovery-srv-name <name>', 'service name to query when using DNS discovery')
    .option('--dial-timeout <duration>', 'dial timeout for client connections (default 2s)')
    .option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout) (default 5s)')
    .option('--keepalive-time <duration>', 'keepalive time for client connections (default 2s)')
    .option('--keepalive-timeout <duration>', 'keepalive timeout for client connections (default 6s)')
    .option('--user <user[:password]>', 'username[:password] for authentication (prompt if password is not supplied)')
    .option('--password <password>', 'password for authentication (if this option is used, --user option shouldn\'t include password)')
    .option('-w, --write-out <format>', 'set the output format (fields, json, protobuf, simple, table) (default "simple")')
    .option('--hex', 'print byte strings as hex encoded strings')
    .addOption(new Option('--no-hex').hideHelp())
    .option('--debug', 'enable client-side debug logging')
    .addOption(new Option('--no-debug').hideHelp())
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s), writeErr: err, outputError: () => undefined });
  const o = out as (s: string) => void;
  program.addCommand(putCommand(o));
  program.addCommand(getCommand(o));
  program.addCommand(delCommand(o));
  program.addCommand(txnCommand(o));
  program.addCommand(compactionCommand(o));
  program.addCommand(memberCommand(o));
  program.addCommand(moveLeaderCommand(o));
  program.addCommand(leaseCommand(o));
  program.addCommand(endpointCommand(o, err));
  program.addCommand(alarmCommand(out));
  program.addCommand(defragCommand(o, err));
  program.addCommand(snapshotCommand(out, err));
  program.addCommand(userCommand(out));
  program.addCommand(roleCommand(out));
  program.addCommand(authCommand(out));
  program.addCommand(lockCommand(out, err));
  program.addCommand(electCommand(out, err));
  program.addCommand(watchCommand(out as (s: string) => void, err));
  program
    .command('version')
    .description('Prints the version of quorumctl')
    .action(() => out(`quorumctl version: ${PACKAGE_VERSION}\nAPI version: ${API_VERSION}\n`));
  const override = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => out(s), writeErr: err, outputError: () => undefined });
    for (const s of c.commands) override(s);
  };
  for (const c of program.commands) override(c);
  return program;
}

/** cobra's text for a parse error (printed by cobra, then again by etcdctl). */
function cobraError(program: Command, e: CommanderError, argv: string[]): string {
  if (e.code === 'commander.unknownCommand') {
    const m = /unknown command '([^']*)'/.exec(e.message);
    const name = m?.[1] ?? argv[0] ?? '';
    const lower = name.toLowerCase();
    const sugg = program.commands
      .map((c) => c.name())
      .filter((c) => distance(lower, c.toLowerCase()) <= 2 || c.toLowerCase().startsWith(lower))
      .sort();
    let msg = `unknown command "${name}" for "quorumctl"`;
    if (sugg.length > 0) msg += `\n\nDid you mean this?\n${sugg.map((s) => `\t${s}\n`).join('')}`;
    return msg;
  }
  if (e.code === 'commander.unknownOption') {
    const m = /unknown option '([^']*)'/.exec(e.message);
    return `unknown flag: ${m?.[1] ?? ''}`;
  }
  if (e.code === 'commander.optionMissingArgument') {
    const m = /option '([^']*)' argument missing/.exec(e.message);
    const flag = (m?.[1] ?? '').split(/[ ,]+/).find((f) => f.startsWith('--')) ?? '';
    return `flag needs an argument: ${flag}`;
  }
  return e.message.replace(/^error: /, '');
}

/** Run quorumctl with argv (without node and script). Writes to stdout/stderr; resolves with the exit code. */
export async function main(argv: string[], io: CtlIo = {}): Promise<number> {
  const out = io.out ?? ((s: string | Uint8Array) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  ctlIo.out = out;
  ctlIo.err = err;
  const program = buildProgram(out, err);
  try {
    await program.parseAsync(normalizeArgv(argv), { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      const msg = cobraError(program, e, argv);
      if (e.code === 'commander.unknownCommand') err(`Error: ${msg}\nRun 'quorumctl --help' for usage.\nError: ${msg}\n`);
      else err(`Error: ${msg}\n\nError: ${msg}\n`);
      return 1;
    }
    if (e instanceof CtlFatal) return e.code;
    if (e instanceof CtlFlagError) {
      err(`Error: ${e.message}\n\nError: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof UnsupportedFormatError) {
      err(`Error: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof StoreError) {
      err(`Error: ${errorMessage(e)}\n`);
      return 1;
    }
    err(`Error: ${e instanceof CtlError ? e.message : errorMessage(e)}\n`);
    return e instanceof CtlError ? e.code : 1;
  }
}

/**
 * Runs `main` as the program and exits with its code once stdout/stderr are flushed, as etcdctl exits when its
 * command returns: a handle the gRPC library leaves open (a cancelled stream, a channel still connecting) must not
 * keep the process alive after the command is done.
 */
export async function runAsProgram(argv: string[]): Promise<never> {
  const code = await main(argv);
  const drain = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => (s.writableNeedDrain ? s.once('drain', () => resolve()) : resolve()));
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}

// In the release bundle (esbuild defines QUORUM_BUNDLED) this module is the program's entry point.
if (process.env.QUORUM_BUNDLED === '1' && /quorumctl(\.mjs)?$/.test(process.argv[1] ?? '')) {
  void runAsProgram(process.argv.slice(2));
}
