/**
 * The doctor's diagnosis: a pure function from gathered facts (the probes each host ran on itself, every
 * member's Status and the membership over mTLS, the installed certificates) to findings, each naming the
 * host(s), what is wrong and the runbook or command that fixes it. The causes are those the reference articles
 * list for a cluster that will not form or keeps failing: peer port blocked (`nc -zv host 2380`), wrong
 * address in peer URLs, leftover data dir from a failed bootstrap, host name not resolving, slow disk
 * (leader election flapping; etcd's tuning guide, https://etcd.io/docs/v3.4/tuning/), NOSPACE and CORRUPT
 * alarms, certificates near expiry.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import type { CertRow } from '../rotate-certs/check.js';
import { formatDays } from '../rotate-certs/check.js';
import { type HostProbe, histogramQuantile, PORT_PROBE_TIMEOUT_S } from './doctor-probes.js';
import type { ClusterFacts } from './facts.js';
import { peerUrlOf } from './steps.js';

/** The checks, in report order (also the `check` of each finding). */
export const DOCTOR_CHECKS = ['ssh', 'members', 'ports', 'peer-urls', 'data-dirs', 'resolve', 'disk', 'leader', 'alarms', 'certs'] as const;
export type DoctorCheck = (typeof DOCTOR_CHECKS)[number];

/** One problem. `error`: the cluster is (or will be) broken; `warn`: degraded or about to be. */
export interface Finding { check: DoctorCheck; severity: 'error' | 'warn'; hosts: string[]; what: string; fix: string }

/** Thresholds of the diagnosis (the CLI's defaults). */
export interface DoctorThresholds {
  /** WAL fsync p99 (metric) or mean dsync write (probe) above this is slow, ms (etcd: keep p99 under 10 ms). */
  fsyncWarnMs: number;
  /** Certificates with fewer days left are reported. */
  certWarnDays: number;
  /** Leader changes since quorumd started, at least this many AND more than one per 10 minutes, is flapping. */
  leaderChangesWarn: number;
}

export const DEFAULT_THRESHOLDS: DoctorThresholds = { fsyncWarnMs: 10, certWarnDays: 30, leaderChangesWarn: 5 };

/** Everything the diagnosis reads. */
export interface DoctorFacts {
  cluster: ClusterFacts;
  /** One per inventory host, in inventory order. */
  probes: HostProbe[];
  /** Rows of `quorum certs check` (playbooks/rotate-certs/check.ts); undefined = not gathered. */
  certs?: CertRow[];
}

/** Rounds `ms` up to a multiple of `step`. */
const roundUp = (ms: number, step: number) => Math.ceil(ms / step) * step;

/**
 * Timeouts to suggest for a slow disk, ms: a heartbeat that is not held up behind fsyncs (at least 10 x the
 * fsync p99, rounded up to 50 ms, never below the current value) and an election timeout of at least 10 x the
 * heartbeat (etcd's tuning guide: heartbeat about the round-trip time including the disk, election timeout at
 * least 10 x that; the inventory also requires election >= 5 x heartbeat).
 */
export function suggestTimeouts(p99Ms: number, current: { heartbeatIntervalMs: number; electionTimeoutMs: number }): { heartbeatMs: number; electionMs: number } {
  const heartbeatMs = Math.max(current.heartbeatIntervalMs, roundUp(10 * p99Ms, 50));
  const electionMs = Math.max(current.electionTimeoutMs, 10 * heartbeatMs);
  return { heartbeatMs, electionMs };
}

