/**
 * `quorum certs check`: the certificates actually installed on every member (read over SSH, not the
 * operator's copies) and the operator's client certificate, with days left and problems.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '../../toolkit/connectors/types.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { bundleInfo, signedBy, splitPemBundle, type CertInfo } from '../../toolkit/pki/index.js';
import { readInstalled } from './remote.js';

/** One certificate row. `daysLeft` is fractional (negative when expired). */
export interface CertRow {
  host: string;
  cert: 'ca' | 'server' | 'peer' | 'client';
  subject: string;
  sans: string[];
  serial: string;
  notAfter: string;
  daysLeft: number;
  /** What is wrong besides the lifetime: missing file, SANs without the member's address, unknown issuer. */
  problems: string[];
}

const DAY_MS = 86_400_000;

function row(host: string, cert: CertRow['cert'], info: CertInfo, now: number): CertRow {
  return {
    host, cert, subject: info.subject, sans: [...info.dnsNames, ...info.ips], serial: info.serial,
    notAfter: info.notAfter.toISOString(), daysLeft: (info.notAfter.getTime() - now) / DAY_MS, problems: [],
  };
}

function missing(host: string, cert: CertRow['cert'], what: string): CertRow {
  return { host, cert, subject: '', sans: [], serial: '', notAfter: '', daysLeft: Number.NEGATIVE_INFINITY, problems: [what] };
}

/**
 * Rows for one member from the installed PEM files: every CA of its bundle, its server and peer
 * certificates (problems: missing, SANs lacking the member's inventory address, not signed by a CA the
 * member trusts).
 */
export function memberRows(host: HostSpec, files: { ca?: string; server?: string; peer?: string }, now = Date.now()): CertRow[] {
  const out: CertRow[] = [];
  const cas = files.ca ? splitPemBundle(files.ca) : [];
  if (!files.ca) out.push(missing(host.name, 'ca', 'ca.pem missing'));
  else for (const info of bundleInfo(files.ca)) out.push(row(host.name, 'ca', info, now));
  for (const kind of ['server', 'peer'] as const) {
    const pem = files[kind];
    if (!pem) {
      out.push(missing(host.name, kind, `${kind}.pem missing`));
      continue;
    }
    const r = row(host.name, kind, bundleInfo(pem)[0]!, now);
    if (!r.sans.includes(host.address)) r.problems.push(`SANs lack ${host.address} (fix: quorum certs rotate)`);
    if (!cas.some((ca) => signedBy(pem, ca))) r.problems.push('not signed by a trusted CA');
    out.push(r);
  }
  return out;
}

/** The operator's client certificate row (from the pki dir). */
export function operatorRows(inv: Inventory, now = Date.now()): CertRow[] {
  const p = join(inv.pki.dir, 'client.pem');
  if (!existsSync(p)) return [missing('operator', 'client', `${p} missing`)];
  return [row('operator', 'client', bundleInfo(readFileSync(p, 'utf8'))[0]!, now)];
}

/** Reads every member's installed certificates in parallel; an unreachable member gives one problem row. */
export async function gatherRows(inv: Inventory, conns: Map<string, Connector>, now = Date.now()): Promise<CertRow[]> {
  const per = await Promise.all(inv.hosts.map(async (h) => {
    try {
      return memberRows(h, await readInstalled(conns.get(h.name)!, inv), now);
    } catch (e) {
      return [missing(h.name, 'server', `cannot read: ${(e as Error).message}`)];
    }
  }));
  return [...per.flat(), ...operatorRows(inv, now)];
}

/** Rows that need attention: fewer than `warnDays` left, or a problem. */
export function failingRows(rows: CertRow[], warnDays: number): CertRow[] {
  return rows.filter((r) => r.daysLeft < warnDays || r.problems.length > 0);
}

/** Days left as text: whole days from 2 on, two decimals below (short test lifetimes), `expired` below 0. */
export function formatDays(d: number): string {
  if (!Number.isFinite(d) || d < 0) return 'expired';
  return d >= 2 ? String(Math.floor(d)) : d.toFixed(2);
}

/** The table: HOST | CERT | SUBJECT | SANS | SERIAL | NOT AFTER | DAYS LEFT | PROBLEMS. */
export function formatRows(rows: CertRow[]): string {
  const head = ['HOST', 'CERT', 'SUBJECT', 'SANS', 'SERIAL', 'NOT AFTER', 'DAYS LEFT', 'PROBLEMS'];
  const body = rows.map((r) => [r.host, r.cert, r.subject, r.sans.join(','), r.serial, r.notAfter, r.problems.length && !r.notAfter ? '-' : formatDays(r.daysLeft), r.problems.join('; ')]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(head), ...body.map(line)].join('\n')}\n`;
}
