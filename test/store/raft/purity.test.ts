/**
 * store/raft must stay a pure, deterministic state machine (DESIGN.md): no I/O modules, no
 * clocks, timers, process state or unseeded randomness. This scans its sources.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

const dir = new URL('../../../../store/raft/', import.meta.url);
const FORBIDDEN: [RegExp, string][] = [
  [/from ['"](node:)?(fs|net|tls|http|http2|dgram|child_process|worker_threads|os|timers)(\/[a-z]+)?['"]/, 'an I/O module import'],
  [/\bDate\b/, 'Date'],
  [/Math\.random/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'a timer'],
  [/\bprocess\./, 'process'],
  [/\brequire\(/, 'require'],
];

describe('store/raft purity', () => {
  it('has no I/O, clocks, timers or unseeded randomness', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('raft.ts') && files.includes('rawnode.ts'), `found ${files.join(', ')}`);
    for (const f of files) {
      const src = readFileSync(new URL(f, dir), 'utf8');
      for (const [re, what] of FORBIDDEN) assert.ok(!re.test(src), `store/raft/${f} uses ${what}`);
    }
  });
});