/** Diagnoses `facts` against `inv`; an empty list means nothing is wrong. */
export function diagnose(inv: Inventory, facts: DoctorFacts, t: DoctorThresholds = DEFAULT_THRESHOLDS): Finding[] {
  const out: Finding[] = [];
  const f = (check: DoctorCheck, severity: Finding['severity'], hosts: string[], what: string, fix: string) => out.push({ check, severity, hosts, what, fix });
  const file = inv.file;
  const c = inv.cluster;
  const probeOf = (name: string) => facts.probes.find((p) => p.host === name);
  const reached = facts.probes.filter((p) => !p.error);
  const membership = facts.cluster.membership;
  const byAddress = new Map(inv.hosts.map((h) => [h.address, h.name]));

  // ssh: a host the doctor could not inspect
  for (const p of facts.probes.filter((x) => x.error)) {
    f('ssh', 'error', [p.host], `cannot run the probes over SSH: ${p.error}`,
      `check that the host is up and reachable (ssh ${inv.hosts.find((h) => h.name === p.host)?.address ?? p.host}); if it is gone for good: quorum runbook replace-member -i ${file} --member ${p.host}`);
  }

  // members: answering over mTLS
  const answering = facts.cluster.statuses.filter((s) => s.status);
  if (answering.length === 0) {
    f('members', 'error', inv.hosts.map((h) => h.name), 'no member answers on its client port',
      `if the data is still on the hosts: quorum runbook recover-quorum -i ${file}; if every data dir is lost: quorum runbook restore -i ${file} --snapshot BACKUP`);
  } else {
    for (const s of facts.cluster.statuses.filter((x) => !x.status)) {
      const p = probeOf(s.name);
      const why = p?.corruption ? `; quorumd reports: ${p.corruption}` : p?.unit && p.unit !== 'active' ? `; quorumd.service is ${p.unit}` : '';
      const corrupt = !!p?.corruption;
      f('members', 'error', [s.name], `not answering on ${s.endpoint} (${s.error ?? 'no answer'})${why}`,
        corrupt ? `its data is corrupt: quorum runbook replace-member -i ${file} --member ${s.name} (or reset-member while it is still in the membership)`
          : `systemctl status quorumd / journalctl -u quorumd on ${s.name}; if its data dir is lost or it crash-loops: quorum runbook replace-member -i ${file} --member ${s.name}`);
    }
  }

  // ports: from each host to every other member's peer and client ports
  const failures = new Map<string, { port: number; target: string; from: string[]; timedOut: boolean }>();
  for (const p of reached) {
    for (const pr of p.ports.filter((x) => x.code !== 0)) {
      const target = byAddress.get(pr.address) ?? pr.address;
      const k = `${target}:${pr.port}`;
      const e = failures.get(k) ?? { port: pr.port, target, from: [], timedOut: false };
      e.from.push(p.host);
      e.timedOut ||= pr.code === 124;
      failures.set(k, e);
    }
  }
  for (const e of failures.values()) {
    const addr = inv.hosts.find((h) => h.name === e.target)?.address ?? e.target;
    const kind = e.port === c.peerPort ? 'peer' : e.port === c.clientPort ? 'client' : '';
    const how = e.timedOut ? `timed out after ${PORT_PROBE_TIMEOUT_S} s: a firewall drops it` : 'connection refused: nothing listens';
    f('ports', 'error', [e.target], `${kind} port ${e.port} on ${e.target} (${addr}) is not reachable from ${e.from.join(', ')} (${how})`,
      e.timedOut
        ? `on ${e.target}: nft list ruleset (allow tcp dport ${e.port} from the members); quorum provision -i ${file} re-applies the cluster's firewall table; test with nc -zv ${addr} ${e.port}`
        : `start quorumd on ${e.target} (systemctl status quorumd); if it cannot start: quorum runbook replace-member -i ${file} --member ${e.target}`);
  }

  // peer-urls: the membership against the inventory
  if (membership) {
    for (const m of membership) {
      const h = inv.hosts.find((x) => x.name === m.name);
      if (!h) {
        f('peer-urls', 'error', [m.name || m.id], `member ${m.name || '(unstarted)'} (ID ${m.id}, peer URLs ${m.peerUrls.join(',')}) is in the membership but not in the inventory`,
          `add the host to ${file} and run quorum provision -i ${file}, or remove it: quorumctl member remove ${m.id}`);
        continue;
      }
      const want = peerUrlOf(inv, m.name);
      if (m.peerUrls.length !== 1 || m.peerUrls[0] !== want) {
        f('peer-urls', 'error', [m.name], `peer URLs ${m.peerUrls.join(',') || '(none)'} do not match the inventory's ${want}`,
          `quorum runbook replace-member -i ${file} --member ${m.name} (re-adds it with the inventory's peer URL)`);
      }
      if (m.isLearner) f('peer-urls', 'warn', [m.name], 'is still a learner (not voting)', `quorumctl member promote ${m.id}, or quorum runbook replace-member -i ${file} --member ${m.name}`);
    }
    for (const h of inv.hosts.filter((x) => !membership.some((m) => m.name === x.name || m.peerUrls.includes(peerUrlOf(inv, x.name))))) {
      f('peer-urls', 'error', [h.name], 'is in the inventory but not a member of the cluster',
        `quorum runbook replace-member -i ${file} --member ${h.name} (adds it), or quorum provision -i ${file}`);
    }
  }

  // data-dirs: the data dir on each host against the membership
  if (membership) {
    const ids = new Set(membership.map((m) => m.id));
    for (const p of reached) {
      const m = membership.find((x) => x.name === p.host);
      const dd = p.dataDir;
      if (!m) {
        if (dd.walMemberId) {
          f('data-dirs', 'error', [p.host], `leftover data dir ${c.dataDir} (member ID ${dd.walMemberId}) on a host that is not a member: quorumd would start from stale state`,
            `quorum runbook replace-member -i ${file} --member ${p.host} (sets it aside and joins as a new member)`);
        }
        continue;
      }
      const answered = facts.cluster.statuses.find((s) => s.name === p.host)?.status;
      if (!dd.walMemberId) {
        if (!answered) {
          f('data-dirs', 'error', [p.host], `member ${m.id} has ${dd.present ? 'an empty data dir (no WAL)' : `no data dir ${c.dataDir}`}: its data is lost`,
            `quorum runbook replace-member -i ${file} --member ${p.host}`);
        }
      } else if (dd.walMemberId !== m.id) {
        const known = ids.has(dd.walMemberId) ? `member ${dd.walMemberId} of this cluster` : `member ID ${dd.walMemberId}, which is not in the membership`;
        f('data-dirs', 'error', [p.host], `data dir ${c.dataDir} belongs to ${known}, but ${p.host} is member ${m.id}: leftover from an earlier bootstrap`,
          `quorum runbook reset-member -i ${file} --member ${p.host}`);
      }
    }
  }

  // resolve: every inventory name, on every host, to its inventory address
  for (const h of inv.hosts) {
    const none = reached.filter((p) => p.resolve[h.name] === undefined && Object.keys(p.resolve).length > 0).map((p) => p.host);
    const wrong = reached.filter((p) => p.resolve[h.name] !== undefined && p.resolve[h.name] !== h.address);
    if (none.length) f('resolve', 'error', none, `${h.name} does not resolve`, `quorum provision -i ${file} (writes every member into /etc/hosts)`);
    for (const p of wrong) {
      f('resolve', 'error', [p.host], `${h.name} resolves to ${p.resolve[h.name]}, not the inventory's ${h.address}`,
        `fix /etc/hosts or DNS on ${p.host}; quorum provision -i ${file} rewrites the cluster's /etc/hosts entries`);
    }
  }

  // disk: WAL fsync latency
  for (const p of reached) {
    const hs = inv.hosts.find((h) => h.name === p.host)?.store ?? c.store;
    const b = p.metrics?.walFsyncBuckets ?? [];
    const samples = b.at(-1)?.[1] ?? 0;
    const p99 = samples >= 100 ? histogramQuantile(0.99, b) : undefined;
    const p99Ms = p99 === undefined ? undefined : p99 * 1000;
    const measured = [p99Ms !== undefined ? `WAL fsync p99 ${p99Ms.toFixed(1)} ms over ${samples} fsyncs (etcd_disk_wal_fsync_duration_seconds)` : '',
      p.fsyncMeanMs !== undefined ? `${p.fsyncMeanMs.toFixed(1)} ms per dsync write measured in ${c.dataDir}` : ''].filter(Boolean).join(', ');
    const worst = Math.max(p99Ms ?? 0, p.fsyncMeanMs ?? 0);
    if (worst > t.fsyncWarnMs) {
      const s = suggestTimeouts(worst, hs);
      f('disk', 'warn', [p.host], `slow disk: ${measured} (above ${t.fsyncWarnMs} ms): heartbeats wait behind fsyncs and elections flap`,
        `move ${c.dataDir} to a faster (SSD) disk not shared with other I/O; or set heartbeat-interval: ${s.heartbeatMs} and election-timeout: ${s.electionMs} in ${file} and run quorum provision -i ${file}`);
    }
  }

  // leader: no leader, disputed leader, frequent leader changes
  const leaders = new Set(answering.filter((s) => s.status!.leader !== 0n).map((s) => s.status!.leader));
  const noLeader = answering.filter((s) => s.status!.leader === 0n).map((s) => s.name);
  if (noLeader.length) {
    f('leader', 'error', noLeader, 'has no leader', answering.length < Math.floor(inv.hosts.length / 2) + 1
      ? `a majority is gone: quorum runbook recover-quorum -i ${file}` : 'check the peer ports (above) and the members\' logs (journalctl -u quorumd)');
  }
  if (leaders.size > 1) f('leader', 'error', answering.map((s) => s.name), `members name different leaders (${[...leaders].map((l) => l.toString(16)).join(', ')})`, 'a split cluster: check the peer URLs and the cluster IDs; quorum runbook recover-quorum');
  for (const p of reached) {
    const m = p.metrics;
    if (m?.leaderChanges === undefined || m.startTime === undefined || p.now === undefined) continue;
    const minutes = Math.max((p.now - m.startTime) / 60, 1);
    if (m.leaderChanges >= t.leaderChangesWarn && m.leaderChanges / minutes > 1 / 10) {
      f('leader', 'warn', [p.host], `${m.leaderChanges} leader changes in ${minutes.toFixed(0)} minutes since quorumd started (etcd_server_leader_changes_seen_total): elections are flapping`,
        'check the disk (fsync latency above) and the network between members; raise heartbeat-interval and election-timeout in the inventory, then quorum provision');
    }
  }

  // alarms
  for (const s of answering) {
    for (const e of s.status!.errors) {
      if (/NOSPACE|space exceeded/i.test(e)) f('alarms', 'error', [s.name], `NOSPACE alarm active (${e.trim()}): writes fail with "database space exceeded"`, `quorum runbook nospace -i ${file}`);
      else if (/CORRUPT/i.test(e)) f('alarms', 'error', [s.name], `CORRUPT alarm active (${e.trim()})`, `quorum runbook reset-member -i ${file} --member ${s.name}`);
      else f('alarms', 'error', [s.name], `reports an error: ${e.trim()}`, `journalctl -u quorumd on ${s.name}`);
    }
  }

  // certs: near expiry or otherwise wrong
  for (const r of facts.certs ?? []) {
    if (r.problems.length === 0 && r.daysLeft >= t.certWarnDays) continue;
    const expired = !Number.isFinite(r.daysLeft) || r.daysLeft < 0;
    const life = r.notAfter ? (expired ? `expired ${r.notAfter}` : `expires ${r.notAfter} (${formatDays(r.daysLeft)} days left)`) : '';
    f('certs', expired || r.problems.length ? 'error' : 'warn', [r.host], `${r.cert} certificate ${[life, ...r.problems].filter(Boolean).join('; ')}`,
      r.cert === 'ca' ? `quorum certs rotate -i ${file} --ca` : `quorum certs rotate -i ${file}`);
  }

  return out.sort((a, b) => DOCTOR_CHECKS.indexOf(a.check) - DOCTOR_CHECKS.indexOf(b.check));
}

/** The report: one block per finding (`ERROR [ports] etcd-02: ...` then `  fix: ...`) and a summary line. */
export function formatFindings(findings: Finding[]): string {
  if (findings.length === 0) return 'doctor: no problems found\n';
  const lines = findings.map((x) => `${x.severity === 'error' ? 'ERROR' : 'WARN '} [${x.check}] ${x.hosts.join(', ')}: ${x.what}\n      fix: ${x.fix}`);
  const errors = findings.filter((x) => x.severity === 'error').length;
  return `${lines.join('\n')}\ndoctor: ${findings.length} problem(s): ${errors} error(s), ${findings.length - errors} warning(s)\n`;
}
