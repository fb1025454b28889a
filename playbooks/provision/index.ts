/**
 * The provision playbook: from bare hosts to a healthy, TLS-secured cluster, idempotently.
 * Order: plan (facts in one round trip per host, in parallel) -> per-host tasks (plan.ts) with the
 * daemon-reload handler -> start stopped members together -> health gate -> rolling restart of
 * running members whose config/unit/certs/release changed -> initial-cluster-state existing ->
 * status table and recap. `dryRun` stops after the plan and prints it (nothing is written anywhere).
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { type FactRequest, type FactSet, freshHostFacts, gatherFacts } from '../../toolkit/facts/index.js';
import {
  type HostPlan, type RendererName, Recap, StepError, applyPlans, defaultRenderer, formatPlan,
} from '../../toolkit/engine/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { run } from '../../toolkit/operations/index.js';
import { type HealthOptions, closeAll, diagnose, markExisting, rollingRestart, startTogether, waitHealthy } from './cluster.js';
import { HANDLER_DAEMON_RELOAD, HANDLER_RESTART } from './defaults.js';
import { type MemberFacts, type ProvisionInputs, clusterStateOf, operatorAddresses, planMember, readMember } from './plan.js';
import { ensureClusterPki, readClusterPki } from './pki.js';
import { membershipPhase } from './membership-live.js';
import { findRelease, findReleaseForPlan } from './release.js';
import { checkReleaseSwitch } from './release-guard.js';
import { formatStatusTable } from './status.js';
import { writeMonitoring } from '../monitoring/index.js';
import { dirname, join } from 'node:path';

/** Options of `provision`. */
export interface ProvisionOptions {
  /** Plan only: print what would change per host; write nothing (not even the CA). */
  dryRun?: boolean;
  /**
   * With dryRun: contact no host at all and plan as if every host were fresh (facts from
   * toolkit/facts/assumed.ts). For inventories whose hosts are not reachable from here.
   */
  offline?: boolean;
  renderer?: RendererName;
  /** Where report text goes (default stdout). */
  out?: (text: string) => void;
  /**
   * Connector per host, chosen by the caller (the CLI passes SSH from the inventory; tests pass local
   * ones; offline plans pass one that refuses all I/O): the playbook itself knows nothing about SSH.
   */
  connectorFor: (h: HostSpec) => Connector;
  /** Health gate tuning (tests). */
  health?: HealthOptions;
  /** Accept a membership change that leaves an even member count (`--allow-even`). */
  allowEven?: boolean;
  /** false: skip the day-2 membership phase (membership-live.ts) entirely. */
  membership?: boolean;
  /**
   * Switch running members to the inventory's release even when it differs from the one they run
   * (`--allow-downgrade`); by default provision refuses before changing anything (release-guard.ts).
   */
  allowDowngrade?: boolean;
}

/** Outcome of `provision`. Failures are in `errors` (one per failed host or phase). */
export interface ProvisionResult {
  recap: Recap;
  plans: HostPlan[];
  errors: StepError[];
  /** The status table printed at the end (absent in dry runs or when the run failed before it). */
  table?: string;
}

/**
 * Provisions every host of `inv`. Throws Error (one line with a fix) for operator-side problems found
 * before any host is touched: missing release tarball, PKI errors. Host problems come back in `errors`.
 */
