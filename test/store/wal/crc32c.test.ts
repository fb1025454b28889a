import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c, crc32cBytewise } from '../../../store/wal/crc32c.js';
import { prng } from '../../helpers/prng.js';

/** Bit-at-a-time CRC-32C straight from the polynomial: independent of both table-driven loops. */
function crcBits(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

describe('crc32c slice-by-8', () => {
  it('matches the RFC 3720 check values', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
    assert.equal(crc32c(inc), 0x46dd794e); // RFC 3720 B.4: incrementing bytes
  });

  it('equals the byte-wise loop on every length 0..64 at every start and end offset', () => {
    const rand = prng(0x5eed_c3c);
    for (let len = 0; len <= 64; len++) {
      const buf = randomBytes(rand, len);
      for (let start = 0; start <= len; start++) {
        for (let end = start; end <= len; end++) {
          const seed = (rand() * 2 ** 32) >>> 0;
          const want = crc32cBytewise(buf, seed, start, end);
          assert.equal(crc32c(buf, seed, start, end), want, `len ${len} [${start}, ${end}) seed ${seed}`);
        }
      }
      assert.equal(crc32c(buf), crcBits(buf), `len ${len}: bit-at-a-time reference`);
    }
  });

  it('equals the byte-wise loop on large buffers, subarray views and odd offsets', () => {
    const rand = prng(42);
    for (const n of [1000, 4093, 65_536 + 5, 1 << 20]) {
      const big = randomBytes(rand, n + 16);
      for (const [s, e] of [[0, n], [1, n + 3], [3, n + 16], [7, n - 1]] as const) {
        assert.equal(crc32c(big, 0, s, e), crc32cBytewise(big, 0, s, e), `${n} [${s}, ${e})`);
        const view = big.subarray(s, e); // a view with a non-zero (unaligned) byteOffset
        assert.equal(crc32c(view), crc32cBytewise(view), `${n} view [${s}, ${e})`);
      }
    }
    const some = randomBytes(rand, 5000);
    assert.equal(crc32c(some), crcBits(some));
  });

  it('chains: the CRC of a then b equals the CRC of a followed by b, for every split', () => {
    const rand = prng(7);
    const buf = randomBytes(rand, 300);
    const whole = crc32c(buf);
    for (let cut = 0; cut <= buf.length; cut++) {
      assert.equal(crc32c(buf.subarray(cut), crc32c(buf.subarray(0, cut))), whole, `cut at ${cut}`);
      assert.equal(crc32c(buf, crc32c(buf, 0, 0, cut), cut), whole, `offsets cut at ${cut}`);
    }
  });
});
