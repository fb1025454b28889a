/**
 * The provision playbook's cluster phases: start every stopped member together, the health gate,
 * quorum-safe rolling restarts (one member at a time, gate before and after), and the switch of
 * `initial-cluster-state` to `existing` once the cluster has bootstrapped.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError, type Recap, executeCommand } from '../../toolkit/engine/index.js';
import { fileFact, gatherFacts, want } from '../../toolkit/facts/index.js';
import type { Inventory } from '../../toolkit/inventory/types.js';
import { fileOp, run } from '../../toolkit/operations/index.js';
import { HEALTH_POLL_MS, HEALTH_TIMEOUT_MS, UNIT } from './defaults.js';
import { memberPaths, renderMemberFiles } from './files.js';
import type { MemberState } from './plan.js';
import { type StatusResult, healthProblems, statusAll } from './store.js';
import { planRollingRestart } from './membership-rolling.js';
import { liveLeadership, moveLeaderLive } from './upgrade-leader.js';
import { runRolling } from './upgrade-rolling.js';

/** Options of the health gate. */
export interface HealthOptions {
  timeoutMs?: number;
  pollMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Replaces the real probe (tests). */
  probe?: () => Promise<StatusResult[]>;
}

/**
 * Waits until every member is healthy over mTLS with exactly one leader (see `healthProblems`).
 * Returns the last statuses. Throws StepError (host `cluster`, step `health gate`) with the
 * remaining problems and the usual causes when `timeoutMs` (default 90 s) passes.
 */
export async function waitHealthy(inv: Inventory, why: string, opts: HealthOptions = {}): Promise<StatusResult[]> {
  const timeout = opts.timeoutMs ?? HEALTH_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  const probe = opts.probe ?? (() => statusAll(inv));
  let problems: string[] = [];
  for (;;) {
    const results = await probe();
    problems = healthProblems(results);
    if (!problems.length) return results;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? HEALTH_POLL_MS));
  }
  throw new StepError('cluster', `health gate (${why})`,
    `not healthy after ${Math.round(timeout / 1000)} s: ${problems.join('; ')}`,
    `look at \`journalctl -u ${UNIT}\` on the members; check the peer port between them (\`nc -zv HOST ${inv.cluster.peerPort}\`), `
    + 'leftover data dirs from a failed bootstrap and that host names resolve');
}

/**
 * Starts the given (not serving) members together: `systemctl restart --no-block` on all in parallel (a member
 * waits for a quorum before it reports ready, so they must start within a short time of each other).
 */
export async function startTogether(members: MemberState[], recap: Recap): Promise<void> {
  const results = await Promise.allSettled(members.map(async (m) => {
    try {
      // restart (not start): a member stuck activating or in an auto-restart loop must pick up the
      // new files now; for a stopped unit restart is a start.
      await executeCommand(m.connector, run(`systemctl reset-failed ${UNIT} 2>/dev/null; systemctl restart --no-block ${UNIT}`));
      recap.record(m.host.name, 'changed');
    } catch (e) {
      recap.record(m.host.name, 'failed');
      throw StepError.from(m.host.name, 'start', e, `look at \`systemctl status ${UNIT}\` on the host`);
    }
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Restarts members one at a time, followers first and the leader last (membership-rolling.ts
 * `planRollingRestart`): gate, then per member restart + gate; leadership is handed to a healthy, caught-up
 * member (MoveLeader) before the leader restarts, and before any member that leads when its turn comes
 * (upgrade-rolling.ts `runRolling`). The cluster never has more than one member down, so it keeps its quorum.
 * Does nothing for an empty `members`. Throws StepError on the first failed restart, move or gate.
 */
export async function rollingRestart(inv: Inventory, members: MemberState[], recap: Recap, opts: HealthOptions = {}): Promise<void> {
  if (!members.length) return;
  const before = await waitHealthy(inv, 'before restarts', opts);
  const leaderName = before.find((r) => r.status && r.status.memberId === r.status.leader)?.name;
  const byName = new Map(members.map((m) => [m.host.name, m]));
  const reasons = ['config, unit, certificates or release changed'];
  // The plan's first step is the gate just passed.
  const steps = planRollingRestart(inv.hosts.map((h) => ({ name: h.name, reasons: byName.has(h.name) ? reasons : [] })), leaderName)
    .filter((s, i) => !(i === 0 && s.op === 'gate'));
  await runRolling(steps, {
    gate: async (why) => { await waitHealthy(inv, why, opts); },
    leadership: () => liveLeadership(inv, opts.probe),
    moveLeader: (from, to) => moveLeaderLive(inv, from, to),
    restart: async (host) => {
      const m = byName.get(host)!;
      try {
        await executeCommand(m.connector, run(`systemctl restart ${UNIT}`));
      } catch (e) {
        recap.record(host, 'failed');
        throw e;
      }
      recap.record(host, 'changed');
    },
    ...(opts.log ? { log: opts.log } : {}),
  });
}

/**
 * Rewrites every member's config with `initial-cluster-state: existing` (no restart: a running
 * member only reads it on its next start). Idempotent: reads the config's fact and writes only on a difference.
 */
export async function markExisting(inv: Inventory, members: MemberState[], operatorAddresses: string[], recap: Recap): Promise<void> {
  const path = memberPaths(inv).config;
  await Promise.all(members.map(async (m) => {
    try {
      const facts = await gatherFacts(m.connector, [want(fileFact, { path })]);
      const content = Buffer.from(renderMemberFiles(inv, m.host, { clusterState: 'existing', operatorAddresses }).config);
      const r = fileOp(facts.get(fileFact, { path }), { path, content, owner: inv.cluster.user, group: inv.cluster.user, mode: '0644' });
      for (const c of r.commands) await executeCommand(m.connector, c);
      recap.record(m.host.name, r.changed ? 'changed' : 'ok');
    } catch (e) {
      recap.record(m.host.name, 'failed');
      throw StepError.from(m.host.name, 'cluster state existing', e);
    }
  }));
}

/**
 * One line per member on why it may not be healthy: the unit's state and result and the last log
 * lines of `journalctl -u quorumd.service` (never throws; unreachable members say so).
 */
export async function diagnose(members: MemberState[]): Promise<string[]> {
  return Promise.all(members.map(async (m) => {
    try {
      const r = await m.connector.run(
        `systemctl show ${UNIT} -p ActiveState -p SubState -p Result --value | paste -sd' '; `
        + `journalctl -u ${UNIT} -n 3 --no-pager -o cat 2>/dev/null | tail -n 3`, { sudo: true });
      const [state, ...log] = r.stdout.trim().split('\n');
      return `${m.host.name}: ${UNIT} ${state ?? '?'}${log.length ? `; last log: ${log.join(' | ')}` : ''}`;
    } catch (e) {
      return `${m.host.name}: cannot diagnose: ${(e as Error).message}`;
    }
  }));
}

/** Closes every connector, ignoring errors. */
export async function closeAll(conns: Connector[]): Promise<void> {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
}
