/**
 * Version strings, in one place.
 * QUORUM_VERSION is the release's own version (package.json; the release wrappers export it as an
 * environment variable because a bundle has no package.json beside it). ETCD_API_VERSION is the etcd
 * API level quorumd speaks: clients such as etcdctl and gateway clients read it to pick features.
 */
import { readFileSync } from 'node:fs';

function readPackageVersion(): string {
  if (process.env.QUORUM_VERSION) return process.env.QUORUM_VERSION;
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string;
    } catch {
      /* try the next location */
    }
  }
  return '0.0.0-unknown';
}

/** quorum's own version, e.g. `0.1.0`. */
export const QUORUM_VERSION: string = readPackageVersion();
/** The etcd server version quorumd reports on the wire (Maintenance.Status.version, /version). */
export const ETCD_SERVER_VERSION = '3.4.0';
/** The etcd cluster API version (`etcdcluster` in /version). */
export const ETCD_CLUSTER_VERSION = '3.4.0';
