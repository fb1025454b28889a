/**
 * Version strings in one place.
 * SERVER_VERSION is what Maintenance.Status reports as `version` (etcdctl shows it; clients compare it with
 * 3.4 features), API_VERSION is the etcd API level we speak. PACKAGE_VERSION is quorum's own release version.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The etcd server version we claim to be compatible with (Status.version). */
export const SERVER_VERSION = '3.4.0';
/** The etcd cluster/API version (etcdctl prints "API Version: 3.4"). */
export const API_VERSION = '3.4';

function findPackageVersion(): string {
  if (process.env.QUORUM_VERSION) return process.env.QUORUM_VERSION;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'quorum' && pkg.version) return pkg.version;
      } catch {
        /* keep looking */
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
}

/** quorum's package version (package.json "version", or $QUORUM_VERSION in a bundle). */
export const PACKAGE_VERSION = findPackageVersion();
