/**
 * The side-by-side report: rows of figures (etcd, quorumd, ratio quorumd/etcd) built from both systems'
 * results, written as a Markdown table and an SVG bar chart of the ratios (no chart library: plain SVG text).
 */
import type { WorkloadResult } from './stats.js';

/** Everything measured for one system at one cluster size. */
export interface SystemRun {
  system: 'etcd' | 'quorumd';
  size: number;
  results: WorkloadResult[];
  /** RSS of each member (bytes) when idle after start, and restart-to-ready time (ms) after the fill. */
  rssIdle: number[];
  restartMs?: number;
}

/** One comparable figure. `higherIsBetter` decides the target check; `target` names the issue's target if any. */
export interface Row { size: number; workload: string; metric: string; unit: string; etcd?: number; quorumd?: number; higherIsBetter: boolean; target: boolean; clientBound: boolean }

const byName = (r: SystemRun | undefined, w: string) => r?.results.find((x) => x.workload === w);

/** Metric names of the server CPU rows (stats.ts ServerCpu); the busiest-member row is left out of the chart. */
export const SERVER_CPU = 'server CPU';
export const SERVER_CPU_BUSIEST = 'server CPU busiest member';

/** Build the comparison rows for one cluster size. */
export function rows(etcd: SystemRun | undefined, quorumd: SystemRun | undefined, size: number): Row[] {
  const out: Row[] = [];
  const names = [...new Set([...(etcd?.results ?? []), ...(quorumd?.results ?? [])].map((r) => r.workload))];
  const target = (w: string, metric: string) => size === 3 && (
    (/^put-\d+x\d+$/.test(w) && (metric === 'throughput' || metric === 'p99 latency')) ||
    (/^range-(lin|ser)$/.test(w) && metric === 'throughput') || (/^watch-/.test(w) && metric === 'events/s') ||
    (w === 'fill' && metric === 'RSS max member') || (w === 'restart' && metric === 'restart-to-ready'));
  const add = (w: string, metric: string, unit: string, hib: boolean, get: (r: WorkloadResult) => number | undefined) => {
    const e = byName(etcd, w);
    const q = byName(quorumd, w);
    out.push({
      size, workload: w, metric, unit, etcd: e && get(e), quorumd: q && get(q), higherIsBetter: hib, target: target(w, metric),
      clientBound: !!(e?.clientBound || q?.clientBound),
    });
  };
  for (const w of names) {
    if (w === 'put-seq') {
      add(w, 'p50 latency', 'ms', false, (r) => r.latencyMs?.p50);
      add(w, 'p90 latency', 'ms', false, (r) => r.latencyMs?.p90);
      add(w, 'p99 latency', 'ms', false, (r) => r.latencyMs?.p99);
      add(w, 'max latency', 'ms', false, (r) => r.latencyMs?.max);
    } else if (w.startsWith('watch-')) {
      add(w, 'events/s', '/s', true, (r) => r.opsPerSec);
      add(w, 'put-to-event p50', 'ms', false, (r) => r.latencyMs?.p50);
      add(w, 'put-to-event p99', 'ms', false, (r) => r.latencyMs?.p99);
    } else if (w === 'fill') {
      add(w, 'throughput', '/s', true, (r) => r.opsPerSec);
      add(w, 'db size', 'MiB', false, (r) => mib(r.extra?.dbSizeMax));
      add(w, 'RSS max member', 'MiB', false, (r) => mib(r.extra?.rssMax));
    } else {
      add(w, 'throughput', '/s', true, (r) => r.opsPerSec);
      add(w, 'p99 latency', 'ms', false, (r) => r.latencyMs?.p99);
    }
    if (byName(etcd, w)?.serverCpu || byName(quorumd, w)?.serverCpu) {
      add(w, SERVER_CPU, 'µs/op', false, (r) => r.serverCpu?.usPerOp);
      add(w, SERVER_CPU_BUSIEST, 'µs/op', false, (r) => r.serverCpu?.busiestUsPerOp);
    }
  }
  const idle = (r?: SystemRun) => (r && r.rssIdle.length ? Math.round(Math.max(...r.rssIdle) / 1048576 * 10) / 10 : undefined);
  out.push({ size, workload: 'idle', metric: 'RSS max member', unit: 'MiB', etcd: idle(etcd), quorumd: idle(quorumd), higherIsBetter: false, target: false, clientBound: false });
  out.push({ size, workload: 'restart', metric: 'restart-to-ready', unit: 'ms', etcd: etcd?.restartMs, quorumd: quorumd?.restartMs, higherIsBetter: false, target: target('restart', 'restart-to-ready'), clientBound: false });
  return out;
}

