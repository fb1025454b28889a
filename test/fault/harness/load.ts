/**
 * The mixed, seeded client load and its recorder: each client is bound to one member and issues one
 * request at a time (get, serializable get, prefix range, put, delete, txn compare-and-set, lease grant,
 * put with lease, lease revoke), recording call/return times (process.hrtime, µs) and responses in the
 * shapes of checker/types.ts. Errors other than etcd's "no effect" refusals are unknown outcomes.
 * Watchers stream the key prefix with prev_kv and resume from the next revision when their stream breaks.
 * `Mutations` are deliberate bugs injected on the client side to show the checker catches them.
 */
import * as grpc from '@grpc/grpc-js';
import { StoreClient } from '../../../store/client/client.js';
import { Rng } from '../checker/generator.js';
import type { Cmp, KvSnap, Operation, Request, Response, TxnOp, WatchEvent, WatchRecord } from '../checker/types.js';

/** Deliberate bugs (checker self-test). */
export interface Mutations {
  /** Linearizable reads of clients bound to this member (-1: every member) are sent with serializable=true (stale reads). */
  staleReadsVia?: number;
  /** Drop the Nth event (0-based) a watcher receives, on watcher 0. */
  dropWatchEvent?: number;
  /** Puts of clients bound to this member are acknowledged at once with a guessed revision and never sent. */
  fabricateAckVia?: number;
  /** Server-side broken builds: environment for every quorumd process (store/server/fault_switches.ts). */
  serverEnv?: Record<string, string>;
}

export const PREFIX = '/f/';
export const PREFIX_END = '/f0';
const KEYS = Array.from({ length: 6 }, (_, i) => `${PREFIX}k${i}`);
const t0 = process.hrtime.bigint();
/** µs since this module loaded (monotonic). */
export const nowUs = () => Number((process.hrtime.bigint() - t0) / 1000n);

const toKv = (k: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string; version: string; lease: string }): KvSnap => ({
  key: k.key.toString(), value: k.value.toString(), mod: Number(k.mod_revision), create: Number(k.create_revision), ver: Number(k.version), lease: String(k.lease ?? '0'),
});

const cmpWire = (c: Cmp) => {
  const target = { version: 0, create: 1, mod: 2, value: 3 }[c.target];
  const result = { '=': 0, '>': 1, '<': 2, '!=': 3 }[c.op];
  const w: Record<string, unknown> = { key: Buffer.from(c.key), target, result };
  if (c.target === 'mod') w.mod_revision = String(c.arg);
  else if (c.target === 'create') w.create_revision = String(c.arg);
  else if (c.target === 'version') w.version = String(c.arg);
  else w.value = Buffer.from(String(c.arg));
  return w;
};
const opWire = (o: TxnOp) => {
  if (o.t === 'put') return { request_put: { key: Buffer.from(o.key), value: Buffer.from(o.value), lease: o.lease ?? '0' } };
  if (o.t === 'del') return { request_delete_range: { key: Buffer.from(o.key), range_end: Buffer.from(o.end ?? '') } };
  return { request_range: { key: Buffer.from(o.key), range_end: Buffer.from(o.end ?? '') } };
};

/** Errors after which the request surely had no effect (etcd refuses them at apply time or before proposing). */
// "No connection established": grpc-js never sent the request (no transport), so it cannot take effect.
const DEFINITE = ['requested lease not found', 'lease already exists', 'duplicate key given in txn request', 'No connection established'];

