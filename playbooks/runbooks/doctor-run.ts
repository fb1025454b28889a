/**
 * The doctor's apply step (I/O): runs the probes of `planDoctor` on every host over its connector, reads
 * statuses, membership and certificates, then prints `diagnose`'s findings (doctor-diagnose.ts).
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type CertRow, memberRows, operatorRows } from '../rotate-certs/check.js';
import { readInstalled } from '../rotate-certs/remote.js';
import { DEFAULT_THRESHOLDS, type DoctorFacts, type DoctorThresholds, type Finding, diagnose, formatFindings } from './doctor-diagnose.js';
import { type HostProbe, parseProbeOutput, probeScript } from './doctor-probes.js';
import { planDoctor } from './doctor.js';
import { gatherClusterFacts } from './facts.js';
import { formatRunbookPlan } from './steps.js';

/** Runs the probe script on one host; a host that cannot be reached gives a probe with `error`. */
async function probeHost(inv: Inventory, h: HostSpec, conn: Connector): Promise<HostProbe> {
  try {
    const r = await conn.run('bash -s', { sudo: true, stdin: probeScript(inv) });
    if (r.code !== 0) return { ...parseProbeOutput(h.name, r.stdout), error: `probe script exit ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}` };
    return parseProbeOutput(h.name, r.stdout);
  } catch (e) {
    return { host: h.name, error: (e as Error).message.split('\n')[0]!, resolve: {}, ports: [], dataDir: { present: false } };
  }
}

/** Reads the installed certificates on one host (empty when unreachable: the ssh finding covers it). */
async function certsOf(inv: Inventory, h: HostSpec, conn: Connector, now: number): Promise<CertRow[]> {
  try {
    return memberRows(h, await readInstalled(conn, inv), now);
  } catch {
    return [];
  }
}

/** Options of `runDoctor`. */
export interface RunDoctorOptions {
  connectorFor: (h: HostSpec) => Connector;
  out?: (text: string) => void;
  dryRun?: boolean;
  thresholds?: Partial<DoctorThresholds>;
  now?: Date;
}

/**
 * `quorum runbook doctor`: prints the plan, gathers the facts (probes on every host in parallel, statuses and
 * membership over mTLS, certificates), prints the findings. Returns them ([] = healthy; dry run: []).
 * Never throws for unreachable hosts or members (they are findings).
 */
export async function runDoctor(inv: Inventory, o: RunDoctorOptions): Promise<{ findings: Finding[]; facts?: DoctorFacts; seconds: number }> {
  const t0 = Date.now();
  const out = o.out ?? ((t: string) => { process.stdout.write(t); });
  const cluster = await gatherClusterFacts(inv);
  out(formatRunbookPlan(inv, planDoctor(inv, cluster)));
  if (o.dryRun) {
    out('dry run: nothing probed\n');
    return { findings: [], seconds: (Date.now() - t0) / 1000 };
  }
  const now = (o.now ?? new Date()).getTime();
  const per = await Promise.all(inv.hosts.map(async (h) => {
    const conn = o.connectorFor(h);
    try {
      const probe = await probeHost(inv, h, conn);
      const certs = probe.error ? [] : await certsOf(inv, h, conn, now);
      return { probe, certs };
    } finally {
      await conn.close().catch(() => undefined);
    }
  }));
  let operator: CertRow[] = [];
  try {
    operator = operatorRows(inv, now);
  } catch (e) {
    operator = [{ host: 'operator', cert: 'client', subject: '', sans: [], serial: '', notAfter: '', daysLeft: Number.NEGATIVE_INFINITY, problems: [(e as Error).message] }];
  }
  const facts: DoctorFacts = { cluster, probes: per.map((p) => p.probe), certs: [...per.flatMap((p) => p.certs), ...operator] };
  const findings = diagnose(inv, facts, { ...DEFAULT_THRESHOLDS, ...o.thresholds });
  out(formatFindings(findings));
  const seconds = (Date.now() - t0) / 1000;
  out(`runbook doctor done in ${seconds.toFixed(1)} s\n`);
  return { findings, facts, seconds };
}
