/**
 * The checker is checked (issue 4): deliberately broken behaviour, injected on the client side of the
 * fault harness (never in the server), must be caught.
 * - stale reads: with every peer link delayed 150 ms (followers lag), linearizable reads are sent with
 *   serializable=true and recorded as linearizable -> not linearizable
 * - a dropped watch event in the recorder -> watch gap
 * - a put acknowledged with a fabricated response and never sent -> not linearizable / lost write
 * - server side: a WAL that acknowledges before fsync (QUORUMD_FAULT_ACK_BEFORE_FSYNC=1), all members killed
 *   losing their un-fsynced writes -> lost write / not linearizable
 * Ports 30100-30111 (or $QUORUM_FAULT_BASE_PORT + 100 ..).
 */
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fault } from '../fault/harness/faults.js';
import { runScenario } from '../fault/harness/scenario.js';
import type { Mutations } from '../fault/harness/load.js';

const cases: { name: string; fault: string; mutations: Mutations; expect: RegExp }[] = [
  { name: 'stale reads from lagging followers', fault: 'delay-all-150ms', mutations: { staleReadsVia: -1 }, expect: /not-linearizable/ },
  { name: 'a watch event dropped', fault: 'partition-member0', mutations: { dropWatchEvent: 5 }, expect: /watch-gap/ },
  { name: 'a put acknowledged before it is applied', fault: 'partition-member0', mutations: { fabricateAckVia: 1 }, expect: /not-linearizable|lost-write/ },
  // server side (store/server/fault_switches.ts): the WAL never fsyncs, every member loses its unsynced writes
  { name: 'writes acknowledged before fsync', fault: 'kill9-all-lose-unsynced', mutations: { serverEnv: { QUORUMD_FAULT_ACK_BEFORE_FSYNC: '1' } }, expect: /not-linearizable|lost-write/ },
];

for (const [i, c] of cases.entries()) {
  test(`mutation caught: ${c.name}`, { timeout: 240_000 }, async () => {
    const r = await runScenario(fault(c.fault), { seed: 500 + i, basePort: Number(process.env.QUORUM_FAULT_BASE_PORT ?? 30000) + 100, durationMs: 7000, mutations: c.mutations, log: (l) => console.log(`# ${l}`) });
    const kinds = r.violations.map((v) => v.kind).join(' ');
    assert.match(kinds, c.expect, `seed ${r.seed}: expected the mutation to be caught, got [${kinds}]`);
    rmSync(r.dir, { recursive: true, force: true }); // the expected failure's artifacts

  });
}
