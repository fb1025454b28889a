/**
 * quorumctl: an etcdctl 3.4-compatible command line (same commands, flags, ETCDCTL_* variables and output
 * formats) for quorumd and etcd. One file per command under command/. `main(argv)` returns the exit code.
 */
import { Command, CommanderError } from 'commander';
import { delCommand } from './command/del_command.js';
import { endpointCommand } from './command/endpoint_command.js';
import { getCommand } from './command/get_command.js';
import { memberCommand } from './command/member_command.js';
import { putCommand } from './command/put_command.js';
import { CtlError, errorMessage } from './global.js';
import { API_VERSION, PACKAGE_VERSION } from '../server/version.js';

export { renderStatusTable, type StatusRow } from './printer.js';

/** Run quorumctl with argv (without node and script). Writes to stdout/stderr; resolves with the exit code. */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  const program = new Command('quorumctl')
    .description('A simple command line client for quorumd and etcd (etcdctl 3.4 compatible).')
    .option('--endpoints <list>', 'gRPC endpoints (default "127.0.0.1:2379")')
    .option('--cacert <file>', 'verify certificates of TLS-enabled secure servers using this CA bundle')
    .option('--cert <file>', 'identify secure client using this TLS certificate file')
    .option('--key <file>', 'identify secure client using this TLS key file')
    .option('--dial-timeout <duration>', 'dial timeout for client connections (default 2s)')
    .option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout) (default 5s)')
    .option('-w, --write-out <format>', 'set the output format (fields, json, protobuf, simple, table)')
    .option('--hex', 'print byte strings as hex encoded strings')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  program.addCommand(putCommand(out));
  program.addCommand(getCommand(out));
  program.addCommand(delCommand(out));
  program.addCommand(memberCommand(out));
  program.addCommand(endpointCommand(out, err));
  program
    .command('version')
    .description('Prints the version of quorumctl')
    .action(() => out(`quorumctl version: ${PACKAGE_VERSION}\nAPI version: ${API_VERSION}\n`));
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 1;
    }
    err(`Error: ${e instanceof CtlError ? e.message : errorMessage(e)}\n`);
    return e instanceof CtlError ? e.code : 1;
  }
}

// In the release bundle (esbuild defines QUORUM_BUNDLED) this module is the program's entry point.
if (process.env.QUORUM_BUNDLED === '1' && /quorumctl(\.mjs)?$/.test(process.argv[1] ?? '')) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
