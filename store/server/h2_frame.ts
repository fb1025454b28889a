/**
 * The small part of HTTP/2 framing (RFC 9113 §4.1, §6) the client port reads itself before (or instead of)
 * Node's HTTP/2 stack: splitting the client's byte stream into frames and collecting a request's header block
 * (HEADERS plus CONTINUATION frames up to END_HEADERS, §6.2, §6.10). Used by the connection hand-off
 * (h2_handoff.ts) and the etcdctl 3.4 :authority shim (authority_fix.ts).
 */

/** Frame types (RFC 9113 §6). */
export const FRAME = { DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
/** Frame flags (RFC 9113 §6): END_STREAM and ACK share bit 0. */
export const FLAG = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
/** Size of a frame header, bytes. */
export const FRAME_HEADER_LEN = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value (§6.5.2): the largest payload a peer may send before settings say more. */
export const DEFAULT_MAX_FRAME = 16384;

/** One complete frame read from a buffer; `raw` is the whole frame (header + payload), a view of that buffer. */
export interface H2Frame {
  type: number;
  flags: number;
  /** Stream identifier (the reserved bit cleared). */
  stream: number;
  raw: Buffer;
  payload: Buffer;
}

/** The complete frame starting at `buf[off]`, or undefined while its bytes have not all arrived. */
export function readFrame(buf: Buffer, off = 0): H2Frame | undefined {
  if (buf.length - off < FRAME_HEADER_LEN) return undefined;
  const len = buf.readUIntBE(off, 3);
  if (buf.length - off < FRAME_HEADER_LEN + len) return undefined;
  const raw = buf.subarray(off, off + FRAME_HEADER_LEN + len);
  return { type: raw[3], flags: raw[4], stream: raw.readUInt32BE(5) & 0x7fffffff, raw, payload: raw.subarray(FRAME_HEADER_LEN) };
}

/** The length field of the frame header at `buf[off]` (at least 3 bytes must be there), bytes. */
export function frameLength(buf: Buffer, off = 0): number {
  return buf.readUIntBE(off, 3);
}

/** One frame's bytes: a 9-byte header and `payload`. */
export function encodeFrame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_LEN);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

/** A header block being collected: its stream, the HEADERS frame's flags, HPACK fragments and the raw frames. */
export interface HeaderBlock {
  stream: number;
  /** The HEADERS frame's flags, with END_HEADERS set once the block is complete. */
  flags: number;
  fragments: Buffer[];
  raw: Buffer[];
}

/**
 * Collects header blocks from a frame sequence. `push` takes HEADERS and CONTINUATION frames and returns the
 * block once its END_HEADERS has arrived. Throws (RFC 9113 §6.10 connection errors) on a CONTINUATION without an
 * open block or for another stream, a frame other than CONTINUATION inside an open block, or padding longer than
 * the payload.
 */
export class HeaderBlockReader {
  private pending: HeaderBlock | undefined;

  /** True while a HEADERS frame's block waits for its CONTINUATION frames. */
  get open(): boolean {
    return this.pending !== undefined;
  }

  push(f: H2Frame): HeaderBlock | undefined {
    if (f.type === FRAME.HEADERS) {
      if (this.pending) throw new Error('HTTP/2: HEADERS frame inside an unfinished header block');
      let start = 0;
      let end = f.payload.length;
      if (f.flags & FLAG.PADDED) {
        end -= f.payload[0] ?? 0;
        start = 1;
      }
      if (f.flags & FLAG.PRIORITY) start += 5;
      if (end < start) throw new Error('HTTP/2: HEADERS frame padding longer than its payload');
      this.pending = { stream: f.stream, flags: f.flags, fragments: [f.payload.subarray(start, end)], raw: [f.raw] };
    } else if (f.type === FRAME.CONTINUATION) {
      if (!this.pending || this.pending.stream !== f.stream) throw new Error('HTTP/2: CONTINUATION frame without a header block on its stream');
      this.pending.fragments.push(f.payload);
      this.pending.raw.push(f.raw);
      this.pending.flags |= f.flags & FLAG.END_HEADERS;
    } else {
      if (this.pending) throw new Error(`HTTP/2: frame type ${f.type} inside an unfinished header block`);
      return undefined;
    }
    if (!(this.pending.flags & FLAG.END_HEADERS)) return undefined;
    const done = this.pending;
    this.pending = undefined;
    return done;
  }
}
