/**
 * Small process helpers for the lab: run a command and capture its output, or fail with a clear message.
 * Everything here uses node:child_process with an argument vector (no shell) unless a shell is asked for.
 */
import { spawn } from 'node:child_process';

/** Result of a finished command. `code` is the exit code, or 128+signal number when killed by a signal. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Text written to the command's stdin (stdin is closed afterwards; /dev/null when absent). */
  stdin?: string;
  /** Kill the command (SIGKILL) after this many ms; the result then has code 124. Default: no limit. */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs `argv[0]` with the remaining arguments and resolves with its exit code and captured output.
 * Never rejects for a non-zero exit; rejects only when the program cannot be started (ENOENT etc.).
 */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: timedOut ? 124 : code ?? 128 + (signal ? SIGNALS[signal] ?? 0 : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Error thrown by {@link runOk} when a command exits non-zero. */
export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    super(`command failed (exit ${result.code}): ${argv.join(' ')}${tail ? `\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Like {@link run} but rejects with {@link CommandError} unless the exit code is 0; resolves with stdout. */
export async function runOk(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r.stdout;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
