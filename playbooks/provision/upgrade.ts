/**
 * The rolling upgrade planner (pure: no I/O). The new release is installed beside the old one on every
 * member first (no switch, nothing restarts), then members are switched one at a time in rolling order
 * (membership-rolling.ts: followers first, leadership moved away before the leader's switch), each followed by
 * the health gate. A member that fails its gate after the switch is switched back, restarted and gated, and
 * the upgrade stops there. `--rollback` is the same plan towards the previous release.
 */
import { type RollingMember, planRollingRestart } from './membership-rolling.js';

/** A member's installed and active releases. */
export interface UpgradeMember {
  name: string;
  /** The active release version (the `current` link). */
  active: string;
  healthy?: boolean;
}

/** One upgrade step. `switch` repoints the release links and restarts; `rollback` is its inverse on failure. */
export type UpgradeStep =
  | { op: 'install'; host: string; version: string }
  | { op: 'gate'; host: 'cluster'; why: string }
  | { op: 'move-leader'; host: string; to: string }
  | { op: 'switch'; host: string; from: string; to: string; onGateFailure: { op: 'rollback'; to: string } };

/** A plan, or the reason there is none. */
export type UpgradePlan = { ok: true; steps: UpgradeStep[] } | { ok: false; reason: string; steps: [] };

/**
 * Plans the switch of every member whose active release is not `target`. Refuses when a member is
 * unhealthy (an upgrade starts from a healthy cluster) or members disagree on more than two versions (a
 * previous upgrade did not finish: finish or roll it back first). Returns no steps when all run `target`.
 */
export function planUpgrade(members: UpgradeMember[], target: string, leader?: string): UpgradePlan {
  const refuse = (reason: string): UpgradePlan => ({ ok: false, reason, steps: [] });
  const todo = members.filter((m) => m.active !== target);
  if (!todo.length) return { ok: true, steps: [] };
  const sick = members.filter((m) => m.healthy === false).map((m) => m.name);
  if (sick.length) return refuse(`not healthy: ${sick.join(', ')}; an upgrade starts from a healthy cluster`);
  const versions = new Set(members.map((m) => m.active));
  versions.add(target);
  if (versions.size > 2) return refuse(`members run ${[...versions].filter((v) => v !== target).join(', ')}: finish or roll back the previous upgrade first`);
  const from = new Map(members.map((m) => [m.name, m.active]));
  const steps: UpgradeStep[] = todo.map((m) => ({ op: 'install', host: m.name, version: target }));
  const rolling: RollingMember[] = members.map((m) => ({ name: m.name, reasons: m.active !== target ? [`release ${m.active} -> ${target}`] : [], healthy: m.healthy !== false }));
  for (const s of planRollingRestart(rolling, leader)) {
    if (s.op === 'restart') {
      const old = from.get(s.host)!;
      steps.push({ op: 'switch', host: s.host, from: old, to: target, onGateFailure: { op: 'rollback', to: old } });
    } else if (s.op === 'gate') {
      steps.push({ ...s, why: s.why.replace(/^after restarting /, 'after switching ') });
    } else {
      steps.push(s);
    }
  }
  return { ok: true, steps };
}

/** `--dry-run` text of an upgrade plan. */
export function formatUpgradePlan(p: UpgradePlan, target: string): string {
  if (!p.ok) return `upgrade to ${target}: REFUSED: ${p.reason}\n`;
  if (!p.steps.length) return `upgrade to ${target}: every member already runs it\n`;
  const line = (s: UpgradeStep): string => {
    switch (s.op) {
      case 'install': return `install release ${s.version} on ${s.host} beside the active one (no restart)`;
      case 'gate': return `health gate (${s.why})`;
      case 'move-leader': return `move leadership from ${s.host} to ${s.to}`;
      case 'switch': return `switch ${s.host} ${s.from} -> ${s.to} and restart (gate fails: back to ${s.onGateFailure.to}, restart, stop the upgrade)`;
    }
  };
  return `upgrade to ${target}:\n${p.steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${line(s)}`).join('\n')}\n`;
}

/** A member's release state as `quorum upgrade --rollback` needs it (upgrade-facts.ts reads it from the host). */
export interface RollbackMember {
  name: string;
  /** The release it runs (or whose links are active). */
  active?: string;
  /** The release it ran before its last switch (the `previous` link), if any. */
  previous?: string;
}

/**
 * The release `--rollback` returns to. All members on one release V: their common previous release (refused
 * when one has none recorded or they differ). Members on two releases X and Y (an upgrade stopped halfway): the
 * release the switched members came from, i.e. Y when the members on X record Y as previous and not the other way
 * round (refused when both or neither do). Refused when a member has no active release or three are in play.
 */
export function rollbackTarget(members: RollbackMember[]): { ok: true; version: string } | { ok: false; reason: string } {
  const none = members.filter((m) => !m.active).map((m) => m.name);
  if (none.length) return { ok: false, reason: `no active release on ${none.join(', ')}: provision the cluster first` };
  const versions = [...new Set(members.map((m) => m.active!))];
  if (versions.length === 1) {
    const missing = members.filter((m) => !m.previous).map((m) => m.name);
    if (missing.length) return { ok: false, reason: `no previous release recorded on ${missing.join(', ')}: nothing to roll back to` };
    const prev = [...new Set(members.map((m) => m.previous!))];
    if (prev.length > 1) return { ok: false, reason: `members record different previous releases (${prev.join(', ')}): upgrade with --release to the one you want` };
    if (prev[0] === versions[0]) return { ok: false, reason: `the previous release is ${prev[0]}, the one running: nothing to roll back to` };
    return { ok: true, version: prev[0]! };
  }
  if (versions.length > 2) return { ok: false, reason: `members run ${versions.join(', ')}: upgrade with --release to one of them first` };
  const [x, y] = versions as [string, string];
  const cameFrom = (v: string, other: string) => members.filter((m) => m.active === v).every((m) => m.previous === other);
  const toY = cameFrom(x, y);
  const toX = cameFrom(y, x);
  if (toY !== toX) return { ok: true, version: toY ? y : x };
  return { ok: false, reason: `members run ${x} and ${y} and it is unclear which was switched last: upgrade with --release to the one you want` };
}
