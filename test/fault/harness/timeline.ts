/**
 * Failure artifacts: the history as JSON (replayable through checkHistory) and a readable HTML timeline
 * (one lane per client, one bar per operation from call to return; unknown outcomes run to the end, grey;
 * operations the search could not place are red).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { History, Operation } from '../checker/types.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function label(o: Operation): string {
  const r = o.req;
  const req = r.t === 'txn' ? `txn(${r.cmp.map((c) => `${c.key}.${c.target}${c.op}${c.arg}`).join(',')})` : r.t === 'grant' || r.t === 'revoke' ? `${r.t} ${r.id}` : `${r.t}${r.t === 'range' && r.serializable ? '(s)' : ''} ${r.key}${'value' in r ? '=' + r.value : ''}`;
  return `#${o.id} ${req} -> ${o.resp ? JSON.stringify(o.resp) : 'unknown'}${o.note ? ' ' + o.note : ''}`;
}

/** Write history.json and timeline.html into `dir`; returns their paths. */
export function writeArtifacts(dir: string, h: History, highlight: number[] = [], violations: unknown[] = []): { json: string; html: string } {
  const json = join(dir, 'history.json');
  writeFileSync(json, JSON.stringify({ ...h, violations }, null, 1));
  const ops = h.ops;
  const end = Math.max(1, ...ops.map((o) => o.ret ?? o.call));
  const start = Math.min(...ops.map((o) => o.call), end);
  const clients = [...new Set(ops.map((o) => o.client))].sort((a, b) => a - b);
  const W = 4000;
  const x = (t: number) => ((t - start) / (end - start || 1)) * W;
  const hl = new Set(highlight);
  const rows = clients.map((c, i) => {
    const bars = ops.filter((o) => o.client === c).map((o) => {
      const color = hl.has(o.id) ? '#d33' : o.resp === undefined ? '#bbb' : o.resp.t === 'fail' ? '#e9a' : o.req.t === 'range' ? '#7ad' : '#7c7';
      const x1 = x(o.call);
      const x2 = Math.max(x1 + 2, x(o.ret ?? end));
      return `<rect x="${x1.toFixed(1)}" y="${i * 22 + 4}" width="${(x2 - x1).toFixed(1)}" height="16" fill="${color}"><title>${esc(label(o))}</title></rect>`;
    });
    return `<text x="2" y="${i * 22 + 16}" font-size="11">c${c}</text>${bars.join('')}`;
  });
  const html = join(dir, 'timeline.html');
  writeFileSync(html, `<!doctype html><meta charset="utf-8"><title>fault history seed ${h.seed}</title>
<h3>seed ${h.seed} ${esc(JSON.stringify(h.meta ?? {}))}</h3>
<pre>${esc(violations.map((v) => JSON.stringify(v)).join('\n'))}</pre>
<p>Hover a bar for the operation. Green write, blue read, grey unknown outcome, pink refused, red: not placeable.</p>
<div style="overflow-x:scroll"><svg width="${W + 40}" height="${clients.length * 22 + 10}" xmlns="http://www.w3.org/2000/svg"><g transform="translate(30,0)">${rows.join('\n')}</g></svg></div>
<pre>${esc(ops.map(label).join('\n'))}</pre>`);
  return { json, html };
}
