/** Errors of the write-ahead log. */

/**
 * The WAL holds bytes that cannot be a torn final write: a bad CRC, an unknown record type or a malformed
 * record before the end of the last segment, a missing segment, or inconsistent metadata.
 * Never recovered from silently: an operator must decide (restore from a snapshot, or remove the member).
 */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
  /**
   * @param file   path of the segment file
   * @param offset byte offset of the bad record in that file (-1 when the problem is not at one offset)
   * @param detail what is wrong
   */
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`wal: corrupt segment ${file}${offset >= 0 ? ` at offset ${offset}` : ''}: ${detail}`);
  }
}

/** Thrown by `Wal.create` when the directory already holds a WAL, and by `Wal.open` when it holds none. */
export class WalStateError extends Error {
  override readonly name = 'WalStateError';
}

/**
 * A write, fdatasync or file creation in the WAL directory failed (e.g. ENOSPC: the disk is full). Names the
 * file (segment, new segment's `.tmp`, or the test-only sync marker); `code` is the errno code ('ENOSPC', 'EIO').
 * The WAL refuses every later save (the node must stop); what was written before stays loadable by `Wal.open`.
 */
export class WalIoError extends Error {
  override readonly name = 'WalIoError';
  /** errno code of the underlying error, when it has one. */
  readonly code?: string;
  /**
   * @param file  path of the file being written
   * @param what  what was being done, e.g. "write at offset 51523"
   * @param cause the node:fs error
   */
  constructor(
    readonly file: string,
    what: string,
    cause: unknown,
  ) {
    super(`wal: ${what} of ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}
