/**
 * Hand-off of one gRPC (HTTP/2) client connection to grpc-js: on the native socket when Node's HTTP/2 stack can
 * serve it as it is, through the etcdctl 3.4 :authority shim (AuthorityFixStream, a JS stream around the
 * socket for the connection's whole life) when it cannot.
 *
 * Deciding needs the first request's :authority, and grpc-go clients (etcdctl 3.4) send the preface and their
 * SETTINGS, then wait for the server's SETTINGS before the first HEADERS. So, once the 24-byte client preface
 * has arrived, this module sends the server connection preface itself: an empty SETTINGS frame (RFC 9113 §3.4:
 * a possibly empty SETTINGS frame that must be the server's first frame; empty announces the initial values,
 * which the client assumes anyway). It then reads the client's frames until both the client's SETTINGS ACK for
 * that frame and the first complete header block have arrived. The ACK is cut out of the bytes read (Node's
 * HTTP/2 session sends its own SETTINGS when it starts and would take this ACK for that one, and the real ACK
 * later for a protocol error, §6.5.3), everything else is put back on the socket (socket.unshift: Node's
 * Http2Session feeds bytes already buffered on the socket to nghttp2 when it is created over it).
 *
 * Routes: a plain :authority (no URL scheme) -> the native socket. A URL-shaped one -> AuthorityFixStream.
 * Anything unusual before the first header block (a frame other than SETTINGS, WINDOW_UPDATE, PRIORITY,
 * HEADERS, CONTINUATION, e.g. a PING; malformed framing; no progress for `idleMs`; more than
 * `maxBufferedBytes`) -> AuthorityFixStream, which also drops the ACK should it come later: always correct,
 * only slower. A TLS connection without ALPN "h2" (bytes sniffed) -> AuthorityFixStream at once (Node's HTTP/2
 * server turns TLS sockets without ALPN h2 away). A socket closed or failing while being read is destroyed.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { AuthorityFixStream, authorityIsPlain } from './authority_fix.js';
import { H2_PREFACE } from './gateway_sniff.js';
import { DEFAULT_MAX_FRAME, FLAG, FRAME, HeaderBlockReader, encodeFrame, frameLength, readFrame } from './h2_frame.js';
import { HpackDecoder } from './hpack.js';

/** The server connection preface sent by the hand-off: an empty SETTINGS frame. */
export const EMPTY_SETTINGS = encodeFrame(FRAME.SETTINGS, 0, 0);

/** Tunables of `handOffH2`. */
export interface HandoffOptions {
  /** Give up reading (route through the wrapper) after this long without a decision or new bytes, ms. Default 1000. */
  idleMs?: number;
  /** Give up reading once this many bytes are buffered without a decision. Default 256 KiB. */
  maxBufferedBytes?: number;
}

/** Frames a client may send before its first header block without the hand-off giving up. */
const BEFORE_HEADERS: ReadonlySet<number> = new Set([FRAME.SETTINGS, FRAME.WINDOW_UPDATE, FRAME.PRIORITY, FRAME.HEADERS, FRAME.CONTINUATION]);

/**
 * Read the start of HTTP/2 connection `sock` (possibly paused, bytes already read put back with unshift) and call
 * `inject` once with either `sock` itself, paused with the bytes read put back, or an AuthorityFixStream over it.
 * `inject` is not called for a connection that closes or fails first (it is destroyed).
 */
export function handOffH2(sock: net.Socket, inject: (conn: net.Socket | AuthorityFixStream) => void, opts: HandoffOptions = {}): void {
  const tlsSock = sock as tls.TLSSocket;
  if (tlsSock.encrypted && tlsSock.alpnProtocol !== 'h2') {
    inject(new AuthorityFixStream(sock));
    return;
  }
  const idleMs = opts.idleMs ?? 1000;
  const maxBuffered = opts.maxBufferedBytes ?? 256 * 1024;
  let buf: Buffer = Buffer.alloc(0);
  let scanned = 0; // offset of the next frame not yet looked at (after the preface)
  let ack: { start: number; end: number } | undefined; // where the client's ACK of EMPTY_SETTINGS sits in buf
  let plain: boolean | undefined; // the first header block's verdict, once decoded
  const blocks = new HeaderBlockReader();
  let timer: NodeJS.Timeout | undefined;

  const detach = () => {
    if (timer) clearTimeout(timer);
    sock.off('data', onData);
    sock.off('end', onGone);
    sock.off('close', onGone);
    sock.off('error', onGone);
  };
  const onGone = () => {
    detach();
    sock.destroy();
  };
  const finish = (native: boolean) => {
    detach();
    sock.pause();
    const rest = ack ? Buffer.concat([buf.subarray(0, ack.start), buf.subarray(ack.end)]) : buf;
    if (rest.length > 0) sock.unshift(rest);
    inject(native ? sock : new AuthorityFixStream(sock, { settingsAckPending: scanned > 0 && ack === undefined }));
  };

  // One pass over the frames that arrived since the last one; returns the route once decided.
  const scan = (): boolean | undefined => {
    for (;;) {
      if (buf.length - scanned >= 3 && frameLength(buf, scanned) > DEFAULT_MAX_FRAME) return false; // FRAME_SIZE_ERROR for nghttp2
      const f = readFrame(buf, scanned);
      if (!f) return undefined;
      scanned += f.raw.length;
      if (f.type === FRAME.SETTINGS && f.flags & FLAG.ACK) {
        if (ack || f.payload.length !== 0) return false;
        ack = { start: scanned - f.raw.length, end: scanned };
      } else if (plain === undefined) {
        if (!BEFORE_HEADERS.has(f.type)) return false;
        let block;
        try {
          block = blocks.push(f);
          if (block) plain = authorityIsPlain(new HpackDecoder().decode(Buffer.concat(block.fragments)).find(([n]) => n === ':authority')?.[1]);
        } catch {
          return false; // malformed: the wrapper and nghttp2 answer it
        }
      }
      if (ack && plain !== undefined) return plain;
    }
  };

  const onData = (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    if (scanned === 0) {
      if (buf.length < H2_PREFACE.length) return;
      if (!buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) return finish(true); // not HTTP/2: nghttp2 says so
      sock.write(EMPTY_SETTINGS);
      scanned = H2_PREFACE.length;
    }
    const route = scan();
    if (route !== undefined) return finish(route);
    if (buf.length > maxBuffered) return finish(false);
    timer?.refresh();
  };

  timer = setTimeout(() => finish(false), idleMs);
  sock.on('data', onData);
  sock.on('end', onGone);
  sock.on('close', onGone);
  sock.on('error', onGone);
  sock.resume();
}
