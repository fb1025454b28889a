/** Writing PKI files: atomic, private keys 0600, directory 0700. */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Create `dir` (and parents) with mode 0700 if missing. */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Write `content` to `dir/name` via a temporary file and rename, with `mode` (0600 for keys, 0644 for certs). */
export function writeAtomic(dir: string, name: string, content: string, mode: number): string {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  return path;
}
