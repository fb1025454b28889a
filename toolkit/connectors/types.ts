/**
 * The connector interface: how the engine reaches a host. Implementations: `SshConnector`
 * (node-ssh, real hosts) and `LocalConnector` (this machine, for tests). Shapes follow
 * docs/CONTRACTS.md "toolkit/connectors".
 */

/** Result of one shell command. `code` is the exit status (-1 when killed by a signal). */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of `Connector.run`. */
export interface RunOptions {
  /** Run through `sudo -n` (ignored when already root). */
  sudo?: boolean;
  /** Bytes or text written to the command's stdin. */
  stdin?: string | Buffer;
}

/** Options of `Connector.putFile`. */
export interface PutFileOptions {
  /** Octal permission bits, e.g. 0o600. */
  mode: number;
  /** `user` or `user:group`; default: the connecting user (root). */
  owner?: string;
}

/**
 * One host. All paths are absolute paths on the host. Methods throw `ConnectorError`
 * when the host cannot be reached; a command that exits non-zero is NOT an error for `run`
 * (the caller reads `code`), but is for `putFile` / `putFileFrom`.
 */
export interface Connector {
  /** Display name used in messages: `etcd-02 (10.88.0.12)`. */
  readonly host: string;
  /** Opens the connection (idempotent). */
  connect(): Promise<void>;
  /** Runs `cmd` with `/bin/sh -c`. */
  run(cmd: string, opts?: RunOptions): Promise<RunResult>;
  /** Writes `content` atomically: temp file in the same directory, chmod/chown, rename. */
  putFile(remotePath: string, content: Buffer, opts: PutFileOptions): Promise<void>;
  /** Uploads a local file (possibly large) to `remotePath` (atomically, mode 0644 unless given). */
  putFileFrom(localPath: string, remotePath: string, opts?: Partial<PutFileOptions>): Promise<void>;
  /** Reads a file; undefined when it does not exist. */
  getFile(remotePath: string): Promise<Buffer | undefined>;
  /** Closes the connection (idempotent). */
  close(): Promise<void>;
}

/** A host could not be reached or a transfer failed. `message` is one line naming the host. */
export class ConnectorError extends Error {
  constructor(
    readonly host: string,
    message: string,
    /** What the operator can do about it. */
    readonly remedy?: string,
  ) {
    super(`${host}: ${message}`);
    this.name = 'ConnectorError';
  }
}

/** Quotes a string for POSIX sh (single quotes). */
export function shq(s: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Formats a mode as 4 octal digits: 0o600 → "0600". */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * The shell snippet that moves a staged temp file into place with mode and owner:
 * `chmod MODE TMP && chown OWNER TMP && mv -f TMP PATH`.
 */
export function finishUploadCommand(tmp: string, path: string, opts: Partial<PutFileOptions>): string {
  const parts = [`chmod ${octal(opts.mode ?? 0o644)} ${shq(tmp)}`];
  if (opts.owner) parts.push(`chown ${shq(opts.owner)} ${shq(tmp)}`);
  parts.push(`mv -f ${shq(tmp)} ${shq(path)}`);
  return parts.join(' && ');
}

/** The temp name used beside `path` while uploading. */
export function tempPathFor(path: string): string {
  const slash = path.lastIndexOf('/');
  const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  return `${dir}.${base}.quorum-tmp-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}