/** Send one request; returns the response, or throws with the error text. */
export async function send(c: StoreClient, req: Request, serializable = false): Promise<Response> {
  switch (req.t) {
    case 'range': {
      const r = await c.unary<any>('KV', 'Range', { key: Buffer.from(req.key), range_end: Buffer.from(req.end ?? ''), serializable: serializable || !!req.serializable });
      return { t: 'range', rev: Number(r.header.revision), kvs: r.kvs.map(toKv) };
    }
    case 'put': {
      const r = await c.unary<any>('KV', 'Put', { key: Buffer.from(req.key), value: Buffer.from(req.value), lease: req.lease ?? '0' });
      return { t: 'put', rev: Number(r.header.revision) };
    }
    case 'del': {
      const r = await c.unary<any>('KV', 'DeleteRange', { key: Buffer.from(req.key), range_end: Buffer.from(req.end ?? '') });
      return { t: 'del', rev: Number(r.header.revision), deleted: Number(r.deleted) };
    }
    case 'txn': {
      const r = await c.unary<any>('KV', 'Txn', { compare: req.cmp.map(cmpWire), success: req.then.map(opWire), failure: req.else.map(opWire) });
      const results = (r.responses as any[]).map((x) => {
        if (x.response_range) return { t: 'range' as const, kvs: x.response_range.kvs.map(toKv) };
        if (x.response_delete_range) return { t: 'del' as const, deleted: Number(x.response_delete_range.deleted) };
        return { t: 'put' as const };
      });
      return { t: 'txn', rev: Number(r.header.revision), succeeded: !!r.succeeded, results };
    }
    case 'grant':
      await c.unary<any>('Lease', 'LeaseGrant', { TTL: String(req.ttl ?? 3600), ID: req.id });
      return { t: 'grant' };
    case 'revoke': {
      const r = await c.unary<any>('Lease', 'LeaseRevoke', { ID: req.id });
      return { t: 'revoke', rev: Number(r.header.revision) };
    }
  }
}

/** Where a load records. */
export interface Recorder { ops: Operation[]; watches: WatchRecord[]; nextId: number }

/** Record one request of `client` through member `member` (incarnation read at call time). */
export async function recorded(rec: Recorder, client: number, member: { url: string; incarnation: () => number }, c: StoreClient, req: Request, mut: Mutations = {}, memberIndex = -1): Promise<Operation> {
  const op: Operation = { id: rec.nextId++, client, call: nowUs(), req, member: member.url, incarnation: member.incarnation() };
  rec.ops.push(op);
  if (req.t === 'put' && mut.fabricateAckVia === memberIndex) {
    const last = rec.ops.filter((o) => o.resp && 'rev' in o.resp).reduce((m, o) => Math.max(m, (o.resp as { rev: number }).rev), 1);
    op.resp = { t: 'put', rev: last + 1 };
    op.ret = nowUs();
    op.note = 'MUTATION: fabricated ack, never sent';
    return op;
  }
  const stale = req.t === 'range' && !req.serializable && (mut.staleReadsVia === memberIndex || mut.staleReadsVia === -1);
  try {
    op.resp = await send(c, req, stale);
    op.ret = nowUs();
    if (stale) op.note = 'MUTATION: sent serializable, recorded linearizable';
  } catch (e) {
    const msg = (e as Error).message;
    if (DEFINITE.some((d) => msg.includes(d))) {
      op.resp = { t: 'fail', msg };
      op.ret = nowUs();
    } else op.note = `unknown outcome: ${msg}`;
  }
  return op;
}

/** One load client: a loop of random requests until `stop()` resolves true. */
export async function runClient(rec: Recorder, client: number, seed: number, member: { url: string; incarnation: () => number }, memberIndex: number, stopped: () => boolean, mut: Mutations = {}): Promise<void> {
  const rng = new Rng(seed * 1000 + client);
  const c = new StoreClient(member.url, undefined, { timeoutMs: 3000 });
  const leases: string[] = [];
  const lastMod = new Map<string, number>();
  let n = 0;
  try {
    while (!stopped()) {
      const key = rng.pick(KEYS);
      const value = `c${client}-${n++}`;
      const r = rng.int(100);
      let req: Request;
      if (r < 15) req = { t: 'range', key };
      else if (r < 25) req = { t: 'range', key, serializable: true };
      else if (r < 33) req = { t: 'range', key: PREFIX, end: PREFIX_END };
      else if (r < 55) req = { t: 'put', key, value };
      else if (r < 62) req = { t: 'del', key };
      else if (r < 76) req = { t: 'txn', cmp: [{ key, target: 'mod', op: '=', arg: lastMod.get(key) ?? 0 }], then: [{ t: 'put', key, value }], else: [{ t: 'range', key }] };
      else if (r < 82) {
        const id = String(1_000_000 * (client + 1) + n);
        leases.push(id);
        req = { t: 'grant', id };
      } else if (r < 92 && leases.length > 0) req = { t: 'put', key, value, lease: rng.pick(leases) };
      else if (leases.length > 0) req = { t: 'revoke', id: leases.splice(rng.int(leases.length), 1)[0] };
      else req = { t: 'put', key, value };
      const op = await recorded(rec, client, member, c, req, mut, memberIndex);
      if (op.resp?.t === 'range') for (const kv of op.resp.kvs) lastMod.set(kv.key, kv.mod);
      if (op.resp?.t === 'txn') for (const x of op.resp.results) if (x.t === 'range') for (const kv of x.kvs) lastMod.set(kv.key, kv.mod);
      // back off while the member is down (unknown outcome, or refused before sending: no connection)
      if (op.resp === undefined || (op.resp.t === 'fail' && op.resp.msg.includes('No connection established'))) await new Promise((r2) => setTimeout(r2, 200));
    }
  } finally {
    c.close();
  }
}

