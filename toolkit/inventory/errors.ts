/**
 * Inventory problems and the error that carries them.
 * Every problem names the file, the 1-based line and column, the JSON pointer of the offending value,
 * what is wrong and how to fix it, so the operator can jump straight to it.
 */

/** One problem found in an inventory file. */
export interface InventoryProblem {
  /** File as given to the loader (absolute when loaded with `loadInventory`). */
  file: string;
  /** 1-based line of the offending node (or of its parent when the value is missing). */
  line: number;
  /** 1-based column. */
  col: number;
  /** JSON pointer into the YAML document, e.g. `/hosts/1/address`; `` for the whole document. */
  path: string;
  /** What is wrong, e.g. `"192.168.1.300" is not an IPv4 address`. */
  message: string;
  /** How to fix it. */
  fix?: string;
}

/** Format one problem as `FILE:LINE:COL: /path: message (fix: ...)`. */
export function formatProblem(p: InventoryProblem): string {
  const where = p.path === '' ? '/' : p.path;
  return `${p.file}:${p.line}:${p.col}: ${where}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`;
}

/**
 * Thrown by `loadInventory` / `parseInventory` when the file cannot be read, is not valid YAML, does not
 * match inventory/schema.json or fails a semantic check. `message` is one line per problem
 * (see `formatProblem`), in document order; `problems` holds them structured.
 */
export class InventoryError extends Error {
  readonly problems: InventoryProblem[];
  constructor(problems: InventoryProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InventoryError';
    this.problems = problems;
  }
}
