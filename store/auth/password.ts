/**
 * Password hashing with a slow KDF: scrypt from node:crypto (etcd uses bcrypt; any strong KDF keeps the same
 * contract: the store holds only a salted hash, checked in constant time).
 * Encoded form: `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` (N = CPU/memory cost, r = block size,
 * p = parallelism; 32-byte hash, 16-byte random salt). Hashing happens on the proposing member before the
 * request enters Raft, so the WAL never holds a plain-text password.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** Cost parameters. N = 2^14 takes about 30-60 ms and 16 MiB per hash on this class of machine. */
export interface KdfParams { N: number; r: number; p: number }
export const DEFAULT_KDF: KdfParams = { N: 16384, r: 8, p: 1 };

const KEY_LEN = 32;

function derive(password: string, salt: Buffer, k: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LEN, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key))),
  );
}

/** Hash `password` with a fresh random salt; resolves to the encoded form above. */
export async function hashPassword(password: string, k: KdfParams = DEFAULT_KDF): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, k);
  return ['scrypt', k.N, k.r, k.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `password` matches `encoded` (a hashPassword result); false for a malformed encoding. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0)) return false;
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await derive(password, Buffer.from(parts[4]!, 'base64'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
