/** The fault catalogue: one fault per scenario (see docs/FAULTS.md). */
import type { Rng } from '../checker/generator.js';
import type { FaultCluster } from './cluster.js';
import { MORE_FAULTS } from './faults_more.js';
import { SNAPSHOT_FAULTS } from './faults_snapshot.js';
import { DISK_FAULTS } from './faults_disk.js';
import { SOAK_FAULTS } from './faults_soak.js';
import type { Fault } from './scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const leaderOr0 = (c: FaultCluster): Promise<number> => c.leaderOrFirst(20);
const follower = async (c: FaultCluster, rng: Rng) => {
  const l = await leaderOr0(c);
  const others = [0, 1, 2].filter((i) => i !== l);
  return others[rng.int(others.length)];
};

/** Every fault, by name. */
export const FAULTS: Fault[] = [
  { name: 'none', inject: async () => async () => {} },
  { name: 'kill9-follower', inject: async (c, rng) => { const f = await follower(c, rng); await c.kill9(f); return async () => c.restart(f); } },
  { name: 'kill9-leader', inject: async (c) => { const l = await leaderOr0(c); await c.kill9(l); return async () => c.restart(l); } },
  { name: 'kill9-leader-twice', inject: async (c) => {
    const l = await leaderOr0(c); await c.kill9(l); c.restart(l); await sleep(1500);
    const l2 = await leaderOr0(c); await c.kill9(l2); return async () => c.restart(l2);
  } },
  { name: 'sigstop-leader', inject: async (c) => { const l = await leaderOr0(c); c.pause(l); return async () => c.resume(l); } },
  { name: 'sigstop-follower', inject: async (c, rng) => { const f = await follower(c, rng); c.pause(f); return async () => c.resume(f); } },
  { name: 'partition-leader', inject: async (c) => { const l = await leaderOr0(c); c.isolate(l); return async () => c.heal(); } },
  { name: 'partition-follower', inject: async (c, rng) => { const f = await follower(c, rng); c.isolate(f); return async () => c.heal(); } },
  { name: 'oneway-leader-out', inject: async (c) => { const l = await leaderOr0(c); c.isolate(l, { kind: 'drop' }, true); return async () => c.heal(); } },
  { name: 'oneway-follower-out', inject: async (c, rng) => { const f = await follower(c, rng); c.isolate(f, { kind: 'drop' }, true); return async () => c.heal(); } },
  { name: 'oneway-leader-in', inject: async (c) => {
    const l = await leaderOr0(c);
    for (let j = 0; j < 3; j++) if (j !== l) c.link(j, l, { kind: 'drop' });
    return async () => c.heal();
  } },
  { name: 'blackhole-leader', inject: async (c) => { const l = await leaderOr0(c); c.isolate(l, { kind: 'blackhole' }); return async () => c.heal(); } },
  { name: 'blackhole-follower', inject: async (c, rng) => { const f = await follower(c, rng); c.isolate(f, { kind: 'blackhole' }); return async () => c.heal(); } },
  { name: 'delay-all-150ms', inject: async (c) => { for (let i = 0; i < 3; i++) c.isolate(i, { kind: 'delay', ms: 150 }, true); return async () => c.heal(); } },
  { name: 'loss-all-5pct', inject: async (c) => { for (let i = 0; i < 3; i++) c.isolate(i, { kind: 'loss', p: 0.05 }, true); return async () => c.heal(); } },
  { name: 'partition-majority-split', inject: async (c) => {
    // leader with one follower vs the other follower, then swap who is cut off
    const l = await leaderOr0(c); const f = (l + 1) % 3; c.isolate(f); await sleep(2000); c.heal(); c.isolate((l + 2) % 3);
    return async () => c.heal();
  } },
  { name: 'partition-member0', inject: async (c) => { c.isolate(0); return async () => c.heal(); } },
  { name: 'kill9-all', inject: async (c) => { for (let i = 0; i < 3; i++) await c.kill9(i); await sleep(500); return async () => { for (let i = 0; i < 3; i++) c.restart(i); }; } },
  ...MORE_FAULTS,
  ...SNAPSHOT_FAULTS,
  ...DISK_FAULTS, // keep last: appended faults must not shift the CI seeds of the others
];

/** A fault by name; throws on an unknown name. */
export function fault(name: string): Fault {
  const f = FAULTS.find((x) => x.name === name) ?? SOAK_FAULTS.find((x) => x.name === name);
  if (!f) throw new Error(`unknown fault ${name}: one of ${[...FAULTS, ...SOAK_FAULTS].map((x) => x.name).join(', ')}`);
  return f;
}
