/**
 * Shapes of a recorded client history against an etcd-v3-API store (quorumd or etcd), as the fault
 * harness records them and the checkers read them. Keys and values are strings (the harness uses ASCII
 * keys and values); lease IDs are decimal strings (uint64 on the wire); times are microseconds on the
 * client's monotonic clock (process.hrtime), relative to the start of the run.
 */

/** One key's state as a range response returns it (mvccpb.KeyValue). lease "0" = none. */
export interface KvSnap { key: string; value: string; mod: number; create: number; ver: number; lease: string }

/** A comparison of a Txn (etcdserverpb.Compare), restricted to what the load uses. */
export interface Cmp {
  key: string;
  target: 'mod' | 'create' | 'version' | 'value';
  op: '=' | '!=' | '<' | '>';
  /** A revision/version number, or a value string for target "value". */
  arg: number | string;
}

/** One request inside a Txn branch. */
export type TxnOp =
  | { t: 'put'; key: string; value: string; lease?: string }
  | { t: 'del'; key: string; end?: string }
  | { t: 'range'; key: string; end?: string };

/** What the client asked (one gRPC call). `end` is etcd's range_end ("\0" = every key >= key). */
export type Request =
  | { t: 'put'; key: string; value: string; lease?: string }
  | { t: 'del'; key: string; end?: string }
  | { t: 'range'; key: string; end?: string; serializable?: boolean }
  | { t: 'txn'; cmp: Cmp[]; then: TxnOp[]; else: TxnOp[] }
  /** ttl: seconds (default 3600, which never expires within a run; the model ignores it). */
  | { t: 'grant'; id: string; ttl?: number }
  | { t: 'revoke'; id: string };

/** Result of one request inside a Txn branch (ranges carry kvs; puts and deletes carry nothing checked). */
export type TxnOpResult = { t: 'put' } | { t: 'del'; deleted: number } | { t: 'range'; kvs: KvSnap[] };

/** What the server answered. `rev` is the response header's revision. */
export type Response =
  | { t: 'put'; rev: number }
  | { t: 'del'; rev: number; deleted: number }
  | { t: 'range'; rev: number; kvs: KvSnap[] }
  | { t: 'txn'; rev: number; succeeded: boolean; results: TxnOpResult[] }
  | { t: 'grant' }
  | { t: 'revoke'; rev: number }
  /** A failure known to have had no effect (e.g. "requested lease not found"). */
  | { t: 'fail'; msg: string };

/**
 * One operation of a history. `ret` undefined = outcome unknown (timeout, connection lost): it may have
 * taken effect at any time after `call`, or never (Porcupine's convention of an infinite return time).
 */
export interface Operation {
  id: number;
  client: number;
  /** Call time, µs. */
  call: number;
  /** Return time, µs; undefined when the outcome is unknown. */
  ret?: number;
  req: Request;
  /** Present iff ret is present. */
  resp?: Response;
  /** Which member served it (client URL), for reports and stale-read checks. */
  member?: string;
  /** Member incarnation counter at call time (bumped on each restart), for per-session monotonicity. */
  incarnation?: number;
  /** Free text for the timeline (error message of an unknown outcome, ...). */
  note?: string;
}

/** One event of a Watch response (mvccpb.Event). */
export interface WatchEvent { type: 'put' | 'del'; kv: KvSnap; prev?: KvSnap }

/** One WatchResponse as a watcher received it. */
export interface WatchBatch { at: number; events: WatchEvent[]; rev: number }

/** A watcher's record: what it asked and every batch it received, in arrival order. */
export interface WatchRecord {
  id: number;
  member: string;
  key: string;
  end?: string;
  /** start_revision asked (0 = from now: then the first expected revision is the header rev of the created response + 1). */
  startRev: number;
  /** The header revision of the "created" response. */
  createdRev: number;
  prevKv: boolean;
  batches: WatchBatch[];
  /** Set when the watch was cancelled by the server (e.g. compacted) or the stream broke. */
  ended?: string;
}

/** A whole recorded run. */
export interface History { seed: number; ops: Operation[]; watches: WatchRecord[]; meta?: Record<string, unknown> }
