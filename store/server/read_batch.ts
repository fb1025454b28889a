/**
 * Batching of linearizable reads behind one ReadIndex request (Raft thesis §6.4; the same shape as etcd 3.4's
 * linearizableReadLoop in etcdserver/v3_server.go: one ReadIndex for every read waiting when it is sent).
 *
 * Life of a read:
 * 1. `add` — it waits for the next request (never the one already in flight: a read index taken before a read
 *    arrived could miss a write that completed before the read began, which would break linearizability).
 * 2. `request` — when no request is in flight, every waiting read becomes the in-flight batch, under a fresh
 *    16-byte context; the caller hands that context to raft.readIndex (and again with `resend` after a loss).
 * 3. `answered` — the read state for the in-flight context gives the batch its read index; the next batch may be
 *    requested at once.
 * 4. `release` — a batch whose read index has been applied is handed back to be served.
 * Pure bookkeeping: no timers, no raft; QuorumNode (node.ts) drives it from its loop.
 */

/** One request sent (or to send) to raft.readIndex and the reads it will release. */
interface Batch<W> {
  ctx: Uint8Array;
  reads: W[];
  /** True once raft accepted the request (cleared to ask again after a loss). */
  sent: boolean;
  /** When it was last handed to raft (caller's clock, ms). */
  sentAt: number;
}

export class ReadBatcher<W> {
  private waiting: W[] = [];
  private inflight: Batch<W> | undefined;
  /** Answered batches waiting for their read index to be applied. */
  private ready: { index: number; reads: W[] }[] = [];
  private seq = 0;

  /** `prefix`: 8 bytes unique to this process (random), so contexts never collide with another member's. */
  constructor(private readonly prefix: Uint8Array) {
    if (prefix.length !== 8) throw new Error(`ReadBatcher: context prefix must be 8 bytes, got ${prefix.length}`);
  }

  /** A read arrived: it waits for the next ReadIndex request. */
  add(w: W): void {
    this.waiting.push(w);
  }

  /** Reads not yet released (waiting, in flight or waiting for apply). */
  get size(): number {
    let n = this.waiting.length + (this.inflight?.reads.length ?? 0);
    for (const b of this.ready) n += b.reads.length;
    return n;
  }

  /**
   * The context to pass to raft.readIndex now, or undefined when nothing needs asking: a request already sent is
   * in flight, or no read waits. Creates the next batch from the waiting reads when none is in flight. The caller
   * reports the outcome with `sent` (raft accepted it) or leaves it unsent (asked again on the next call).
   */
  request(): Uint8Array | undefined {
    if (this.inflight === undefined) {
      if (this.waiting.length === 0) return undefined;
      const ctx = new Uint8Array(16);
      ctx.set(this.prefix, 0);
      const n = ++this.seq;
      new DataView(ctx.buffer).setUint32(8, Math.floor(n / 2 ** 32));
      new DataView(ctx.buffer).setUint32(12, n >>> 0);
      this.inflight = { ctx, reads: this.waiting, sent: false, sentAt: 0 };
      this.waiting = [];
    }
    return this.inflight.sent ? undefined : this.inflight.ctx;
  }

  /** Raft accepted the in-flight request at time `now` (ms). */
  sent(now: number): void {
    if (this.inflight === undefined) return;
    this.inflight.sent = true;
    this.inflight.sentAt = now;
  }

  /**
   * The in-flight request has gone unanswered for `afterMs` at time `now` (it can be lost on a leader change):
   * marks it to be asked again (same context, same reads) and returns true.
   */
  resend(now: number, afterMs: number): boolean {
    const b = this.inflight;
    if (b === undefined || !b.sent || now - b.sentAt < afterMs) return false;
    b.sent = false;
    return true;
  }

  /**
   * A read state arrived (Ready.readStates). Returns true when it answers the in-flight request: its reads get
   * read index `index` and the next request may be made. Other contexts (answers to an earlier send of a batch
   * already answered, or another member's) are ignored.
   */
  answered(ctx: Uint8Array, index: number): boolean {
    const b = this.inflight;
    if (b === undefined || !sameBytes(b.ctx, ctx)) return false;
    this.inflight = undefined;
    if (b.reads.length > 0) this.ready.push({ index, reads: b.reads });
    return true;
  }

  /** Removes and returns the reads whose read index is at most `applied` (they may be served now). */
  release(applied: number): W[] {
    if (this.ready.length === 0) return [];
    let out: W[] = [];
    const still: { index: number; reads: W[] }[] = [];
    for (const b of this.ready) {
      if (b.index <= applied) out = out.length === 0 ? b.reads : out.concat(b.reads);
      else still.push(b);
    }
    this.ready = still;
    return out;
  }

  /** Removes and returns every read for which `expired` is true, wherever it waits. */
  expire(expired: (w: W) => boolean): W[] {
    const out: W[] = [];
    const keep = (reads: W[]): W[] => {
      if (!reads.some(expired)) return reads;
      return reads.filter((w) => (expired(w) ? (out.push(w), false) : true));
    };
    this.waiting = keep(this.waiting);
    if (this.inflight) {
      this.inflight.reads = keep(this.inflight.reads);
      if (this.inflight.reads.length === 0) this.inflight = undefined; // nobody left to ask for (a late answer is ignored)
    }
    for (const b of this.ready) b.reads = keep(b.reads);
    this.ready = this.ready.filter((b) => b.reads.length > 0);
    return out;
  }

  /** Removes and returns every read (server stopping). */
  drain(): W[] {
    const out = [...this.waiting, ...(this.inflight?.reads ?? []), ...this.ready.flatMap((b) => b.reads)];
    this.waiting = [];
    this.inflight = undefined;
    this.ready = [];
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
