/**
 * etcdctl 3.4's output formats: the table style (olekukonko/tablewriter as etcdctl configures it: headers
 * upper-case and centred, cells right-aligned), go-humanize SI byte sizes, Go duration strings, and JSON
 * written like Go's encoding/json over the protobuf structs (uint64 as bare numbers, bytes as base64,
 * zero values omitted).
 */

/** Render a table like etcdctl -w table. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const center = (s: string, w: number) => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const out = [line, '| ' + headers.map((h, i) => center(h.toUpperCase(), widths[i])).join(' | ') + ' |', line];
  for (const r of rows) out.push('| ' + widths.map((w, i) => (r[i] ?? '').padStart(w)).join(' | ') + ' |');
  if (rows.length > 0) out.push(line);
  else out.push(line);
  return out.join('\n') + '\n';
}

function goRound0(v: number): string {
  // Go's %.0f rounds exact halves to even
  const f = Math.floor(v);
  const frac = v - f;
  if (Math.abs(frac - 0.5) < 1e-9) return String(f % 2 === 0 ? f : f + 1);
  return v.toFixed(0);
}

/** go-humanize Bytes: SI units, e.g. 20480 -> "20 kB", 1500000 -> "1.5 MB". */
export function humanizeBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  if (n < 10) return `${n} B`;
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : goRound0(val)} ${units[e]}`;
}

/** Go's time.Duration String(): "1.234567ms", "850µs", "2.5s". `ns` in nanoseconds. */
export function formatGoDuration(ns: number): string {
  ns = Math.round(ns);
  if (ns === 0) return '0s';
  const trim = (s: string) => s.replace(/\.?0+$/, '');
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${trim((ns / 1e3).toFixed(3))}µs`;
  if (ns < 1e9) return `${trim((ns / 1e6).toFixed(6))}ms`;
  const s = ns / 1e9;
  if (s < 60) return `${trim(s.toFixed(9))}s`;
  const m = Math.floor(s / 60);
  const rest = trim((s - m * 60).toFixed(9));
  if (m < 60) return `${m}m${rest || '0'}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${rest || '0'}s`;
}

/** A bigint or number written raw into JSON. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify where bigint and RawJson are written as bare numbers, Buffers/Uint8Arrays as base64, undefined omitted. */
export function goJson(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof RawJson) return v.text;
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return '[' + v.map(goJson).join(',') + ']';
  if (typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) parts.push(JSON.stringify(k) + ':' + goJson(x));
    return '{' + parts.join(',') + '}';
  }
  return JSON.stringify(v);
}

/** omitempty: undefined for zero values (0, 0n, false, '', empty arrays/buffers). */
export function oe<T>(v: T): T | undefined {
  if (v === 0 || v === 0n || v === false || v === '' || v === null) return undefined;
  if ((Array.isArray(v) || v instanceof Uint8Array) && v.length === 0) return undefined;
  return v;
}

/** One row of `endpoint status`. */
export interface StatusRow {
  endpoint: string; id: bigint; version: string; dbSize: number; isLeader: boolean; isLearner: boolean;
  raftTerm: number; raftIndex: number; raftAppliedIndex: number; errors: string[];
}

/** The `endpoint status -w table` table, exactly as etcdctl 3.4 prints it (for the toolkit too). */
export function renderStatusTable(rows: StatusRow[]): string {
  return renderTable(
    ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'],
    rows.map((r) => [
      r.endpoint, r.id.toString(16), r.version, humanizeBytes(r.dbSize), String(r.isLeader), String(r.isLearner),
      String(r.raftTerm), String(r.raftIndex), String(r.raftAppliedIndex), r.errors.join(', '),
    ]),
  );
}
