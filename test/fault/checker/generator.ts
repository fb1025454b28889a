/**
 * A seeded random generator of small linearizable histories (and mutations of them) for testing the
 * checkers: clients issue operations one at a time; each operation takes effect at a random point inside
 * its [call, return] interval; responses come from the model at that point. Some operations get an unknown
 * outcome (no return), and of those half never take effect.
 */
import { apply, initialState } from './model.js';
import type { Operation, Request, Response } from './types.js';

/** A small seeded PRNG (mulberry32): deterministic across runs and platforms. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

/** A random request over keys a, b, c and leases 1, 2 (ids unique per value for traceability). */
export function randomRequest(rng: Rng, id: number, knownMods: number[]): Request {
  const key = rng.pick(['a', 'b', 'c']);
  const r = rng.int(10);
  if (r < 3) return { t: 'put', key, value: `v${id}` };
  if (r < 4) return { t: 'del', key };
  if (r < 5) return { t: 'range', key };
  if (r < 6) return { t: 'range', key: 'a', end: '\0' };
  if (r < 7) {
    const arg = knownMods.length ? rng.pick(knownMods) : 0;
    return { t: 'txn', cmp: [{ key, target: 'mod', op: '=', arg }], then: [{ t: 'put', key, value: `v${id}` }], else: [{ t: 'range', key }] };
  }
  if (r < 8) return { t: 'grant', id: rng.pick(['1', '2']) };
  if (r < 9) return { t: 'revoke', id: rng.pick(['1', '2']) };
  return { t: 'put', key, value: `v${id}`, lease: rng.pick(['1', '2']) };
}

/** Generate a linearizable history of `n` ops over `clients` clients; `unknownP` = share with unknown outcome. */
export function generateHistory(seed: number, n: number, clients = 3, unknownP = 0.15): Operation[] {
  const rng = new Rng(seed);
  const free = new Array<number>(clients).fill(0);
  const planned: { op: Operation; lin: number; effect: boolean }[] = [];
  for (let id = 0; id < n; id++) {
    const c = rng.int(clients);
    const call = free[c] + 1 + rng.int(5);
    const ret = call + 1 + rng.int(20);
    free[c] = ret;
    const unknown = rng.next() < unknownP;
    planned.push({ op: { id, client: c, call, ret: unknown ? undefined : ret, req: { t: 'put', key: 'a', value: '' } }, lin: call + rng.next() * (ret - call), effect: !unknown || rng.next() < 0.5 });
  }
  // Requests are chosen in linearization order so CAS comparisons can hit real revisions.
  const byLin = [...planned].sort((a, b) => a.lin - b.lin);
  let s = initialState();
  const mods: number[] = [];
  for (const p of byLin) {
    p.op.req = randomRequest(rng, p.op.id, mods);
    const a = apply(s, p.op.req);
    if (p.effect) {
      s = a.state;
      if (a.state.rev > (mods[mods.length - 1] ?? 1)) mods.push(a.state.rev);
    }
    if (p.op.ret !== undefined) p.op.resp = a.resp;
  }
  return planned.map((p) => p.op);
}

/** A copy of a history with one response perturbed at random (may or may not stay linearizable). */
export function mutateHistory(ops: Operation[], seed: number): Operation[] {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const out: Operation[] = JSON.parse(JSON.stringify(ops));
  const answered = out.filter((o) => o.resp !== undefined && o.resp.t !== 'grant' && o.resp.t !== 'fail');
  if (answered.length === 0) return out;
  const o = answered[rng.int(answered.length)];
  const r = o.resp as Exclude<Response, { t: 'grant' } | { t: 'fail' }>;
  const k = rng.int(3);
  if (k === 0) r.rev += rng.next() < 0.5 ? 1 : -1;
  else if (k === 1 && r.t === 'range' && r.kvs.length > 0) r.kvs[0].value = `v${rng.int(ops.length)}`;
  else if (k === 1 && r.t === 'range') r.kvs.push({ key: (o.req as { key: string }).key, value: 'ghost', mod: r.rev, create: r.rev, ver: 1, lease: '0' });
  else if (r.t === 'txn') r.succeeded = !r.succeeded;
  else if (r.t === 'del') r.deleted = r.deleted === 0 ? 1 : 0;
  else {
    // Move the op's return before its call's neighbours: shrink its interval to its first microsecond.
    o.ret = o.call + 0.5;
  }
  return out;
}
