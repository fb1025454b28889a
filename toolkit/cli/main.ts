/**
 * `quorum`: the operator CLI (commander, one file per command). Exit codes: 0 ok, 1 failure,
 * 2 bad input. Errors are converted once, in `describeError`.
 */
import { Command, CommanderError } from 'commander';
import { registerBackup } from './backup.js';
import { registerCerts } from './certs.js';
import { registerEnv } from './env.js';
import { EXIT_BAD_INPUT, EXIT_OK, describeError } from './errors.js';
import { registerLab } from './lab.js';
import { registerMonitoring } from './monitoring.js';
import { registerProvision } from './provision.js';
import { registerRunbook } from './runbook.js';
import { registerStatus } from './status.js';
import { registerUpgrade } from './upgrade.js';

/** Builds the program (without running it). */
export function buildProgram(): Command {
  const program = new Command('quorum')
    .description('provision and operate TLS-secured quorumd clusters over SSH')
    .version(process.env.QUORUM_VERSION ?? '0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerProvision(program);
  registerEnv(program);
  registerStatus(program);
  registerLab(program);
  registerCerts(program);
  registerRunbook(program);
  registerBackup(program);
  registerMonitoring(program);
  registerUpgrade(program);
  return program;
}

/** Runs `quorum` with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return EXIT_BAD_INPUT;
    }
    const { code, text } = describeError(e);
    if (text) process.stderr.write(text);
    return code;
  }
}

// Run when executed directly (`node dist/toolkit/cli/main.js`) or as the release bundle; bin/quorum.js
// imports this module and calls `main` itself.
const isEntry = process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`;
if (isEntry || (process.env.QUORUM_BUNDLED === '1' && /quorum(\.mjs)?$/.test(process.argv[1] ?? ''))) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
