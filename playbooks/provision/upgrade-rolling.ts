/**
 * Executes a rolling plan (membership-rolling.ts `planRollingRestart`, upgrade.ts `planUpgrade`) one step at a
 * time. The cluster and host actions are injected (`RollingOps`), so the ordering, the leadership moves and
 * the switch-back on a failed gate are unit-tested against a model cluster; upgrade-live.ts and cluster.ts
 * supply the real ones (StoreClient over mTLS, connectors).
 *
 * Leadership is checked live before every restart: a member that leads when its turn comes hands leadership
 * to a healthy, caught-up member first (Maintenance.MoveLeader; Raft thesis §3.10 leadership transfer), so the
 * leader is never restarted while leading even when an election moved it during the run. The plan's own
 * `move-leader` step does the same for the leader, which the planner puts last.
 */
import { StepError } from '../../toolkit/engine/index.js';
import type { RollingStep } from './membership-rolling.js';
import type { UpgradeStep } from './upgrade.js';

/** Who leads now, and which members could take over (healthy and caught up), by inventory name. */
export interface Leadership {
  leader?: string;
  caughtUp: string[];
}

/** The actions of a rolling restart. Each throws Error (one line) on failure. */
export interface RollingOps {
  /** The health gate (every member healthy, exactly one leader); throws StepError when not healthy in time. */
  gate(why: string): Promise<void>;
  leadership(): Promise<Leadership>;
  /** Maintenance.MoveLeader sent to `from` (the leader) naming `to`; resolves once `to` leads. */
  moveLeader(from: string, to: string): Promise<void>;
  /** Restarts quorumd on `host` and waits for it to report ready. */
  restart(host: string): Promise<void>;
  /** Progress lines. */
  log?(line: string): void;
}

/** The extra actions of an upgrade. */
export interface UpgradeOps extends RollingOps {
  /** Installs release `version` beside the active one on `host` (no switch, no restart; idempotent). */
  install(host: string, version: string): Promise<void>;
  /** Points `host`'s program links at `to`, records `from` as its previous release, restarts it. */
  switchRelease(host: string, from: string, to: string): Promise<void>;
  /** Undoes `switchRelease`: links back at `to` (the release it ran before), previous record restored, restart. */
  switchBack(host: string, to: string): Promise<void>;
  /** The release the running quorumd of `host` was started from (undefined: not running). */
  runningVersion(host: string): Promise<string | undefined>;
}

/** What a run did, for the report. */
export interface RollingReport {
  /** Hosts restarted or switched, in order. */
  done: string[];
  /** Leadership moves as `from -> to`. */
  moves: string[];
}

/**
 * Runs `steps` in order. Throws StepError at the first failure: a failed restart or gate stops the run; a
 * `switch` whose restart, gate or version check fails is switched back, restarted and gated first, and the
 * error then says so (or that the switch-back failed too). `install`/`switch` steps need `UpgradeOps`.
 */
