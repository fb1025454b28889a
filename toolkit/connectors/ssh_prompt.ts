/**
 * Asking the operator for the sudo password once per run: on the terminal with echo off, or from a file
 * (`--sudo-password-file`, first line) for unattended runs. The password is returned, never printed or logged.
 */
import { readFileSync } from 'node:fs';

/**
 * Reads one line from the terminal without echo. Throws Error when stdin is not a terminal (no prompt is
 * possible: use --sudo-password-file or passwordless sudo).
 */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(new Error('a sudo password is needed but stdin is not a terminal: use --sudo-password-file FILE or give the login user passwordless sudo'));
  }
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let buf = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err); else resolve(buf);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('interrupted at the sudo password prompt'));
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1); else buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The first line of `file` (a password file, mode 0600 advised). Throws Error naming the file, never its content. */
export function passwordFromFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.replace(/\r$/, '');
  } catch (e) {
    throw new Error(`cannot read the sudo password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The password source of a run: the file when given, else a terminal prompt naming the user(s). */
export function sudoPasswordSource(opts: { file?: string; users: string[] }): () => Promise<string> {
  if (opts.file) { const f = opts.file; return async () => passwordFromFile(f); }
  return () => promptHidden(`sudo password for ${[...new Set(opts.users)].join(', ')}: `);
}
