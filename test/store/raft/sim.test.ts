/**
 * Seeded simulation of 3- and 5-node clusters under message loss, duplication, reordering,
 * partitions and crashes, checking Raft's safety properties after every step and liveness
 * after healing (see sim.ts). Replay a failing seed with RAFT_SIM_SEED=<n>.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimFailure, Simulation } from './sim.js';

const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 30);
const STEPS = Number(process.env.RAFT_SIM_STEPS ?? 3000);
const ONLY = process.env.RAFT_SIM_SEED === undefined ? undefined : Number(process.env.RAFT_SIM_SEED);

/**
 * Cycles through the four combinations of pre-vote and check-quorum; every third seed sends one
 * entry per append and crashes often (the conditions of the paper's Figure 8).
 */
function variant(seed: number): { preVote: boolean; checkQuorum: boolean; maxSizePerMsg?: number; crashRate?: number } {
  const v = { preVote: (seed & 1) === 1, checkQuorum: (seed & 2) === 2 };
  return seed % 3 === 0 ? { ...v, maxSizePerMsg: 1, crashRate: 0.02 } : v;
}

for (const nodes of [3, 5]) {
  describe(`raft simulation, ${nodes} nodes`, () => {
    const seeds = ONLY !== undefined ? [ONLY] : Array.from({ length: SEEDS }, (_, i) => i + 1);
    it(`${seeds.length} seeds x ${STEPS} ticks keep election safety, log matching, leader completeness, state machine safety; heal -> liveness`, () => {
      let totals = { commits: 0, crashes: 0, partitions: 0, snapshots: 0, reads: 0, elections: 0 };
      for (const seed of seeds) {
        const sim = new Simulation({ seed, nodes, ...variant(seed) });
        try {
          sim.run(STEPS);
          sim.runLiveness();
        } catch (e) {
          if (e instanceof SimFailure) throw e;
          // An exception inside raft (a broken internal invariant): say which run it was.
          throw new Error(`seed ${seed} (nodes ${nodes}) at tick ${sim.now}: ${(e as Error).stack ?? String(e)}`);
        }
        totals = {
          commits: totals.commits + sim.acked.size,
          crashes: totals.crashes + sim.stats.crashes,
          partitions: totals.partitions + sim.stats.partitions,
          snapshots: totals.snapshots + sim.stats.snapshotsSent,
          reads: totals.reads + sim.stats.reads,
          elections: totals.elections + sim.stats.maxTerm,
        };
      }
      // The faults must actually have happened, or the run proves little.
      if (ONLY === undefined) {
        assert.ok(totals.commits > seeds.length * 50, `commits ${totals.commits}`);
        assert.ok(totals.crashes > 0 && totals.partitions > 0, `crashes ${totals.crashes}, partitions ${totals.partitions}`);
        assert.ok(totals.snapshots > 0, `snapshots sent ${totals.snapshots}`);
        assert.ok(totals.reads > 0, `reads answered ${totals.reads}`);
        assert.ok(totals.elections > seeds.length, `terms ${totals.elections}`);
      }
      console.log(`# ${nodes} nodes: ${JSON.stringify(totals)}`);
    });
  });
}

describe('raft simulation with membership changes and leadership transfers', () => {
  const seeds = ONLY !== undefined ? [ONLY] : Array.from({ length: Math.max(1, Math.floor(SEEDS / 2)) }, (_, i) => 1000 + i);
  it(`${seeds.length} seeds x ${STEPS} ticks: add learner / promote / remove / transfer keep every safety check; heal -> liveness`, () => {
    const totals = { commits: 0, confChanges: 0, removed: 0, transfers: 0, snapshots: 0 };
    for (const seed of seeds) {
      const sim = new Simulation({ seed, nodes: 3, ...variant(seed), membershipRate: 0.02 });
      try {
        sim.run(STEPS);
        sim.runLiveness(1500);
      } catch (e) {
        if (e instanceof SimFailure) throw e;
        throw new Error(`seed ${seed} (membership) at tick ${sim.now}: ${(e as Error).stack ?? String(e)}`);
      }
      totals.commits += sim.acked.size;
      totals.confChanges += sim.stats.confChanges;
      totals.removed += sim.stats.removed;
      totals.transfers += sim.stats.transfers;
      totals.snapshots += sim.stats.snapshotsSent;
    }
    if (ONLY === undefined) {
      assert.ok(totals.confChanges > seeds.length * 5, `conf changes proposed ${totals.confChanges}`);
      assert.ok(totals.removed > 0, `members removed ${totals.removed}`);
      assert.ok(totals.transfers > 0, `transfers ${totals.transfers}`);
    }
    console.log(`# membership: ${JSON.stringify(totals)}`);
  });
});
