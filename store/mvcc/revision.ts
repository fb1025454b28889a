/**
 * A store revision: `main` is the revision clients see (one per write transaction), `sub` orders the
 * changes inside one transaction (etcd's revision{main, sub}).
 */
export interface Revision {
  main: number;
  sub: number;
}

/** Negative, zero or positive as a is before, equal to or after b. */
export function compareRevision(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** A string key for sets/maps of revisions. */
export function revisionKey(r: Revision): string {
  return `${r.main}_${r.sub}`;
}
