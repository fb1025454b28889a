/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF,
 * as used by iSCSI (RFC 3720 §B.4) and by etcd's WAL. Table driven, one byte per step.
 */

const POLY = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * Continues a CRC-32C over `buf[start, end)`. Pass the previous result as `crc` to checksum data in pieces
 * (`crc32c(b, crc32c(a))` equals the CRC of a followed by b); a fresh CRC starts from 0.
 * Returns an unsigned 32-bit value.
 */
export function crc32c(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
