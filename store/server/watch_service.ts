/**
 * etcdserverpb.Watch/Watch: one bidirectional stream carrying many watchers (etcd
 * server/etcdserver/api/v3rpc/watch.go; https://etcd.io/docs/v3.4/learning/api/#watch-api).
 * Requests are handled in arrival order:
 * - create: key "" means "\0"; range_end "\0" means every key >= key; start_revision 0 means "from the next
 *   revision"; watch_id 0 lets the stream choose (from 0). The answer is created=true with the current revision,
 *   or created+canceled with watch_id -1 and the error as cancel_reason (duplicate ID, empty range).
 * - cancel: canceled=true for an existing watcher; nothing for an unknown ID (as etcd).
 * - progress: watch_id -1 with the current revision, once every watcher of the stream is synced.
 * Responses come from the stream's ordered queue (watchable_store.ts) and are written while grpc-js accepts
 * them; when it pushes back the queue fills and watchers fall back to catching up from history, so a client
 * that does not read never holds up the apply loop. Each member serves watches from its own applied MVCC.
 */
import type * as grpc from '@grpc/grpc-js';
import { AUTO_WATCH_ID, WatchableStore, WatchFilter, type WatchResponse, type WatchStream } from '../mvcc/watchable_store.js';
import type { MvccEvent } from '../mvcc/types.js';
import { errors } from './errors.js';
import type { QuorumNode } from './node.js';
import { fragmentResponse, type WireEvent, type WireKv, type WireWatchResponse } from './watch_fragment.js';
import { header, kvToWire } from './wire.js';
import { cacheEncoding } from './watch_wire.js';

/** etcd's default --experimental-watch-progress-notify-interval: 10 minutes. */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;

/** Options of the Watch service. */
export interface WatchServiceOptions {
  /** Period of progress notifications to idle watchers that asked for them, ms (etcd default 10 min). */
  progressNotifyIntervalMs?: number;
  /** Responses buffered per stream before watchers fall back to history (etcd: 128). */
  bufferLimit?: number;
}

interface CreateReq {
  key: Buffer; range_end: Buffer; start_revision: string; progress_notify: boolean; filters: number[];
  prev_kv: boolean; watch_id: string; fragment: boolean;
}
interface WatchReq {
  request_union?: 'create_request' | 'cancel_request' | 'progress_request';
  create_request?: CreateReq | null;
  cancel_request?: { watch_id: string } | null;
  progress_request?: object | null;
}

const stores = new WeakMap<QuorumNode, WatchableStore>();

/** The node's watchable store (one per member, over its applied MVCC), created on first use. */
export function watchableFor(node: QuorumNode, opts: WatchServiceOptions = {}): WatchableStore {
  let s = stores.get(node);
  if (!s) {
    s = new WatchableStore(node.mvcc, { bufferLimit: opts.bufferLimit });
    stores.set(node, s);
  }
  return s;
}

/** The Watch service implementation for grpc-js addService. */
export function watchService(node: QuorumNode, opts: WatchServiceOptions = {}): Record<string, unknown> {
  const interval = opts.progressNotifyIntervalMs ?? node.cfg.watchProgressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS;
  return {
    Watch: (call: grpc.ServerDuplexStream<WatchReq, WireWatchResponse>) => {
      const md = call.metadata.get('hasleader');
      if (md.length > 0 && String(md[0]) === 'true' && node.info().leader === 0n) {
        const e = errors.noLeader();
        call.emit('error', { code: e.code, details: e.message, message: e.message });
        return;
      }
      new WatchSession(node, watchableFor(node, opts), call, interval).start();
    },
  };
}

