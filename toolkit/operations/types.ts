import { createHash } from 'node:crypto';
import { octal, shq } from '../connectors/types.js';

/**
 * One thing to do on a host. `run` is a shell command; `put` writes a file atomically with the
 * connector (content known at plan time; `undefined` only in a dry run, when it would be generated
 * on apply, e.g. a certificate not issued yet); `upload` copies a local file (the release tarball).
 * Modes are 4-digit octal strings ("0600"), owners `user:group`.
 */
export type Command =
  | { kind: 'run'; cmd: string }
  | { kind: 'put'; path: string; content?: Buffer; mode: string; owner?: string; sha256?: string }
  | { kind: 'upload'; local: string; path: string; mode: string };

/**
 * What an operation decided from the facts: the commands to run (none when the host already matches,
 * with `reason` saying why), whether that is a change, and the handlers to notify when it is.
 */
export interface OperationResult {
  changed: boolean;
  commands: Command[];
  /** Why the commands are needed, or why nothing is. */
  reason: string;
  /** Handler names (e.g. `daemon-reload`, `restart`) to notify when `changed`. */
  notify?: string[];
}

/** A shell command. */
export function run(cmd: string): Command {
  return { kind: 'run', cmd };
}

/** SHA-256 of bytes, hex. */
export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Nothing to do, because `reason`. */
export function noChange(reason: string): OperationResult {
  return { changed: false, commands: [], reason };
}

/** Changes: `commands`, because `reason`; notifies `notify` handlers. */
export function changes(commands: Command[], reason: string, notify?: string[]): OperationResult {
  return notify && notify.length ? { changed: true, commands, reason, notify } : { changed: true, commands, reason };
}

/**
 * One line per command for dry runs and fixtures: `run` → the command itself,
 * `put` → `put PATH mode=0600 owner=etcd:etcd sha256=<first 16 hex>` (or `(generated on apply)`),
 * `upload` → `upload LOCAL -> PATH mode=0644`.
 */
export function describeCommand(c: Command): string {
  switch (c.kind) {
    case 'run':
      return c.cmd;
    case 'put': {
      const sum = c.sha256 ?? (c.content ? sha256(c.content) : undefined);
      return `put ${shq(c.path)} mode=${c.mode}${c.owner ? ` owner=${c.owner}` : ''} ${sum ? `sha256=${sum.slice(0, 16)}` : '(generated on apply)'}`;
    }
    case 'upload':
      return `upload ${c.local} -> ${shq(c.path)} mode=${c.mode}`;
  }
}

/** Normalizes a mode given as number (0o600) or string ("600", "0600") to 4 octal digits. */
export function modeString(m: number | string): string {
  return typeof m === 'number' ? octal(m) : m.padStart(4, '0');
}