export async function runRolling(steps: (RollingStep | UpgradeStep)[], ops: RollingOps | UpgradeOps): Promise<RollingReport> {
  const report: RollingReport = { done: [], moves: [] };
  const log = (l: string) => ops.log?.(l);
  const switches = steps.filter((s) => s.op === 'switch').length;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    switch (s.op) {
      case 'gate':
        await ops.gate(s.why);
        break;
      case 'move-leader':
        await moveAway(s.host, s.to, report, ops, false);
        break;
      case 'restart':
        await moveAway(s.host, undefined, report, ops, true);
        log(`restarting ${s.host}${s.reasons.length ? ` (${s.reasons.join('; ')})` : ''}`);
        try {
          await ops.restart(s.host);
        } catch (e) {
          throw StepError.from(s.host, 'restart', e, 'look at `journalctl -u quorumd.service` on the host');
        }
        report.done.push(s.host);
        break;
      case 'install': {
        // Consecutive installs (one per member, nothing restarts) run in parallel.
        const u = upgradeOps(ops);
        const batch: Extract<UpgradeStep, { op: 'install' }>[] = [s];
        for (let n = steps[i + 1]; n?.op === 'install'; n = steps[i + 1]) { batch.push(n); i++; }
        const results = await Promise.allSettled(batch.map(async (b) => {
          log(`installing release ${b.version} on ${b.host}`);
          try {
            await u.install(b.host, b.version);
          } catch (e) {
            throw StepError.from(b.host, `install release ${b.version}`, e, 'rerun; nothing was switched or restarted');
          }
        }));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        break;
      }
      case 'switch': {
        const u = upgradeOps(ops);
        await moveAway(s.host, undefined, report, ops, true);
        log(`switching ${s.host} ${s.from} -> ${s.to}`);
        try {
          await u.switchRelease(s.host, s.from, s.to);
          await u.gate(`after switching ${s.host}`);
          const running = await u.runningVersion(s.host);
          if (running !== s.to) throw new Error(`${s.host} runs ${running ?? 'nothing'}, not ${s.to}`);
        } catch (e) {
          const cause = e instanceof StepError ? e.detail : (e as Error).message.split('\n')[0]!;
          log(`${s.host} failed after switching to ${s.to}: ${cause}; switching it back to ${s.onGateFailure.to}`);
          const stopped = `the upgrade stopped (${report.done.length} of ${switches} members switched before it${report.done.length ? `: ${report.done.join(', ')}` : ''})`;
          try {
            await u.switchBack(s.host, s.onGateFailure.to);
            await u.gate(`after switching ${s.host} back to ${s.onGateFailure.to}`);
          } catch (e2) {
            const cause2 = e2 instanceof StepError ? e2.detail : (e2 as Error).message.split('\n')[0]!;
            throw new StepError(s.host, `switch ${s.from} -> ${s.to}`,
              `failed after the switch (${cause}); switching back to ${s.onGateFailure.to} failed too (${cause2}); ${stopped}`,
              `look at \`journalctl -u quorumd.service\` on ${s.host} and \`quorum status\`; the other members keep the quorum`);
          }
          throw new StepError(s.host, `switch ${s.from} -> ${s.to}`,
            `failed after the switch (${cause}); switched back to ${s.onGateFailure.to}, restarted, cluster healthy; ${stopped}`,
            `look at \`journalctl -u quorumd.service\` on ${s.host} for why release ${s.to} does not serve; `
            + (report.done.length ? '`quorum upgrade --rollback` brings the switched members back, or fix the release and rerun' : 'fix the release and rerun'));
        }
        report.done.push(s.host);
        break;
      }
    }
  }
  return report;
}

function upgradeOps(ops: RollingOps | UpgradeOps): UpgradeOps {
  if (!('switchRelease' in ops)) throw new Error('runRolling: install/switch steps need the upgrade actions');
  return ops;
}

/**
 * When `host` leads now, hands leadership to `preferred` (when caught up), else a member already restarted,
 * else any caught-up member; tries the next candidate when MoveLeader fails. `gate`: run the health gate after
 * a move (the plan's own move-leader step is followed by a gate step already). Returns whether it moved.
 */
async function moveAway(host: string, preferred: string | undefined, report: RollingReport, ops: RollingOps, gate: boolean): Promise<boolean> {
  const view = await ops.leadership();
  if (view.leader !== host) {
    if (!gate) ops.log?.(`leadership is on ${view.leader ?? 'no member'}, not ${host}: no move needed`);
    return false;
  }
  const ok = new Set(view.caughtUp.filter((n) => n !== host));
  const candidates = [...new Set([preferred, ...report.done, ...view.caughtUp])].filter((n): n is string => !!n && ok.has(n));
  if (!candidates.length) {
    throw new StepError(host, 'move leadership', `no healthy, caught-up member to take over leadership from ${host} before its restart`,
      'wait until every member is healthy and caught up (`quorum status`), then rerun');
  }
  const errors: string[] = [];
  for (const to of candidates) {
    ops.log?.(`moving leadership from ${host} to ${to}`);
    try {
      await ops.moveLeader(host, to);
      report.moves.push(`${host} -> ${to}`);
      if (gate) await ops.gate(`after moving leadership to ${to}`);
      return true;
    } catch (e) {
      if (e instanceof StepError) throw e;
      errors.push(`${to}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new StepError(host, 'move leadership', `MoveLeader failed for every candidate (${errors.join('; ')}); nothing was restarted`,
    'rerun once the cluster is healthy (`quorum status`)');
}
