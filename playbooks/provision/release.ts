/** Finds the release tarball the provision playbook installs, and its expected SHA-256. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Inventory } from '../../toolkit/inventory/types.js';

/** A local release artifact. */
export interface LocalRelease {
  /** Absolute path of quorum-<version>-linux-x64.tar.gz. */
  tarball: string;
  /** SHA-256 (hex) from the `.sha256` file beside it. */
  sha256: string;
  /** Version parsed from the file name. */
  version: string;
}

/** The project root (the directory holding package.json), from this file's location in src or dist. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The version in package.json (the release this toolkit builds). */
export function projectVersion(root = projectRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Resolves `inv.cluster.release`, or else `<project>/release/quorum-<version>-linux-x64.tar.gz`, with its
 * `.sha256`. Throws Error (one line with the fix) when either file is missing or malformed.
 */
export function findRelease(inv: Inventory): LocalRelease {
  const root = projectRoot();
  const tarball = inv.cluster.release
    ? resolve(inv.cluster.release)
    : join(root, 'release', `quorum-${process.env.QUORUM_VERSION ?? projectVersion(root)}-linux-x64.tar.gz`);
  const fix = inv.cluster.release ? 'fix cluster.release in the inventory or build it with `npm run release`' : 'run `npm run release` first';
  return releaseAt(tarball, fix);
}

/**
 * The release tarball at `path` (`quorum-<version>-linux-x64.tar.gz`) with the SHA-256 from the `.sha256` file
 * beside it. Throws Error (one line ending with `fix`) when either file is missing or malformed.
 */
export function releaseAt(path: string, fix = 'give the path of a tarball built by `npm run release`, with its .sha256 beside it'): LocalRelease {
  const tarball = resolve(path);
  if (!existsSync(tarball)) throw new Error(`release tarball ${tarball} not found (fix: ${fix})`);
  const sumFile = `${tarball}.sha256`;
  if (!existsSync(sumFile)) throw new Error(`checksum file ${sumFile} not found (fix: ${fix})`);
  const sha256 = /^([0-9a-f]{64})\b/.exec(readFileSync(sumFile, 'utf8').trim())?.[1];
  if (!sha256) throw new Error(`${sumFile} does not start with a SHA-256 (fix: ${fix})`);
  const m = /^quorum-(.+)-linux-x64\.tar\.gz$/.exec(basename(tarball));
  if (!m) throw new Error(`release tarball name ${basename(tarball)} is not quorum-<version>-linux-x64.tar.gz (fix: ${fix})`);
  return { tarball, sha256, version: m[1]! };
}

/**
 * For plans only (`--dry-run`): the release if it is built, else a placeholder naming the tarball that
 * `npm run release` would make, so an operator can read the plan before building anything.
 */
export function findReleaseForPlan(inv: Inventory): LocalRelease {
  try {
    return findRelease(inv);
  } catch {
    const version = process.env.QUORUM_VERSION ?? projectVersion();
    const tarball = inv.cluster.release ? resolve(inv.cluster.release) : join(projectRoot(), 'release', `quorum-${version}-linux-x64.tar.gz`);
    return { tarball, sha256: '(not built yet: npm run release)', version };
  }
}