/** One Watch call: request handling, the response pump and progress notifications. */
class WatchSession {
  private readonly ws: WatchStream;
  /** watch ID -> no events were sent since the last progress tick (etcd sws.progress). */
  private readonly progress = new Map<number, boolean>();
  private readonly prevKv = new Set<number>();
  private readonly fragment = new Set<number>();
  private blocked = false;
  private scheduled = false;
  private done = false;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: QuorumNode,
    store: WatchableStore,
    private readonly call: grpc.ServerDuplexStream<WatchReq, WireWatchResponse>,
    private readonly intervalMs: number,
  ) {
    this.ws = store.newWatchStream();
  }

  start(): void {
    this.ws.onReadable(() => this.schedule());
    this.call.on('data', (req: WatchReq) => {
      try {
        this.handle(req);
      } catch (e) {
        this.fail(e);
      }
    });
    this.call.on('drain', () => {
      this.blocked = false;
      this.schedule();
    });
    // a client half-close ends nothing (etcd keeps sending until the call's context is done)
    this.call.on('end', () => undefined);
    this.call.on('error', () => this.stop());
    this.call.on('cancelled', () => this.stop());
    this.call.on('close', () => this.stop());
  }

  private handle(req: WatchReq): void {
    if (this.done) return;
    if (req.create_request) this.create(req.create_request);
    else if (req.cancel_request) {
      const id = Number(req.cancel_request.watch_id);
      if (this.ws.cancel(id)) {
        this.progress.delete(id);
        this.prevKv.delete(id);
        this.fragment.delete(id);
        this.ws.pushControl({ watchId: id, events: [], revision: this.ws.rev(), canceled: true });
      }
    } else if (req.progress_request || req.request_union === 'progress_request') {
      this.ws.requestProgressAll();
    }
  }

  private create(c: CreateReq): void {
    const key = c.key && c.key.length > 0 ? new Uint8Array(c.key) : new Uint8Array([0]);
    let end: Uint8Array | undefined;
    if (c.range_end && c.range_end.length > 0) end = c.range_end.length === 1 && c.range_end[0] === 0 ? new Uint8Array(0) : new Uint8Array(c.range_end);
    const wsrev = this.ws.rev();
    const start = Number(c.start_revision) === 0 ? wsrev + 1 : Number(c.start_revision);
    const filters = (c.filters ?? []).filter((f) => f === WatchFilter.NoPut || f === WatchFilter.NoDelete) as WatchFilter[];
    let id: number;
    try {
      id = this.ws.watch(Number(c.watch_id) || AUTO_WATCH_ID, key, end, start, filters);
    } catch (e) {
      this.ws.pushControl({ watchId: -1, events: [], revision: wsrev, created: true, canceled: true, cancelReason: (e as Error).message });
      return;
    }
    if (c.progress_notify) {
      this.progress.set(id, true);
      this.armTicker();
    }
    if (c.prev_kv) this.prevKv.add(id);
    if (c.fragment) this.fragment.add(id);
    this.ws.pushControl({ watchId: id, events: [], revision: wsrev, created: true });
  }

  private armTicker(): void {
    if (this.ticker || this.intervalMs <= 0) return;
    this.ticker = setInterval(() => {
      for (const [id, idle] of this.progress) {
        if (idle) this.ws.requestProgress(id);
        this.progress.set(id, true);
      }
    }, this.intervalMs);
    this.ticker.unref();
  }

  private schedule(): void {
    if (this.scheduled || this.blocked || this.done) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Write queued responses until grpc-js pushes back or the queue is empty. Consecutive event responses are
   * merged per watcher (up to MAX_MERGED_EVENTS events, in revision order, header revision the last one's), so
   * the revisions of one apply batch go out as one response per watcher instead of one per revision; any other
   * response (created, canceled, progress, compaction) is a barrier: what was merged before it is sent first.
   */
  private pump(): void {
    const merged = new Map<number, WatchResponse>();
    let count = 0;
    const flush = () => {
      for (const r of merged.values()) this.send(r);
      merged.clear();
      count = 0;
    };
    while (!this.blocked && !this.done) {
      const r = this.ws.next();
      if (!r) break;
      if (!isPlainEvents(r)) {
        flush();
        this.send(r);
        continue;
      }
      const m = merged.get(r.watchId);
      if (m) {
        for (const e of r.events) m.events.push(e);
        m.revision = r.revision;
      } else merged.set(r.watchId, { watchId: r.watchId, events: [...r.events], revision: r.revision });
      count += r.events.length;
      if (count >= MAX_MERGED_EVENTS) flush();
    }
    if (!this.done) flush();
  }

  private send(r: WatchResponse): void {
    if (r.events.length > 0 && this.progress.has(r.watchId)) this.progress.set(r.watchId, false);
    const wire = this.toWire(r);
    const parts = this.fragment.has(r.watchId) ? fragmentResponse(wire, this.node.cfg.maxRequestBytes) : [wire];
    for (const p of parts) {
      if (!this.call.write(p)) this.blocked = true;
    }
  }

  private toWire(r: WatchResponse): WireWatchResponse {
    const withPrev = this.prevKv.has(r.watchId);
    return {
      header: header(this.node, r.revision),
      watch_id: String(r.watchId),
      created: !!r.created,
      canceled: !!r.canceled,
      compact_revision: String(r.compactRevision ?? 0),
      cancel_reason: r.cancelReason ?? '',
      fragment: false,
      events: r.events.map((e) => eventToWire(e, withPrev)),
    };
  }

  private fail(e: unknown): void {
    this.stop();
    const err = e instanceof Error ? e : new Error(String(e));
    this.call.emit('error', { code: 2, details: err.message, message: err.message });
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ws.close();
  }
}

/** Events per merged response at most (etcd's watchBatchMaxRevs bounds a catch-up response the same way). */
const MAX_MERGED_EVENTS = 1000;

/** An event response that may be merged with the same watcher's next ones (no created/canceled/progress flags). */
function isPlainEvents(r: WatchResponse): boolean {
  return r.events.length > 0 && r.watchId >= 0 && !r.created && !r.canceled && r.compactRevision === undefined && r.cancelReason === undefined;
}

/** Wire events by mvcc event (without and with prev_kv): one object, encoded once, for every watcher. */
const wireEvents = new WeakMap<MvccEvent, [WireEvent | undefined, WireEvent | undefined]>();

/**
 * mvcc event -> mvccpb.Event wire object; prev_kv only when asked and the event is not a create (etcd). The
 * object is shared by every watcher the event goes to and its protobuf encoding is cached (watch_wire.ts):
 * do not change it.
 */
export function eventToWire(e: MvccEvent, withPrev: boolean): WireEvent {
  let c = wireEvents.get(e);
  if (!c) wireEvents.set(e, (c = [undefined, undefined]));
  const i = withPrev ? 1 : 0;
  return (c[i] ??= cacheEncoding(buildEvent(e, withPrev)));
}

function buildEvent(e: MvccEvent, withPrev: boolean): WireEvent {
  const isCreate = e.type === 'put' && e.kv.version === 1;
  return {
    type: e.type === 'put' ? 0 : 1,
    kv: kvToWire(e.kv) as unknown as WireKv,
    prev_kv: withPrev && !isCreate && e.prevKv ? (kvToWire(e.prevKv) as unknown as WireKv) : null,
  };
}
