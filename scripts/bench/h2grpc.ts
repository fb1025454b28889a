/**
 * A lean gRPC client on node:http2 for the benchmark: unary calls with pre-encoded request bodies (many in
 * flight per connection, one HTTP/2 stream each) and raw bidirectional streams that yield decoded gRPC frames.
 * No proto loading, no per-call metadata objects, no retries: about half of grpc-js' client CPU per call
 * (DESIGN.md, "Facts about etcd 3.4"). Plain http:// only.
 */
import http2 from 'node:http2';
import { grpcFrame } from './proto.js';

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } = http2.constants;

/** A call that ended with a non-zero grpc-status. */
export class GrpcCallError extends Error {
  constructor(readonly code: number, message: string) {
    super(`grpc-status ${code}: ${message}`);
  }
}

/** Splits a byte stream into gRPC message bodies (5-byte prefix: flag, u32 length). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Append `chunk`; returns the complete messages now available. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

/** One HTTP/2 connection to an endpoint ("http://host:port" or "host:port"). */
export class H2Conn {
  private readonly session: http2.ClientHttp2Session;
  private closed = false;

  constructor(endpoint: string) {
    const url = endpoint.includes('://') ? endpoint : `http://${endpoint}`;
    this.session = http2.connect(url, { settings: { initialWindowSize: 1 << 24, enablePush: false }, peerMaxConcurrentStreams: 1 << 20 });
    this.session.on('error', () => undefined); // surfaced per call
    this.session.on('connect', () => this.session.setLocalWindowSize(1 << 26));
  }

  /** Wait for the connection to be established. Rejects on connection errors. */
  ready(): Promise<void> {
    if (this.session.connecting === false) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.session.once('connect', () => resolve());
      this.session.once('error', reject);
    });
  }

  /**
   * A unary call: `path` ("/etcdserverpb.KV/Put"), `body` the encoded request message. Resolves with the
   * response message bytes (empty Buffer when the reply has none); rejects with GrpcCallError on a non-zero
   * status, or with the stream's error.
   */
  unary(path: string, body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.session.request(
        { [HTTP2_HEADER_METHOD]: 'POST', [HTTP2_HEADER_PATH]: path, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', [HTTP2_HEADER_TE]: 'trailers' },
        { endStream: false },
      );
      let data: Buffer | undefined;
      let more: Buffer[] | undefined;
      let status: string | undefined;
      let message = '';
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          message = String(h['grpc-message'] ?? '');
        }
      });
      req.on('trailers', (t) => {
        status = String(t['grpc-status'] ?? '');
        message = String(t['grpc-message'] ?? '');
      });
      req.on('data', (c: Buffer) => {
        if (!data) data = c;
        else (more ??= [data]).push(c);
      });
      req.on('error', (e) => reject(e));
      req.on('close', () => {
        if (status !== '0') {
          reject(new GrpcCallError(Number(status ?? 2), status === undefined ? `stream closed (rst ${req.rstCode})` : decodeURIComponent(message)));
          return;
        }
        const all = more ? Buffer.concat(more) : data;
        resolve(all && all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0));
      });
      req.end(grpcFrame(body));
    });
  }

  /**
   * Open a bidirectional stream on `path`; `onMessage` gets each response message. Returns a function that
   * sends one request message, and `close` to end the stream.
   */
  stream(path: string, onMessage: (msg: Buffer) => void, onEnd: (err?: Error) => void): { send(body: Buffer): void; close(): void } {
    const req = this.session.request(
      { [HTTP2_HEADER_METHOD]: 'POST', [HTTP2_HEADER_PATH]: path, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', [HTTP2_HEADER_TE]: 'trailers' },
      { endStream: false },
    );
    const reader = new FrameReader();
    req.on('data', (c: Buffer) => { for (const m of reader.push(c)) onMessage(m); });
    req.on('error', (e) => onEnd(e));
    req.on('close', () => onEnd());
    return {
      send: (body) => { req.write(grpcFrame(body)); },
      close: () => { if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL); },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
    this.session.unref();
  }
}
