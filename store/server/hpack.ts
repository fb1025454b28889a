/**
 * A minimal HPACK (RFC 7541) decoder, and an encoder that writes only "literal header field without indexing,
 * new name" representations (§6.2.2): enough for authority_fix.ts to rewrite a request's header block without
 * ever touching the peer decoder's dynamic table. Strings are handled as latin1 (byte-preserving).
 */
import { HUFFMAN_CODES } from './hpack_huffman.js';

/** A malformed or unsupported header block. */
export class HpackError extends Error {
  constructor(message: string) {
    super(`hpack: ${message}`);
    this.name = 'HpackError';
  }
}

/** RFC 7541 Appendix A: the static table, index 1..61. */
const STATIC: [string, string][] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

const HUFFMAN_LOOKUP = new Map<number, number>(); // key = bits * 2^32 + code
for (const [sym, { code, bits }] of HUFFMAN_CODES) HUFFMAN_LOOKUP.set(bits * 2 ** 32 + code, sym);

/** Decode a Huffman-coded string (RFC 7541 §5.2). Throws HpackError on an unknown code or bad padding. */
export function huffmanDecode(b: Uint8Array): string {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  for (const byte of b) {
    for (let i = 7; i >= 0; i--) {
      acc = acc * 2 + ((byte >> i) & 1);
      n++;
      const sym = HUFFMAN_LOOKUP.get(n * 2 ** 32 + acc);
      if (sym !== undefined) {
        out.push(sym);
        acc = 0;
        n = 0;
      } else if (n >= 30) {
        throw new HpackError('unknown Huffman code');
      }
    }
  }
  if (n > 7 || acc !== 2 ** n - 1) throw new HpackError('bad Huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** The decoding side of one HTTP/2 connection's header compression state. */
export class HpackDecoder {
  private dynamic: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** `maxSize` = SETTINGS_HEADER_TABLE_SIZE the receiver advertised (4096 by default). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** Decode one complete header block into [name, value] pairs, updating the dynamic table. */
  decode(block: Uint8Array): [string, string][] {
    const out: [string, string][] = [];
    let pos = 0;
    const int = (prefix: number): number => {
      if (pos >= block.length) throw new HpackError('truncated integer');
      const max = (1 << prefix) - 1;
      let v = block[pos++] & max;
      if (v < max) return v;
      let m = 0;
      for (;;) {
        if (pos >= block.length || m > 28) throw new HpackError('bad integer');
        const x = block[pos++];
        v += (x & 127) * 2 ** m;
        m += 7;
        if (!(x & 128)) return v;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huff = (block[pos] & 0x80) !== 0;
      const len = int(7);
      if (pos + len > block.length) throw new HpackError('truncated string');
      const raw = block.subarray(pos, pos + len);
      pos += len;
      return huff ? huffmanDecode(raw) : Buffer.from(raw).toString('latin1');
    };
    const entry = (idx: number): [string, string] => {
      if (idx >= 1 && idx <= STATIC.length) return STATIC[idx - 1];
      const d = this.dynamic[idx - STATIC.length - 1];
      if (!d) throw new HpackError(`bad index ${idx}`);
      return d;
    };
    while (pos < block.length) {
      const c = block[pos];
      if (c & 0x80) {
        out.push(entry(int(7)));
      } else if ((c & 0xe0) === 0x20) {
        const size = int(5);
        if (size > this.limit) throw new HpackError('table size update above the limit');
        this.maxSize = size;
        this.evict();
      } else {
        const incremental = (c & 0xc0) === 0x40;
        const idx = int(incremental ? 6 : 4);
        const name = idx === 0 ? str() : entry(idx)[0];
        const value = str();
        out.push([name, value]);
        if (incremental) {
          this.dynamic.unshift([name, value]);
          this.size += name.length + value.length + 32;
          this.evict();
        }
      }
    }
    return out;
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

function encodeInt(out: number[], v: number, prefix: number, first: number): void {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encode headers as literals without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
export function encodeLiteralBlock(headers: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0x00);
    const n = Buffer.from(name, 'latin1');
    encodeInt(out, n.length, 7, 0);
    out.push(...n);
    const v = Buffer.from(value, 'latin1');
    encodeInt(out, v.length, 7, 0);
    for (const x of v) out.push(x);
  }
  return Buffer.from(out);
}
