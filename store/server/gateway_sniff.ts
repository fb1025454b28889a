/**
 * One client listener, two protocols (as etcd's cmux does on its client port): a connection whose first bytes
 * are the HTTP/2 client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RFC 9113 §3.4) is gRPC; anything else is
 * HTTP/1.x for the JSON gateway. Over TLS the negotiated ALPN protocol decides without reading ("h2" vs
 * "http/1.1"); without ALPN the bytes decide.
 */
import { Duplex } from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';

/** The HTTP/2 client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * The one socket wrapper of the client port: a Duplex over `sock` that hands the socket's data on (through
 * `onSocketData`, by default unchanged) and writes, ends and destroys the socket; flow control pauses the socket
 * while the reader is full and resumes it on the next read. A socket 'end' ends the readable side, a socket error
 * or close destroys the wrapper. Subclasses: `PrefixedStream` (HTTP/1.x gateway connections) and
 * `AuthorityFixStream` in authority_fix.ts (gRPC connections that need the etcdctl 3.4 :authority rewrite; the
 * others get the native socket, h2_handoff.ts).
 */
export class SocketDuplex<S extends Duplex = Duplex> extends Duplex {
  constructor(protected readonly sock: S) {
    super({ allowHalfOpen: true });
    sock.on('data', (d: Buffer) => this.onSocketData(d));
    sock.on('end', () => this.push(null));
    sock.on('error', (e) => this.destroy(e));
    sock.on('close', () => this.destroy());
  }

  /** Called with every chunk read from the socket; the default passes it on unchanged. */
  protected onSocketData(d: Buffer): void {
    this.deliver(d);
  }

  /** Pushes `b` to the reader, pausing the socket when the reader's buffer is full. */
  protected deliver(b: Buffer): void {
    if (!this.push(b)) this.sock.pause();
  }

  override _read(): void {
    this.sock.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.sock.write(chunk, cb);
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.sock.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.sock.destroy();
    cb(err);
  }
}

/**
 * A SocketDuplex over a TCP/TLS socket that first yields `prefix` (bytes already read from it), then the socket's
 * data; writes go to the socket. Node's HTTP server accepts any Duplex as a connection; the socket getters and
 * setters it calls are forwarded.
 */
export class PrefixedStream extends SocketDuplex<net.Socket> {
  constructor(sock: net.Socket, prefix: Buffer) {
    super(sock);
    if (prefix.length > 0) this.push(prefix);
  }

  get remoteAddress(): string | undefined {
    return this.sock.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.sock.remotePort;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.sock.setTimeout(ms, cb);
    return this;
  }
  setNoDelay(v?: boolean): this {
    this.sock.setNoDelay(v);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.sock.setKeepAlive(enable, delay);
    return this;
  }
}

/**
 * Decide the protocol of a new connection. `grpc(sock)` gets the socket itself, paused (the bytes read while
 * deciding are put back with unshift; the consumer resumes it when it reads); `http(stream)` gets a
 * PrefixedStream. A connection closed before deciding is dropped.
 */
export function sniffConnection(sock: net.Socket | tls.TLSSocket, grpc: (s: net.Socket) => void, http: (s: Duplex) => void): void {
  const alpn = (sock as tls.TLSSocket).alpnProtocol;
  if (alpn === 'h2') return grpc(sock);
  if (alpn === 'http/1.1') return http(new PrefixedStream(sock, Buffer.alloc(0)));
  const chunks: Buffer[] = [];
  let have = 0;
  const cleanup = () => {
    sock.off('data', onData);
    sock.off('close', onClose);
    sock.off('error', onClose);
  };
  const onClose = () => {
    cleanup();
    sock.destroy();
  };
  const onData = (d: Buffer) => {
    chunks.push(d);
    have += d.length;
    const got = chunks.length === 1 ? d : Buffer.concat(chunks);
    const n = Math.min(got.length, H2_PREFACE.length);
    const matches = got.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (matches && have < H2_PREFACE.length) return; // need more bytes to decide
    cleanup();
    sock.pause();
    if (matches) {
      sock.unshift(got);
      grpc(sock);
    } else {
      http(new PrefixedStream(sock, got));
    }
  };
  sock.on('data', onData);
  sock.on('close', onClose);
  sock.on('error', onClose);
}
