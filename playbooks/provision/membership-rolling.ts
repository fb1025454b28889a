/**
 * Rolling-change ordering (pure: no I/O). Members whose setting changed in a way that needs a restart are
 * restarted one at a time, followers first (inventory order) and the leader last, with leadership moved to an
 * already-restarted healthy follower before the leader's restart; each restart is followed by a health gate.
 * Nothing is planned when nothing changed. Used by provision (changed settings) and upgrade (release switch).
 */
import type { HostSpec, StoreSettings } from '../../toolkit/inventory/types.js';

/** One rolling step. */
export type RollingStep =
  | { op: 'gate'; host: 'cluster'; why: string }
  | { op: 'restart'; host: string; reasons: string[] }
  | { op: 'move-leader'; host: string; to: string };

/** A member and why it needs a restart (empty: unchanged). */
export interface RollingMember {
  name: string;
  reasons: string[];
  healthy?: boolean;
}

/**
 * The ordered steps: gate, then per changed follower restart + gate, then (when the leader changed) move
 * leadership to the first restarted follower (or any healthy other member) + restart leader + gate.
 * Returns [] when no member has a reason. Throws Error when the leader must restart but is the only member
 * (a single-member cluster restarts without a move: that is allowed and planned without `move-leader`).
 */
export function planRollingRestart(members: RollingMember[], leader?: string): RollingStep[] {
  const changed = members.filter((m) => m.reasons.length);
  if (!changed.length) return [];
  const steps: RollingStep[] = [{ op: 'gate', host: 'cluster', why: 'before restarts' }];
  const followers = changed.filter((m) => m.name !== leader);
  for (const m of followers) {
    steps.push({ op: 'restart', host: m.name, reasons: m.reasons });
    steps.push({ op: 'gate', host: 'cluster', why: `after restarting ${m.name}` });
  }
  const lead = changed.find((m) => m.name === leader);
  if (lead) {
    const target = followers[0]?.name ?? members.find((m) => m.name !== leader && m.healthy !== false)?.name;
    if (target) {
      steps.push({ op: 'move-leader', host: lead.name, to: target });
      steps.push({ op: 'gate', host: 'cluster', why: `after moving leadership to ${target}` });
    }
    steps.push({ op: 'restart', host: lead.name, reasons: lead.reasons });
    steps.push({ op: 'gate', host: 'cluster', why: `after restarting ${lead.name}` });
  }
  return steps;
}

/** Settings whose change needs a restart, with etcd's names. */
const RESTART_KEYS: [keyof StoreSettings, string][] = [
  ['heartbeatIntervalMs', 'heartbeat-interval'], ['electionTimeoutMs', 'election-timeout'],
  ['quotaBackendBytes', 'quota-backend-bytes'], ['logLevel', 'log-level'],
];

/**
 * Why member `after` needs a restart compared with `before` (its previous inventory entry): changed store
 * settings (timeouts, quota, log level) and changed address (URLs). [] when nothing that matters changed.
 */
export function restartReasons(before: HostSpec, after: HostSpec): string[] {
  const r: string[] = [];
  for (const [k, name] of RESTART_KEYS) {
    if (before.store[k] !== after.store[k]) r.push(`${name} ${String(before.store[k])} -> ${String(after.store[k])}`);
  }
  if (before.address !== after.address) r.push(`URLs ${before.address} -> ${after.address}`);
  return r;
}

/** `--dry-run` lines of a rolling plan ("nothing to restart" when empty). */
export function formatRollingPlan(steps: RollingStep[]): string {
  if (!steps.length) return 'rolling restart: nothing to restart\n';
  const line = (s: RollingStep): string => {
    switch (s.op) {
      case 'gate': return `health gate (${s.why})`;
      case 'restart': return `restart ${s.host}${s.reasons.length ? ` (${s.reasons.join('; ')})` : ''}`;
      case 'move-leader': return `move leadership from ${s.host} to ${s.to}`;
    }
  };
  return `rolling restart:\n${steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${line(s)}`).join('\n')}\n`;
}
