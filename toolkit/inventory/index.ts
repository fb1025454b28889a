/**
 * Load and validate an inventory file: YAML (the `yaml` package, positions via LineCounter) ->
 * inventory/schema.json (ajv, JSON Schema 2020-12) -> semantic checks -> defaults -> `Inventory`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { InventoryError, type InventoryProblem } from './errors.js';
import { applyDefaults } from './defaults.js';
import type { RawInventory } from './raw.js';
import { schemaProblems } from './schema-check.js';
import { semanticProblems } from './semantic.js';
import type { Inventory } from './types.js';

export type { HostSpec, Inventory, SshSettings, StoreSettings } from './types.js';
export { InventoryError, formatProblem, type InventoryProblem } from './errors.js';
export { DEFAULTS, resolveLocalPath } from './defaults.js';
export { isIPv4, isRfc1123Label } from './semantic.js';

/**
 * Parse and validate inventory text.
 * @param text YAML source.
 * @param file Path used in messages and to resolve relative paths (made absolute against the cwd).
 * @returns the validated inventory with defaults applied (see types.ts for each default).
 * @throws InventoryError with one `FILE:LINE:COL: /json/pointer: what (fix: how)` line per problem:
 *   YAML syntax errors first (all of them); otherwise schema problems (unknown keys with a suggestion,
 *   wrong types, missing keys); otherwise semantic problems (see `semanticProblems`).
 */
export function parseInventory(text: string, file: string, opts: { allowEven?: boolean } = {}): Inventory {
  const abs = resolve(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InventoryError(doc.errors.map((e): InventoryProblem => {
      const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      return {
        file: abs, line: pos.line, col: pos.col, path: '',
        message: `YAML ${e.code}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        fix: 'correct the YAML syntax (indent with spaces, `key: value`, lists with `- `)',
      };
    }));
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const schema = schemaProblems(data, abs, doc, lc);
  if (schema.length > 0) throw new InventoryError(schema);
  const raw = data as RawInventory;
  const semantic = semanticProblems(raw, abs, doc, lc, opts);
  if (semantic.length > 0) throw new InventoryError(semantic.sort((a, b) => a.line - b.line || a.col - b.col));
  return applyDefaults(raw, abs);
}

/**
 * Read, parse and validate the inventory file at `path` (see `parseInventory`).
 * @throws InventoryError also when the file cannot be read (reported at line 1, column 1).
 */
export function loadInventory(path: string, opts: { allowEven?: boolean } = {}): Inventory {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InventoryError([{ file: abs, line: 1, col: 1, path: '', message: `cannot read the inventory (${code})`,
      fix: code === 'ENOENT' ? 'check the path given with -i' : 'check the file permissions' }]);
  }
  return parseInventory(text, abs, opts);
}
