/**
 * Long mode of the fault suite: every fault (or --faults a,b) for --seeds N seeds of --duration S seconds.
 * Usage: node dist/scripts/fault/main.js --seeds 5 --duration 30 [--faults kill9-leader,partition-leader]
 *        [--first-seed 1] [--base-port 31000]
 *        node dist/scripts/fault/main.js --replay /tmp/quorum-fault-XXXX/history.json
 * Prints one line per run; a failure prints its seed and the paths of history.json and timeline.html.
 * Exit code 1 when any run had a violation.
 */
import { readFileSync } from 'node:fs';
import { checkHistory } from '../../test/fault/checker/index.js';
import type { History, KvSnap } from '../../test/fault/checker/types.js';
import { FAULTS, fault } from '../../test/fault/harness/faults.js';
import { runScenario } from '../../test/fault/harness/scenario.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

// Replay: node dist/scripts/fault/main.js --replay DIR/history.json (every watcher taken as live to the end).
if (arg('replay', '')) {
  const h = JSON.parse(readFileSync(arg('replay', ''), 'utf8')) as History;
  const fin = h.ops.filter((o) => o.client === 99 && o.resp?.t === 'range').pop();
  const final = fin?.resp?.t === 'range' ? { kvs: fin.resp.kvs as KvSnap[], rev: fin.resp.rev } : undefined;
  const r = checkHistory(h, final, new Set(h.watches.map((w) => w.id)), { fullWatch: 0 });
  for (const v of r.violations) console.log(JSON.stringify(v));
  console.log(`${r.violations.length} violations, search ${r.lin.steps} steps`);
  process.exit(r.violations.length === 0 ? 0 : 1);
}
const seeds = Number(arg('seeds', '3'));
const duration = Number(arg('duration', '20'));
const first = Number(arg('first-seed', '1'));
const base = Number(arg('base-port', '31000'));
const faults = arg('faults', '') ? arg('faults', '').split(',').map(fault) : FAULTS;
let failed = 0;
for (let s = first; s < first + seeds; s++) {
  for (const f of faults) {
    const r = await runScenario(f, { seed: s, basePort: base, durationMs: duration * 1000, log: (l) => console.log(l) });
    if (r.violations.length > 0) {
      failed++;
      console.log(`FAILED ${f.name} --first-seed ${s}: ${r.violations.map((v) => v.kind).join(', ')}`);
    }
  }
}
console.log(`${failed === 0 ? 'ok' : 'FAILED'}: ${seeds * faults.length - failed}/${seeds * faults.length} runs without violations`);
process.exit(failed === 0 ? 0 : 1);
