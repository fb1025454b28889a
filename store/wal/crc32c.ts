/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF,
 * as used by iSCSI (RFC 3720 §B.4) and by etcd's WAL. Table driven, slice-by-8: eight bytes per step through
 * eight 256-entry tables (Kounavis & Berry, "A Systematic Approach to Building High Performance Software-based
 * CRC Generators", 2005), about 3-8x the one-byte-per-step loop (kept as crc32cBytewise, the reference).
 */

const POLY = 0x82f63b78;

/**
 * TABLE[k * 256 + n]: the CRC register after feeding byte n followed by k zero bytes (k = 0..7). Table 0 is the
 * classic byte table. Int32 entries: the loop stays in small integers.
 */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const p = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  return t;
})();

/**
 * Continues a CRC-32C over `buf[start, end)`. Pass the previous result as `crc` to checksum data in pieces
 * (`crc32c(b, crc32c(a))` equals the CRC of a followed by b); a fresh CRC starts from 0.
 * Returns an unsigned 32-bit value.
 */
export function crc32c(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  const t = TABLE;
  let c = ~crc | 0;
  let i = start;
  const stop = end - ((end - start) & 7);
  while (i < stop) {
    // the register absorbs the next 4 bytes; all 8 bytes are then looked up in the 8 tables at once
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^ t[512 + buf[i + 5]!]! ^ t[256 + buf[i + 6]!]! ^ t[buf[i + 7]!]!;
    i += 8;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** crc32c one byte per step (same arguments and result): the reference the sliced loop is tested against. */
export function crc32cBytewise(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}
