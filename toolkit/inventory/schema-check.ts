/**
 * Validate the raw YAML value against inventory/schema.json (JSON Schema 2020-12, via ajv) and turn ajv's
 * errors into located, one-line problems with a fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Document, LineCounter } from 'yaml';
import type { InventoryProblem } from './errors.js';
import { locate, pointerSegments } from './locate.js';

let compiled: ValidateFunction | undefined;

/**
 * Path of inventory/schema.json: `$QUORUM_INVENTORY_SCHEMA` if set, else found by walking up from this
 * module (works from the source tree and from dist/).
 * @throws Error when the schema cannot be found.
 */
export function schemaPath(): string {
  const env = process.env.QUORUM_INVENTORY_SCHEMA;
  if (env) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'inventory', 'schema.json');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('inventory/schema.json not found above ' + fileURLToPath(import.meta.url) + ' (set QUORUM_INVENTORY_SCHEMA)');
    dir = up;
  }
}

function validator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(schemaPath(), 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Levenshtein distance (insert/delete/substitute = 1). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The known key closest to `key`, when close enough to be a likely typo. */
export function suggestKey(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestD) { bestD = d; best = k; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

const TYPE_NAME: Record<string, string> = { integer: 'an integer', string: 'a string', object: 'a mapping', array: 'a list' };

const TYPE_FIX: Record<string, string> = {
  integer: 'write a whole number without quotes or units',
  string: 'write a text value',
  object: 'write a mapping of `key: value` lines indented under it',
  array: 'write a list of `- ` items',
};

function problemFor(e: ErrorObject, file: string, doc: Document, lc: LineCounter): InventoryProblem {
  const path = e.instancePath;
  const at = (pointer: string, which: 'value' | 'key' = 'value') => ({ file, ...locate(doc, lc, pointer, which) });
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const guess = suggestKey(key, known);
      const p = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      return {
        ...at(p, 'key'), path: p,
        message: `unknown key "${key}"${guess ? `, did you mean ${guess}?` : ''}`,
        fix: guess ? `rename it to ${guess}` : `remove it; known keys here: ${known.join(', ')}`,
      };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      const p = `${path}/${key}`;
      const fix = key === 'hosts'
        ? 'add a `hosts:` list of 3, 5 or 7 members, each with `name:` and `address:`'
        : `add \`${key}:\` here`;
      return { ...at(path), path: p, message: `missing required key "${key}"`, fix };
    }
    case 'type': {
      const want = String((e.params as { type: string }).type);
      return { ...at(path), path, message: `expected ${TYPE_NAME[want] ?? `a ${want}`}, got ${e.data === null ? 'nothing' : show(e.data)}`, fix: TYPE_FIX[want] };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      return { ...at(path), path, message: `${show(e.data)} is not one of ${allowed.join(', ')}`, fix: `use one of ${allowed.join(', ')}` };
    }
    case 'minimum':
    case 'maximum': {
      const limit = (e.params as { limit: number }).limit;
      return {
        ...at(path), path,
        message: `${show(e.data)} is ${e.keyword === 'minimum' ? 'below the minimum' : 'above the maximum'} ${limit}`,
        fix: `use a value ${e.keyword === 'minimum' ? '>=' : '<='} ${limit}`,
      };
    }
    case 'minItems':
      return { ...at(path), path, message: 'the list is empty', fix: 'list 3, 5 or 7 members, each with `name:` and `address:`' };
    case 'minLength':
      return { ...at(path), path, message: 'the value is empty', fix: 'write a non-empty value or remove the key' };
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit;
      return { ...at(path), path, message: `${show(e.data)} is longer than ${limit} characters`, fix: `shorten it to at most ${limit} characters` };
    }
    case 'pattern': {
      const key = pointerSegments(path).at(-1) ?? '';
      if (key === 'data-dir' || key === 'config-dir') {
        return { ...at(path), path, message: `${show(e.data)} is not an absolute path`, fix: 'write a path starting with /, e.g. /var/lib/etcd' };
      }
      if (key === 'user') {
        return { ...at(path), path, message: `${show(e.data)} is not a valid system user name`, fix: 'use lowercase letters, digits, - and _, e.g. etcd' };
      }
      return { ...at(path), path, message: `${show(e.data)} does not match ${(e.params as { pattern: string }).pattern}` };
    }
    default:
      return { ...at(path), path, message: e.message ?? e.keyword };
  }
}

/**
 * Validate `data` (the YAML document as plain JS) against the schema.
 * @returns located problems, in document order, deduplicated; empty when valid.
 */
export function schemaProblems(data: unknown, file: string, doc: Document, lc: LineCounter): InventoryProblem[] {
  const validate = validator();
  if (validate(data)) return [];
  const seen = new Set<string>();
  const out: InventoryProblem[] = [];
  for (const e of validate.errors ?? []) {
    // `$ref` siblings and `enum` under `$ref` can report the same spot twice; keep one line per message.
    const p = problemFor(e, file, doc, lc);
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}