/** A resuming watcher over the prefix with prev_kv; stop() ends it. */
export class Watcher {
  readonly record: WatchRecord;
  private call: grpc.ClientDuplexStream<any, any> | undefined;
  private client: StoreClient | undefined;
  private closed = false;
  private seen = 0;
  /** True while a stream is open and created. */
  live = false;
  lastRev = 0;

  constructor(id: number, private readonly url: string, startRev: number, private readonly mut: Mutations = {}) {
    this.record = { id, member: url, key: PREFIX, end: PREFIX_END, startRev, createdRev: 0, prevKv: true, batches: [] };
  }

  /** Open (or reopen) the stream; resumes from lastRev + 1. */
  open(): void {
    if (this.closed) return;
    this.call?.cancel();
    this.client?.close();
    this.client = new StoreClient(this.url, undefined, { timeoutMs: 3000 });
    const call = (this.client.rawClient('Watch') as any).Watch() as grpc.ClientDuplexStream<any, any>;
    this.call = call;
    let first = true;
    const resumeFrom = this.lastRev > 0 ? this.lastRev + 1 : this.record.startRev > 0 ? this.record.startRev : this.record.createdRev > 0 ? this.record.createdRev + 1 : 0;
    call.on('data', (r: any) => {
      if (this.call !== call) return; // a superseded stream: never record from two streams at once
      if (r.created && first) {
        first = false;
        this.live = true;
        if (this.record.createdRev === 0) this.record.createdRev = Number(r.header.revision);
        return;
      }
      if (r.canceled) {
        this.record.ended = `cancelled: ${r.cancel_reason} compact ${r.compact_revision}`;
        this.closed = true;
        this.live = false;
        return;
      }
      const events: WatchEvent[] = [];
      for (const e of r.events ?? []) {
        const idx = this.seen++;
        if (this.mut.dropWatchEvent === idx && this.record.id === 0) continue; // MUTATION
        const kv = toKv(e.kv);
        events.push({ type: e.type === 1 || e.type === 'DELETE' ? 'del' : 'put', kv, prev: e.prev_kv ? toKv(e.prev_kv) : undefined });
        this.lastRev = Math.max(this.lastRev, kv.mod);
      }
      if (events.length > 0) this.record.batches.push({ at: nowUs(), rev: Number(r.header.revision), events });
    });
    let retried = false;
    const retry = () => {
      // 'error' and 'end' may both fire for one stream: reopen once (two reopens made two live streams,
      // each recording every event: duplicated events, seen once as watch-wrong-event in kill9-leader)
      if (this.call !== call || retried) return;
      retried = true;
      this.live = false;
      if (!this.closed) setTimeout(() => this.open(), 500);
    };
    call.on('error', retry);
    call.on('end', retry);
    call.write({ create_request: { key: Buffer.from(PREFIX), range_end: Buffer.from(PREFIX_END), start_revision: String(resumeFrom), prev_kv: true } });
  }

  /** Close the stream for good. */
  stop(): void {
    this.closed = true;
    this.live = false;
    const c = this.call;
    this.call = undefined;
    c?.cancel();
    this.client?.close();
  }
}
