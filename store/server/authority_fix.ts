/**
 * etcdctl 3.4 compatibility shim for the client port.
 *
 * etcdctl 3.4 (grpc-go, "passthrough:///" targets) dials per-endpoint connections for `endpoint status`,
 * `snapshot save` and `move-leader` with the whole endpoint URL as the HTTP/2 :authority, e.g.
 * "http://127.0.0.1:2379". etcd's Go server accepts that; Node's HTTP/2 stack (nghttp2) refuses a '/' in
 * :authority and resets the stream with PROTOCOL_ERROR. This wrapper sits between the socket (after TLS) and
 * grpc-js: it parses the client-to-server HTTP/2 frames, and on a connection whose first request carries a
 * URL-shaped :authority it decodes every request header block (HPACK, RFC 7541), strips the scheme from
 * :authority, and re-encodes the block as plain literals. Connections with a valid authority are piped through
 * untouched after their first header block.
 */
import { HpackDecoder, encodeLiteralBlock } from './hpack.js';
import type { Duplex } from 'node:stream';
import { SocketDuplex } from './gateway_sniff.js';
import { DEFAULT_MAX_FRAME, FLAG, FRAME, HeaderBlockReader, encodeFrame, readFrame, type HeaderBlock } from './h2_frame.js';

const PREFACE_LEN = 24;

/** "http://127.0.0.1:2379" -> "127.0.0.1:2379"; other values unchanged. */
export function fixAuthority(v: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/]*)/.exec(v);
  return m ? m[1] : v;
}

/** True when a request's :authority (undefined: absent) is one Node's HTTP/2 stack accepts as it is. */
export function authorityIsPlain(v: string | undefined): boolean {
  return v === undefined || fixAuthority(v) === v;
}

/** Options of an AuthorityFixStream. */
export interface AuthorityFixOptions {
  /**
   * Someone else (h2_handoff.ts) sent the client an empty SETTINGS frame and its ACK has not been read yet: drop
   * the client's first SETTINGS ACK, which Node's HTTP/2 session would take for the ACK of its own SETTINGS.
   */
  settingsAckPending?: boolean;
}

/** Wraps one client connection (a SocketDuplex, gateway_sniff.ts); give the result to grpc-js' connection injector. */
export class AuthorityFixStream extends SocketDuplex {
  private buf: Buffer = Buffer.alloc(0);
  private ackPending: boolean;
  private mode: 'preface' | 'undecided' | 'rewrite' | 'pipe' = 'preface';
  private readonly decoder = new HpackDecoder();
  private readonly blocks = new HeaderBlockReader();

  constructor(sock: Duplex, opts: AuthorityFixOptions = {}) {
    super(sock);
    this.ackPending = opts.settingsAckPending ?? false;
  }

  protected override onSocketData(d: Buffer): void {
    if (this.mode === 'pipe' && !this.ackPending) {
      this.deliver(d);
      return;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      this.process();
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  private process(): void {
    if (this.mode === 'preface') {
      if (this.buf.length < PREFACE_LEN) return;
      this.deliver(this.buf.subarray(0, PREFACE_LEN));
      this.buf = this.buf.subarray(PREFACE_LEN);
      this.mode = 'undecided';
    }
    let f;
    while ((this.mode !== 'pipe' || this.ackPending) && (f = readFrame(this.buf)) !== undefined) {
      this.buf = this.buf.subarray(f.raw.length);
      if (this.ackPending && f.type === FRAME.SETTINGS && f.flags & FLAG.ACK) {
        this.ackPending = false;
        continue;
      }
      if (this.mode === 'pipe' || (f.type !== FRAME.HEADERS && f.type !== FRAME.CONTINUATION && !this.blocks.open)) {
        this.deliver(f.raw);
        continue;
      }
      const block = this.blocks.push(f);
      if (block) this.headerBlock(block);
    }
    if (this.mode === 'pipe' && !this.ackPending && this.buf.length > 0) {
      this.deliver(this.buf);
      this.buf = Buffer.alloc(0);
    }
  }

  private headerBlock(p: HeaderBlock): void {
    const headers = this.decoder.decode(Buffer.concat(p.fragments));
    if (this.mode === 'undecided') {
      if (authorityIsPlain(headers.find(([n]) => n === ':authority')?.[1])) {
        for (const r of p.raw) this.deliver(r);
        this.mode = 'pipe';
        return;
      }
      this.mode = 'rewrite';
    }
    const fixed = headers.map(([n, v]): [string, string] => (n === ':authority' || n === 'host' ? [n, fixAuthority(v)] : [n, v]));
    const block = encodeLiteralBlock(fixed);
    for (let off = 0, first = true; off < block.length || first; off += DEFAULT_MAX_FRAME, first = false) {
      const part = block.subarray(off, off + DEFAULT_MAX_FRAME);
      const last = off + DEFAULT_MAX_FRAME >= block.length;
      const flags = (first ? p.flags & FLAG.END_STREAM : 0) | (last ? FLAG.END_HEADERS : 0);
      this.deliver(encodeFrame(first ? FRAME.HEADERS : FRAME.CONTINUATION, flags, p.stream, part));
    }
  }
}