export async function provision(inv: Inventory, opts: ProvisionOptions): Promise<ProvisionResult> {
  const out = opts.out ?? ((t: string) => { process.stdout.write(t); });
  const renderer = opts.renderer ?? defaultRenderer();
  if (opts.offline && !opts.dryRun) throw new Error('--offline only plans: use it together with --dry-run');
  const release = opts.dryRun ? findReleaseForPlan(inv) : findRelease(inv);
  const pki = opts.dryRun ? await readClusterPki(inv) : await ensureClusterPki(inv);
  const inputs: ProvisionInputs = { inv, release, pki };
  const gather = opts.offline
    ? async (_c: Connector, reqs: FactRequest[]) => freshHostFacts(reqs, 'debian')
    : gatherFacts;
  // Refuse to undo `quorum upgrade` (release-guard.ts): before the membership phase, which may already act.
  if (!opts.offline && !opts.allowDowngrade) {
    const refused = await checkReleaseSwitch(inv, release, opts.connectorFor);
    if (refused) return { recap: new Recap(inv.hosts.map((h) => h.name)), plans: [], errors: [refused] };
  }
  // Day-2 membership (membership-live.ts): acts only when a cluster answers and its members differ from the inventory.
  if (!opts.offline && opts.membership !== false) {
    const mem = await membershipPhase(inputs, {
      connectorFor: opts.connectorFor, dryRun: !!opts.dryRun, allowEven: !!opts.allowEven, out,
      log: (l) => { if (renderer !== 'silent') out(`${l}\n`); }, ...(opts.health ? { health: opts.health } : {}),
    });
    if (mem.errors.length) return { recap: new Recap(inv.hosts.map((h) => h.name)), plans: [], errors: mem.errors };
  }
  const connectors = inv.hosts.map((h) => opts.connectorFor(h));
  const recap = new Recap(inv.hosts.map((h) => h.name));
  try {
    // Plan: read every member, then decide cluster-wide state, then each member's steps.
    const read = await Promise.allSettled(inv.hosts.map((h, i) => readMember(inputs, h, connectors[i]!, gather)));
    const members = read.filter((r): r is PromiseFulfilledResult<MemberFacts> => r.status === 'fulfilled').map((r) => r.value);
    const state = clusterStateOf(members);
    const ops = operatorAddresses(members);
    const plans: HostPlan[] = inv.hosts.map((h, i) => {
      const r = read[i]!;
      if (r.status === 'rejected') return { host: h.name, connector: connectors[i]!, steps: [], error: StepError.from(h.name, 'preflight', r.reason) };
      try {
        return { host: h.name, connector: connectors[i]!, steps: planMember(inputs, r.value, state, ops) };
      } catch (e) {
        return { host: h.name, connector: connectors[i]!, steps: [], error: StepError.from(h.name, 'plan', e) };
      }
    });

    if (opts.dryRun) {
      const assumed = opts.offline ? ' assuming fresh hosts (offline: no host was contacted)' : '';
      out(`Plan for cluster ${inv.cluster.name} (initial-cluster-state ${state}; release ${release.version})${assumed}; dry run, nothing changed:\n`);
      out(formatPlan(plans));
      out(clusterPhasePlan(inv, members, state));
      return { recap, plans, errors: plans.flatMap((p) => (p.error ? [p.error] : [])) };
    }

    const applied = await applyPlans(plans, {
      recap, renderer,
      handlers: { [HANDLER_DAEMON_RELOAD]: () => [run('systemctl daemon-reload')] },
    });
    if (applied.errors.length) {
      out(recap.format());
      return { recap, plans, errors: applied.errors };
    }

    const memberStates = members.map((m) => m.state);
    const toStart = memberStates.filter((m) => !m.wasActive);
    const toRestart = memberStates.filter((m) => m.wasActive && applied.deferred.get(m.host.name)?.has(HANDLER_RESTART));
    const log = (line: string) => { if (renderer !== 'silent') out(`${line}\n`); };
    const health = { log, ...opts.health };
    try {
      if (toStart.length) {
        log(`starting ${toStart.map((m) => m.host.name).join(', ')} together`);
        await startTogether(toStart, recap);
      }
      await waitHealthy(inv, toStart.length ? 'bootstrap' : 'verify', health);
      if (toRestart.length) await rollingRestart(inv, toRestart, recap, health);
      await markExisting(inv, memberStates, ops, recap);
      const results = await waitHealthy(inv, 'final', health);
      const table = formatStatusTable(results);
      out(table);
      // The operator's side of monitoring: a Prometheus scrape config, alert rules and a dashboard for this
      // cluster, beside its PKI directory (`quorum monitoring --out DIR` writes them anywhere).
      const monitoring = writeMonitoring(inv, join(dirname(inv.pki.dir), 'monitoring'));
      log(`monitoring: ${monitoring.scrape}, ${monitoring.rules}, ${monitoring.dashboard}`);
      out(recap.format());
      return { recap, plans, errors: [], table };
    } catch (e) {
      const err = StepError.from('cluster', 'start', e);
      if (/^health gate/.test(err.step)) out(`diagnosis:\n${(await diagnose(memberStates)).map((l) => `  ${l}\n`).join('')}`);
      out(recap.format());
      return { recap, plans, errors: [err] };
    }
  } finally {
    await closeAll(connectors);
  }
}

/** The cluster-wide steps that follow the per-host tasks, as the dry run prints them. */
function clusterPhasePlan(inv: Inventory, members: MemberFacts[], state: 'new' | 'existing'): string {
  const stopped = members.filter((m) => !m.state.wasActive).map((m) => m.host.name);
  const lines = ['cluster:'];
  if (stopped.length) lines.push(`  start ${stopped.join(', ')} together (initial-cluster-state ${state})`);
  lines.push('  restart, one at a time behind the health gate, any running member whose config, unit, certificates or release change');
  lines.push(`  health gate: every member of ${inv.hosts.map((h) => h.name).join(', ')} healthy over mTLS, exactly one leader`);
  lines.push('  write initial-cluster-state: existing to every member\'s config (no restart)');
  return `${lines.join('\n')}\n`;
}

export { formatStatusTable } from './status.js';
export { clientTlsPaths } from './pki.js';
export { clientEndpoints, statusAll } from './store.js';
