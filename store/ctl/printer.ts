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

// ---------------------------------------------------------------------------------------------------------
// Shared output helpers for command files (etcdctl 3.4 ctlv3/command/printer*.go behaviour).
// ---------------------------------------------------------------------------------------------------------

/** etcdctl's exit codes (ctlv3/command/error.go). */
export const ExitCode = { Success: 0, Error: 1, BadConnection: 2, InvalidInput: 3, BadFeature: 4, Interrupted: 5, IO: 6, BadArgs: 128 } as const;

/** The output formats of `-w/--write-out`. */
export type OutputFormat = 'simple' | 'json' | 'protobuf' | 'fields' | 'table';

/** The error etcdctl raises for a command without a printer for the format: "<format> not supported as output format", exit 4. */
export class UnsupportedFormatError extends Error {
  readonly code = ExitCode.BadFeature;
  constructor(format: string) {
    super(`${format} not supported as output format`);
    this.name = 'UnsupportedFormatError';
  }
}

/**
 * Print one response in the selected format: calls the renderer for `format` and writes its text to `out`.
 * A format without a renderer throws UnsupportedFormatError (exit 4), as etcdctl's printerUnsupported does.
 * Renderers return the complete text (simple/json/fields/table end with "\n"; protobuf is raw bytes, no newline).
 */
export function display(
  format: OutputFormat,
  out: (s: string | Uint8Array) => void,
  r: Partial<Record<OutputFormat, () => string | Uint8Array>>,
): void {
  const f = r[format];
  if (!f) throw new UnsupportedFormatError(format);
  out(f());
}

/** Go's strconv.Quote / fmt %q of string(bytes): ASCII escapes, invalid UTF-8 bytes as \xNN. */
export function goQuote(v: string | Uint8Array): string {
  const buf = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  const text = buf.toString('utf8');
  const valid = Buffer.from(text, 'utf8').equals(buf);
  let s = '"';
  const esc: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 34: '\\"', 92: '\\\\' };
  if (valid) {
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      if (esc[c]) s += esc[c];
      else if (c < 0x20 || c === 0x7f) s += '\\x' + c.toString(16).padStart(2, '0');
      else if (c >= 0x80 && c < 0xa0) s += '\\u' + c.toString(16).padStart(4, '0');
      else s += ch;
    }
  } else {
    for (const c of buf) {
      if (esc[c]) s += esc[c];
      else if (c < 0x20 || c >= 0x7f) s += '\\x' + c.toString(16).padStart(2, '0');
      else s += String.fromCharCode(c);
    }
  }
  return s + '"';
}

/** The header lines of etcdctl's `fields` format. */
export function fieldsHeader(h: { clusterId: bigint; memberId: bigint; revision: number; raftTerm: number }): string {
  return `"ClusterID" : ${h.clusterId}\n"MemberID" : ${h.memberId}\n"Revision" : ${h.revision}\n"RaftTerm" : ${h.raftTerm}\n`;
}

/** One KeyValue in etcdctl's `fields` format, field names prefixed with `pfx` ("" or "Prev"). */
export function fieldsKv(pfx: string, kv: { key: Uint8Array; createRevision: number; modRevision: number; version: number; value: Uint8Array; lease: bigint }): string {
  return `"${pfx}Key" : ${goQuote(kv.key)}\n"${pfx}CreateRevision" : ${kv.createRevision}\n"${pfx}ModRevision" : ${kv.modRevision}\n` +
    `"${pfx}Version" : ${kv.version}\n"${pfx}Value" : ${goQuote(kv.value)}\n"${pfx}Lease" : ${kv.lease}\n`;
}

/**
 * A minimal protobuf writer for `-w protobuf` (etcdctl prints the response message's binary encoding, no newline).
 * Proto3 rules: zero scalars and empty bytes/strings are not written; int64 negatives as 10-byte varints.
 */
export class PbWriter {
  private readonly parts: Buffer[] = [];

  private key(field: number, wire: number): void {
    this.raw(BigInt((field << 3) | wire));
  }

  private raw(v: bigint): void {
    if (v < 0n) v += 1n << 64n;
    const bytes: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      bytes.push(b);
    } while (v !== 0n);
    this.parts.push(Buffer.from(bytes));
  }

  /** A varint field (int32/int64/uint64/bool/enum); skipped when zero. */
  varint(field: number, v: number | bigint | boolean): this {
    const n = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
    if (n === 0n) return this;
    this.key(field, 0);
    this.raw(n);
    return this;
  }

  /** A bytes/string field; skipped when empty unless `always` (repeated elements are always written). */
  bytes(field: number, v: string | Uint8Array, always = false): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
    if (b.length === 0 && !always) return this;
    this.key(field, 2);
    this.raw(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  /** An embedded message field (written when present, even if empty). */
  message(field: number, m: PbWriter | undefined): this {
    if (!m) return this;
    return this.bytes(field, m.finish(), true);
  }

  /** The encoded message. */
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** etcdserverpb.ResponseHeader as a PbWriter. */
export function pbHeader(h: { clusterId: bigint; memberId: bigint; revision: number; raftTerm: number }): PbWriter {
  return new PbWriter().varint(1, h.clusterId).varint(2, h.memberId).varint(3, h.revision).varint(4, h.raftTerm);
}

/** mvccpb.KeyValue as a PbWriter. */
export function pbKv(kv: { key: Uint8Array; createRevision: number; modRevision: number; version: number; value: Uint8Array; lease: bigint }): PbWriter {
  return new PbWriter().bytes(1, kv.key).varint(2, kv.createRevision).varint(3, kv.modRevision).varint(4, kv.version).bytes(5, kv.value).varint(6, kv.lease);
}
