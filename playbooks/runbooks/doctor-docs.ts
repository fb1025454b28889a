/** The doctor's extra section of docs/runbooks/doctor.md: the checks, and the findings of the example facts. */
import { DOCTOR_CHECKS, diagnose, formatFindings } from './doctor-diagnose.js';
import { exampleDoctorFacts } from './doctor-examples.js';
import { exampleInventory } from './examples.js';

const CHECKS: Record<(typeof DOCTOR_CHECKS)[number], string> = {
  ssh: 'every host runs the probes over SSH',
  members: 'every member answers Status on its client port; a member that refuses to start because its data is corrupt is named with the journal line',
  ports: 'from every host, TCP to every other member\'s peer and client port (`timeout 3 bash -c \'</dev/tcp/ADDR/PORT\'`, like `nc -zv ADDR PORT`); a timeout means a firewall drops it, a refusal that nothing listens',
  'peer-urls': 'the membership\'s peer URLs equal the inventory\'s `https://ADDR:PEER_PORT`; no member outside the inventory, no inventory host outside the membership, no learner left behind',
  'data-dirs': 'the member ID in each host\'s WAL (first segment\'s metadata record) is that host\'s member ID; no data dir on a host that is not a member',
  resolve: 'on every host, every inventory host name resolves to its inventory address',
  disk: 'WAL fsync p99 from `etcd_disk_wal_fsync_duration_seconds` (at least 100 fsyncs) and 100 `dd oflag=dsync` writes in the data dir: above 10 ms is slow; suggests heartbeat-interval (10 x p99, rounded up to 50 ms) and election-timeout (10 x heartbeat) as etcd\'s tuning guide reasons',
  leader: 'every member has the same leader; `etcd_server_leader_changes_seen_total` at least 5 and more than one per 10 minutes of uptime is flapping',
  alarms: 'no NOSPACE or CORRUPT alarm (the Status errors)',
  certs: 'the installed CA, server and peer certificates and the operator\'s client certificate (the rows of `quorum certs check`): fewer than 30 days left, expired, wrong SANs or issuer',
};

/** Markdown lines. */
export function doctorDocSection(): string[] {
  const inv = exampleInventory();
  return ['## Checks', '', ...DOCTOR_CHECKS.map((c) => `- **${c}**: ${CHECKS[c]}`), '',
    '## Example findings', '', 'etcd-02\'s peer port dropped by a firewall, etcd-03\'s disk slow, etcd-01\'s server certificate expiring (exit code 1):', '',
    '```', formatFindings(diagnose(inv, exampleDoctorFacts())).trimEnd(), '```', ''];
}
