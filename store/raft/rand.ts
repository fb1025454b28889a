/**
 * A small seeded PRNG (mulberry32) so that randomized election timeouts (Raft paper §5.2) are
 * reproducible in simulation. Not for cryptography.
 */
import { type NodeId } from './types.js';

export class Rand {
  private state: number;

  /** `seed` is any integer; only its low 32 bits are used. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Derives a 32-bit seed from a node ID (folding the 64-bit value). */
  static seedFromId(id: NodeId): number {
    const lo = Number(id & 0xffffffffn);
    const hi = Number((id >> 32n) & 0xffffffffn);
    return (lo ^ Math.imul(hi, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n) for n >= 1. */
  intn(n: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }
}
