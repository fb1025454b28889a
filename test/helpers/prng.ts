/**
 * The seeded PRNG of randomized tests: the project's mulberry32 (store/raft/rand.ts) as a function, so a test
 * repeats the same sequence for the same seed. Not for cryptography.
 */
import { Rand } from '../../store/raft/rand.js';

/** Returns a generator of uniform floats in [0, 1) seeded with `seed` (any integer; its low 32 bits are used). */
export function prng(seed: number): () => number {
  const r = new Rand(seed);
  return () => r.float();
}
