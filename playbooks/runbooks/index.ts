/**
 * The runbooks playbook: `runRunbook` gathers the facts, plans (pure), prints the plan, and unless dry-run
 * executes it one step at a time (execute.ts). See registry.ts for the runbooks and docs.ts for their pages.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { RELEASE_LINKS } from '../provision/defaults.js';
import { memberPaths } from '../provision/files.js';
import { readClientTls } from '../provision/store.js';
import type { RunbookOptions } from './common.js';
import { executePlan, type ExecuteResult } from './execute.js';
import { type ClusterFacts, gatherClusterFacts } from './facts.js';
import { findRunbook } from './registry.js';
import { type RunbookPlan, formatRunbookPlan } from './steps.js';

/** Options of `runRunbook`. */
export interface RunRunbookOptions extends RunbookOptions {
  dryRun?: boolean;
  out?: (text: string) => void;
  connectorFor: (h: HostSpec) => Connector;
  /** Runs `quorum provision` over the inventory (for a brand-new host). */
  provision?: () => Promise<void>;
  timeoutMs?: number;
}

/** Outcome: the plan, and the execution result unless dry-run. */
export interface RunRunbookResult { plan: RunbookPlan; executed?: ExecuteResult }

/** Whether quorumd and its config are installed on `h` (over SSH; false when unreachable). */
async function installedOn(inv: Inventory, h: HostSpec, conn: Connector): Promise<boolean> {
  try {
    const bin = Object.keys(RELEASE_LINKS).find((p) => p.endsWith('/quorumd'))!;
    const r = await conn.run(`test -x ${bin} && test -f ${memberPaths(inv).config}`, { sudo: true });
    return r.code === 0;
  } catch {
    return false;
  }
}

/**
 * Runs runbook `name`. Throws Error for an unknown runbook; StepError when refused (message = the refusal) or a
 * step fails. The plan text goes to `out` first, always.
 */
export async function runRunbook(inv: Inventory, name: string, o: RunRunbookOptions): Promise<RunRunbookResult> {
  const rb = findRunbook(name);
  if (!rb) throw new Error(`no runbook called ${name} (see \`quorum runbook list\`)`);
  const out = o.out ?? ((t: string) => { process.stdout.write(t); });
  const facts: ClusterFacts = await gatherClusterFacts(inv);
  if (o.member && (name === 'replace-member' || name === 'reset-member')) {
    const h = inv.hosts.find((x) => x.name === o.member);
    if (h) {
      const c = o.connectorFor(h);
      try {
        facts.installed = { [h.name]: await installedOn(inv, h, c) };
      } finally {
        await c.close().catch(() => undefined);
      }
    }
  }
  const plan = rb.plan(inv, facts, o);
  out(formatRunbookPlan(inv, plan));
  if (o.dryRun || plan.refused) {
    if (plan.refused) return { plan };
    out('dry run: nothing changed\n');
    return { plan };
  }
  const executed = await executePlan(plan, {
    inv, connectorFor: o.connectorFor, tls: readClientTls(inv), log: (l) => out(`${l}\n`),
    ...(o.provision ? { provision: o.provision } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  out(`runbook ${name} done in ${executed.seconds.toFixed(1)} s\n`);
  return { plan, executed };
}

export { RUNBOOKS, findRunbook, formatRunbookList } from './registry.js';
export { generateRunbookDocs } from './docs.js';
export { formatRunbookPlan } from './steps.js';
