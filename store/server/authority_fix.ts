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
import { SocketDuplex } from './gateway_sniff.js';

const PREFACE_LEN = 24;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const MAX_FRAME = 16384;

/** "http://127.0.0.1:2379" -> "127.0.0.1:2379"; other values unchanged. */
export function fixAuthority(v: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/]*)/.exec(v);
  return m ? m[1] : v;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** Wraps one client connection (a SocketDuplex, gateway_sniff.ts); give the result to grpc-js' connection injector. */
export class AuthorityFixStream extends SocketDuplex {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'preface' | 'undecided' | 'rewrite' | 'pipe' = 'preface';
  private readonly decoder = new HpackDecoder();
  private pending: { stream: number; flags: number; fragments: Buffer[]; raw: Buffer[] } | undefined;

  protected override onSocketData(d: Buffer): void {
    if (this.mode === 'pipe') {
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
    while (this.mode !== 'pipe' && this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      const type = this.buf[3];
      const flags = this.buf[4];
      const stream = this.buf.readUInt32BE(5) & 0x7fffffff;
      const raw = this.buf.subarray(0, 9 + len);
      const payload = raw.subarray(9);
      this.buf = this.buf.subarray(9 + len);
      if (type === HEADERS) {
        let start = 0;
        let end = payload.length;
        if (flags & PADDED) {
          end -= payload[0];
          start = 1;
        }
        if (flags & PRIORITY) start += 5;
        this.pending = { stream, flags, fragments: [payload.subarray(start, end)], raw: [raw] };
      } else if (type === CONTINUATION && this.pending) {
        this.pending.fragments.push(payload);
        this.pending.raw.push(raw);
        this.pending.flags |= flags & END_HEADERS;
      } else {
        this.deliver(raw);
        continue;
      }
      if (this.pending.flags & END_HEADERS) this.headerBlock(this.pending);
    }
    if (this.mode === 'pipe' && this.buf.length > 0) {
      this.deliver(this.buf);
      this.buf = Buffer.alloc(0);
    }
  }

  private headerBlock(p: { stream: number; flags: number; fragments: Buffer[]; raw: Buffer[] }): void {
    this.pending = undefined;
    const headers = this.decoder.decode(Buffer.concat(p.fragments));
    if (this.mode === 'undecided') {
      const auth = headers.find(([n]) => n === ':authority');
      if (!auth || fixAuthority(auth[1]) === auth[1]) {
        for (const r of p.raw) this.deliver(r);
        this.mode = 'pipe';
        return;
      }
      this.mode = 'rewrite';
    }
    const fixed = headers.map(([n, v]): [string, string] => (n === ':authority' || n === 'host' ? [n, fixAuthority(v)] : [n, v]));
    const block = encodeLiteralBlock(fixed);
    for (let off = 0, first = true; off < block.length || first; off += MAX_FRAME, first = false) {
      const part = block.subarray(off, off + MAX_FRAME);
      const last = off + MAX_FRAME >= block.length;
      const flags = (first ? p.flags & END_STREAM : 0) | (last ? END_HEADERS : 0);
      this.deliver(frame(first ? HEADERS : CONTINUATION, flags, p.stream, part));
    }
  }
}
