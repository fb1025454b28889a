/**
 * Locating and compiling the handlebars templates of templates/ (named after the file they produce).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

/**
 * The templates directory: `$QUORUM_TEMPLATES_DIR` when set (bundled builds), else the first
 * `templates/` holding quorumd.conf.yml.hbs found walking up from this module (source tree and dist/).
 * @throws Error when none is found.
 */
export function templatesDir(): string {
  const env = process.env.QUORUM_TEMPLATES_DIR;
  if (env) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'templates', 'quorumd.conf.yml.hbs'))) return join(dir, 'templates');
    const up = dirname(dir);
    if (up === dir) throw new Error(`templates/ not found above ${fileURLToPath(import.meta.url)} (set QUORUM_TEMPLATES_DIR)`);
    dir = up;
  }
}

const hb = Handlebars.create();
/** `{{q x}}`: a YAML/JSON double-quoted string. */
hb.registerHelper('q', (v: unknown) => JSON.stringify(String(v)));
/** `{{join list ", "}}`. */
hb.registerHelper('join', (list: unknown[], sep: unknown) => list.map(String).join(typeof sep === 'string' ? sep : ','));

const cache = new Map<string, Handlebars.TemplateDelegate>();

/**
 * Render `templates/<file>` with `vars`. Output is not HTML-escaped (`noEscape`), and strict: a variable
 * the template uses but `vars` lacks throws.
 */
export function renderTemplate(file: string, vars: object): string {
  const path = join(templatesDir(), file);
  let t = cache.get(path);
  if (!t) {
    t = hb.compile(readFileSync(path, 'utf8'), { noEscape: true, strict: true });
    cache.set(path, t);
  }
  return t(vars);
}
