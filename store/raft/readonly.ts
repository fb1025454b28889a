/**
 * Pending read-index requests on the leader (Raft thesis §6.4): each request records the commit
 * index at arrival; once a majority acknowledges a heartbeat carrying the request's context,
 * the leader knows it was still leader at that moment and the read may be served at that index.
 * Requests are answered in arrival order; acknowledging a later one answers all earlier ones.
 */
import { type Message, type NodeId } from './types.js';

export interface ReadIndexStatus {
  /** The request as received (from = NONE or self for local requests). */
  req: Message;
  /** The leader's commit index when the request arrived. */
  index: number;
  acks: Set<NodeId>;
}

/** The request context as a map key. Contexts must be unique per pending request. */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private readonly queue: string[] = [];

  /** Queues a request at the current commit index (a repeated context is ignored). */
  addRequest(index: number, req: Message): void {
    const key = ctxKey(req.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `from` acknowledged the heartbeat for `ctx`; returns the ack set (undefined if unknown). */
  recvAck(from: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one with `ctx`, oldest first. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of keys) {
      const rs = this.pending.get(k);
      if (rs !== undefined) out.push(rs);
      this.pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending request, sent with heartbeats (undefined when none). */
  lastPendingContext(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.req.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue.length = 0;
  }
}
