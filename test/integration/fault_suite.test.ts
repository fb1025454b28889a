/**
 * The CI-bounded fault suite (issue 4): fixed seeds, one run per fault, each a 3-member quorumd cluster
 * behind peer proxies under the mixed load with watchers (test/fault/harness). Every run must end with no
 * violation (linearizable history, no acknowledged write lost, watch guarantees, HashKV equal). A failure
 * names its seed and the history/timeline files. Long mode: node dist/scripts/fault/main.js --seeds N --duration S.
 * Ports 30000-30019 (5-member scenarios), or from $QUORUM_FAULT_BASE_PORT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULTS } from '../fault/harness/faults.js';
import { runScenario } from '../fault/harness/scenario.js';

const DURATION_MS = Number(process.env.QUORUM_FAULT_DURATION_MS ?? 7000);
const BASE_PORT = Number(process.env.QUORUM_FAULT_BASE_PORT ?? 30000);

for (const [i, f] of FAULTS.entries()) {
  test(`fault scenario ${f.name}`, { timeout: 240_000 }, async () => {
    const r = await runScenario(f, { seed: 100 + i, basePort: BASE_PORT, durationMs: DURATION_MS, log: (l) => console.log(`# ${l}`) });
    assert.deepEqual(r.violations, [], `seed ${r.seed}: violations; history ${r.artifacts?.json} timeline ${r.artifacts?.html}`);
    assert.ok(r.ops > 50, `the load ran (${r.ops} ops)`);
  });
}