function mib(x: number | string | undefined): number | undefined {
  return typeof x === 'number' ? Math.round((x / 1048576) * 10) / 10 : undefined;
}

/** quorumd / etcd, or undefined when either is missing or etcd is 0. */
export function ratio(r: Row): number | undefined {
  return r.etcd && r.quorumd !== undefined ? r.quorumd / r.etcd : undefined;
}

/** Whether quorumd meets the row's target (ratio >= 1 when higher is better, <= 1 otherwise). */
export function meets(r: Row): boolean | undefined {
  const x = ratio(r);
  if (x === undefined) return undefined;
  return r.higherIsBetter ? x >= 1 : x <= 1;
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100));

/** A Markdown table of `rs`. */
export function markdownTable(rs: Row[]): string {
  const lines = ['| workload | metric | etcd 3.4 | quorumd | quorumd/etcd | target |', '|---|---|---:|---:|---:|---|'];
  for (const r of rs) {
    const x = ratio(r);
    const m = meets(r);
    const t = r.target ? (m === undefined ? 'target: n/a' : m ? 'target met' : '**target missed**') : m === undefined ? '' : m ? 'better' : 'worse';
    lines.push(`| ${r.workload}${r.clientBound ? ' ¹' : ''} | ${r.metric} (${r.unit}) | ${fmt(r.etcd)} | ${fmt(r.quorumd)} | ${x === undefined ? '-' : `${fmt(x)}×`} | ${t} |`);
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An SVG chart: one horizontal bar per row, the "goodness" ratio (quorumd better than etcd when > 1: the ratio
 * for higher-is-better figures, its inverse for lower-is-better ones) on a log2 axis from 1/16 to 16.
 */
export function svgChart(rs: Row[], title: string): string {
  const items = rs.filter((r) => r.metric !== SERVER_CPU_BUSIEST).map((r) => {
    const x = ratio(r);
    return { label: `${r.size}m ${r.workload} ${r.metric}`, g: x === undefined || x === 0 ? undefined : r.higherIsBetter ? x : 1 / x, target: r.target };
  }).filter((i) => i.g !== undefined) as { label: string; g: number; target: boolean }[];
  const rowH = 18;
  const left = 260;
  const width = 760;
  const plotW = width - left - 60;
  const top = 50;
  const height = top + items.length * rowH + 40;
  const lo = -4;
  const hi = 4;
  const xOf = (g: number) => left + ((Math.min(hi, Math.max(lo, Math.log2(g))) - lo) / (hi - lo)) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${width / 2}" y="34" text-anchor="middle" fill="#555">quorumd relative to etcd 3.4 (right of 1× = quorumd better; log scale)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const x = xOf(2 ** e);
    const label = e >= 0 ? `${2 ** e}×` : `1/${2 ** -e}`;
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 30}" stroke="${e === 0 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x}" y="${height - 16}" text-anchor="middle" fill="#555">${label}</text>`);
  }
  items.forEach((it, i) => {
    const y = top + i * rowH;
    const x0 = xOf(1);
    const x1 = xOf(it.g);
    const color = it.g >= 1 ? '#2e7d32' : it.target ? '#c62828' : '#ef9a9a';
    parts.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(it.label)}${it.target ? ' *' : ''}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 3}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 6}" fill="${color}"/>`);
    parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 12}" fill="#333">${fmt(it.g)}</text>`);
  });
  parts.push(`<text x="8" y="${height - 4}" fill="#555">* an issue-5 target (3-member cluster)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
