/**
 * Key permissions as intervals (etcd 3.4 auth/range_perm_cache.go semantics):
 * - a permission with an empty range_end covers the single key `key`;
 * - range_end "\0" covers every key >= key;
 * - otherwise it covers [key, range_end).
 * A request for one key (empty range_end) is allowed when any granted interval holds the key; a request for a
 * range [key, range_end) (range_end "\0" = to the end of the key space) is allowed only when the union of the
 * granted intervals covers the whole range.
 */

/** Permission types (authpb.Permission.Type). */
export enum PermType { READ = 0, WRITE = 1, READWRITE = 2 }

/** One granted permission: type and key range (bytes). */
export interface Permission { permType: PermType; key: Uint8Array; rangeEnd: Uint8Array }

/** A half-open byte interval [begin, end); `end` undefined = +infinity. */
export interface Interval { begin: Uint8Array; end?: Uint8Array }

/** Byte-wise comparison (Go bytes.Compare). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const isFromKey = (end: Uint8Array) => end.length === 1 && end[0] === 0;

/** The interval a permission covers, or undefined for an empty/inverted one (which grants nothing). */
export function permInterval(p: { key: Uint8Array; rangeEnd: Uint8Array }): Interval | undefined {
  if (p.rangeEnd.length === 0) {
    const end = new Uint8Array(p.key.length + 1);
    end.set(p.key);
    return { begin: p.key, end };
  }
  if (isFromKey(p.rangeEnd)) return { begin: p.key };
  return compareBytes(p.key, p.rangeEnd) < 0 ? { begin: p.key, end: p.rangeEnd } : undefined;
}

/** end1 compared to end2 where undefined = +infinity. */
function compareEnd(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return compareBytes(a, b);
}

/** Whether `key` lies in `ivl`. */
function holds(ivl: Interval, key: Uint8Array): boolean {
  return compareBytes(ivl.begin, key) <= 0 && (ivl.end === undefined || compareBytes(key, ivl.end) < 0);
}

/** Whether the union of `ivls` covers all of `q` (etcd adt IntervalTree.Contains). */
export function covers(ivls: readonly Interval[], q: Interval): boolean {
  const hits = ivls
    .filter((i) => q.end === undefined || compareBytes(i.begin, q.end) < 0)
    .filter((i) => i.end === undefined || compareBytes(q.begin, i.end) < 0)
    .sort((a, b) => compareBytes(a.begin, b.begin));
  if (hits.length === 0 || compareBytes(hits[0].begin, q.begin) > 0) return false;
  let reach: Uint8Array | undefined = hits[0].end;
  for (const i of hits.slice(1)) {
    if (reach === undefined) break;
    if (compareBytes(i.begin, reach) > 0) return false;
    if (compareEnd(i.end, reach) > 0) reach = i.end;
  }
  return compareEnd(reach, q.end) >= 0;
}

/** Whether `perms` allow `want` (READ or WRITE) on key (rangeEnd empty) or on [key, rangeEnd). */
export function permits(perms: readonly Permission[], want: PermType.READ | PermType.WRITE, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  const ivls: Interval[] = [];
  for (const p of perms) {
    if (p.permType !== want && p.permType !== PermType.READWRITE) continue;
    const i = permInterval(p);
    if (i) ivls.push(i);
  }
  if (rangeEnd.length === 0) return ivls.some((i) => holds(i, key));
  return covers(ivls, isFromKey(rangeEnd) ? { begin: key } : { begin: key, end: rangeEnd });
}
