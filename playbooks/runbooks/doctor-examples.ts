/**
 * Example facts for the doctor (docs/runbooks/doctor.md shows the findings made from them; the unit tests
 * start from them): the lab's three members, healthy, as the probes report them, and a builder to inject one
 * failure at a time. Fixed values: the output is deterministic.
 */
import type { CertRow } from '../rotate-certs/check.js';
import type { DoctorFacts } from './doctor-diagnose.js';
import type { HostProbe } from './doctor-probes.js';
import { examples } from './examples.js';

const NAMES = ['etcd-01', 'etcd-02', 'etcd-03'];
const ADDRS = ['10.88.0.11', '10.88.0.12', '10.88.0.13'];
/** Unix time of the examples (2026-11-21T03:00:00Z). */
export const EXAMPLE_NOW_S = 1_795_230_000;

/** A healthy member's probe: resolves everyone, reaches every other member, its own WAL, fast disk, metrics. */
export function healthyProbe(i: number): HostProbe {
  const ids = examples().backup.facts.membership!.map((m) => m.id);
  return {
    host: NAMES[i]!,
    resolve: Object.fromEntries(NAMES.map((n, j) => [n, ADDRS[j]])),
    ports: ADDRS.flatMap((a, j) => (j === i ? [] : [{ address: a, port: 2380, code: 0 }, { address: a, port: 2379, code: 0 }])),
    dataDir: { present: true, walMemberId: ids[i]!, walClusterId: '1c9b0a3d2b5e6f70' },
    fsyncMeanMs: 1.8,
    metrics: { walFsyncBuckets: [[0.001, 400], [0.002, 980], [0.004, 1000], [Number.POSITIVE_INFINITY, 1000]], leaderChanges: 1, startTime: EXAMPLE_NOW_S - 86_400 },
    now: EXAMPLE_NOW_S,
    unit: 'active',
  };
}

/** A certificate row with `days` left. */
export function certRow(host: string, cert: CertRow['cert'], days: number): CertRow {
  return {
    host, cert, subject: `CN=${host}`, sans: [], serial: '01', daysLeft: days,
    notAfter: new Date((EXAMPLE_NOW_S + days * 86_400) * 1000).toISOString(), problems: [],
  };
}

/** The healthy cluster's doctor facts. */
export function healthyDoctorFacts(): DoctorFacts {
  return {
    cluster: examples().backup.facts,
    probes: [0, 1, 2].map(healthyProbe),
    certs: [...NAMES.flatMap((n) => [certRow(n, 'ca', 3650), certRow(n, 'server', 300), certRow(n, 'peer', 300)]), certRow('operator', 'client', 300)],
  };
}

/** The docs' example: etcd-02's port 2380 dropped by a firewall, etcd-03's disk slow, etcd-01's server cert expiring. */
export function exampleDoctorFacts(): DoctorFacts {
  const f = healthyDoctorFacts();
  for (const p of f.probes) for (const pr of p.ports) if (pr.address === ADDRS[1] && pr.port === 2380) pr.code = 124;
  f.probes[2]!.fsyncMeanMs = 23.4;
  f.certs = f.certs!.map((r) => (r.host === 'etcd-01' && r.cert === 'server' ? certRow('etcd-01', 'server', 12) : r));
  return f;
}
