/**
 * How the gateway reaches the gRPC services without a network hop: `captureHandlers` records, for every method
 * path, the handler exactly as the gRPC server registers it (auth checks included, see auth_guard.ts), and the
 * call objects below stand in for grpc-js' server calls (unary, server-streaming, bidi-streaming) so the same
 * handler code serves both the gRPC and the JSON path. Requests and responses pass through the method's own
 * serializers, so a handler sees exactly what a gRPC client would send and the gateway prints exactly what a
 * gRPC client would receive.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';

type Wire = Record<string, unknown>;
type AnyHandler = (...args: any[]) => unknown;

/** One registered method: its definition (path, serializers, streaming flags) and its handler. */
export interface MethodEntry { def: grpc.MethodDefinition<Wire, Wire>; handler: AnyHandler }

/** A failed call as grpc-js would report it: code and message. */
export interface CallError { code: number; message: string }

/** Handlers by full method path, e.g. '/etcdserverpb.KV/Range'. */
export type HandlerRegistry = Map<string, MethodEntry>;

/**
 * Record every service added to `server` from now on. Call it BEFORE guardServer so the recorded handlers are
 * the guarded ones (guardServer wraps whatever addService it finds).
 */
export function captureHandlers(server: grpc.Server): HandlerRegistry {
  const reg: HandlerRegistry = new Map();
  const add = server.addService.bind(server);
  server.addService = (def, impl) => {
    for (const [name, m] of Object.entries(def)) {
      const h = (impl[name] ?? impl[m.originalName ?? '']) as AnyHandler | undefined;
      if (h) reg.set(m.path, { def: m as grpc.MethodDefinition<Wire, Wire>, handler: h });
    }
    add(def, impl);
  };
  return reg;
}

/** Normalize a request the way the wire would (defaults filled, Buffers, 64-bit strings). */
export function normalizeRequest(e: MethodEntry, req: Wire): Wire {
  return e.def.requestDeserialize(e.def.requestSerialize(req));
}

/** Normalize a handler's response the way the wire would. */
export function normalizeResponse(e: MethodEntry, res: Wire): Wire {
  return e.def.responseDeserialize(e.def.responseSerialize(res));
}

function toCallError(e: unknown): CallError {
  const o = (e ?? {}) as { code?: number; details?: string; message?: string };
  return { code: typeof o.code === 'number' ? o.code : grpc.status.UNKNOWN, message: o.details ?? o.message ?? String(e) };
}

function callBasics(metadata: grpc.Metadata, peer: string) {
  return {
    metadata,
    cancelled: false,
    getPeer: () => peer,
    getPath: () => '',
    getDeadline: () => Infinity,
    sendMetadata: () => undefined,
  };
}

/** Run a unary method in-process. Resolves with the normalized response; rejects with a CallError. */
export function callUnary(e: MethodEntry, req: Wire, metadata: grpc.Metadata, peer: string): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const call = Object.assign(new EventEmitter(), callBasics(metadata, peer), { request: normalizeRequest(e, req) });
    try {
      e.handler(call, (err: unknown, res: Wire) => {
        if (err) reject(toCallError(err));
        else {
          try {
            resolve(normalizeResponse(e, res ?? {}));
          } catch (x) {
            reject(toCallError(x));
          }
        }
      });
    } catch (x) {
      reject(toCallError(x));
    }
  });
}

/** Where a streaming call's output goes. `message` returns false when the consumer wants a pause ('drain' later). */
export interface StreamSink {
  message(res: Wire): boolean;
  /** The stream ended: with `err` when the handler failed it. Called once. */
  end(err?: CallError): void;
}

/** A server-side stream stand-in: objectMode Duplex (client messages in, responses out). */
export class GatewayCall extends Duplex {
  cancelled = false;
  readonly request: Wire | undefined;
  private ended = false;

  constructor(private readonly entry: MethodEntry, readonly metadata: grpc.Metadata, private readonly peer: string, private readonly sink: StreamSink, request?: Wire) {
    super({ objectMode: true, allowHalfOpen: true, emitClose: true });
    this.request = request ? normalizeRequest(entry, request) : undefined;
    this.on('error', (err) => this.finish(toCallError(err)));
    this.on('finish', () => this.finish());
  }

  getPeer(): string {
    return this.peer;
  }
  getPath(): string {
    return this.entry.def.path;
  }
  getDeadline(): number {
    return Infinity;
  }
  sendMetadata(): void {}

  /** Feed one client message (already converted from JSON). */
  send(req: Wire): void {
    this.push(normalizeRequest(this.entry, req));
  }

  /** The client finished sending (end of the HTTP request body). */
  closeSend(): void {
    this.push(null);
  }

  /** The HTTP client went away: the handler sees 'cancelled' and 'close'. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.ended = true;
    this.emit('cancelled');
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Wire, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.ended) {
      cb();
      return;
    }
    let res: Wire;
    try {
      res = normalizeResponse(this.entry, chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (this.sink.message(res)) cb();
    else this.once('sinkDrain', () => cb());
  }

  /** The consumer can take more (HTTP response drained). */
  drained(): void {
    this.emit('sinkDrain');
  }

  private finish(err?: CallError): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.end(err);
  }
}

/** Start a streaming method in-process; the caller feeds requests (bidi) through the returned call. */
export function startStream(e: MethodEntry, metadata: grpc.Metadata, peer: string, sink: StreamSink, request?: Wire): GatewayCall {
  const call = new GatewayCall(e, metadata, peer, sink, request);
  try {
    e.handler(call);
  } catch (x) {
    call.emit('error', x);
  }
  return call;
}
