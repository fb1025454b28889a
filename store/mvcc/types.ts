/** Public shapes of the MVCC store (docs/CONTRACTS.md, store/mvcc); field names follow etcd's mvccpb.KeyValue. */

/** One version of a key. Revisions are store revisions; `version` counts puts since the key was (re)created. */
export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  /** Lease ID, 0n when none. */
  lease: bigint;
}

/** Options of a range read. */
export interface RangeOptions {
  /** At most this many kvs (0/undefined = no limit). */
  limit?: number;
  /** Read at this revision (0/undefined = current). */
  revision?: number;
  /** Return kvs with empty values. */
  keysOnly?: boolean;
  /** Return no kvs, only `count`. */
  countOnly?: boolean;
}

/** The result of a range read. */
export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys matching, regardless of limit. */
  count: number;
  /** True when `limit` cut the result short. */
  more: boolean;
  /** The store's current revision (the response header revision), not the revision read at. */
  revision: number;
}

/** A change, as a watcher sees it. For a delete, `kv` carries the key and the deleting modRevision only. */
export interface MvccEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}
