import { Listr } from 'listr2';
import type { Connector } from '../connectors/types.js';
import { type Command, type OperationResult, describeCommand } from '../operations/types.js';
import { StepError } from './errors.js';
import { Recap } from './recap.js';

/** listr2 renderers the engine uses; `silent` for tests. */
export type RendererName = 'default' | 'simple' | 'verbose' | 'silent';

/** The renderer for this terminal: animated when stdout is a TTY, line-by-line otherwise. */
export function defaultRenderer(): RendererName {
  return process.stdout.isTTY ? 'default' : 'simple';
}

/** One planned operation on one host. */
export interface Step {
  /** Short task name shown in progress and errors: `config`, `release`. */
  name: string;
  result: OperationResult;
  /** What the operator should do when this step fails (shown after `fix:`). */
  remedy?: string;
}

/** Everything planned for one host (or why planning failed). */
export interface HostPlan {
  /** Host name (`etcd-01`). */
  host: string;
  connector: Connector;
  steps: Step[];
  /** Set when facts could not be read or an operation refused: the host is not applied. */
  error?: StepError;
}

/** A handler that runs on the notified host itself, once, after its steps (e.g. daemon-reload). */
export type HostHandler = (host: string) => Command[];

/** Options of `applyPlans`. */
export interface ApplyOptions {
  /** Host-scoped handlers by name. Notified names not listed here are returned in `deferred`. */
  handlers?: Record<string, HostHandler>;
  renderer?: RendererName;
  /** Recap to count into (default: a new one). */
  recap?: Recap;
  /** Title of the progress list. */
  title?: string;
}

/** Outcome of `applyPlans`. */
export interface ApplyResult {
  recap: Recap;
  /** Per host: notified handler names the engine did not run (for cluster-level phases). */
  deferred: Map<string, Set<string>>;
  /** Per host: whether any step changed something. */
  changedHosts: Set<string>;
  /** One error per failed host (empty on success). */
  errors: StepError[];
}

/**
 * Plans every host in parallel: `planner(host)` reads facts and computes the steps. A planner that
 * throws marks its host failed (`HostPlan.error`) without stopping the others.
 */
export async function planHosts<H>(
  hosts: H[],
  describe: (h: H) => { host: string; connector: Connector },
  planner: (h: H) => Promise<Step[]>,
): Promise<HostPlan[]> {
  return Promise.all(hosts.map(async (h) => {
    const { host, connector } = describe(h);
    try {
      return { host, connector, steps: await planner(h) };
    } catch (e) {
      return { host, connector, steps: [], error: StepError.from(host, 'plan', e) };
    }
  }));
}

/** Runs one command through the connector; a non-zero exit throws with the command's stderr. */
export async function executeCommand(conn: Connector, c: Command): Promise<void> {
  switch (c.kind) {
    case 'run': {
      const r = await conn.run(c.cmd, { sudo: true });
      if (r.code !== 0) {
        const err = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' / ');
        throw new Error(`\`${c.cmd.length > 160 ? `${c.cmd.slice(0, 157)}...` : c.cmd}\` exited ${r.code}${err ? `: ${err}` : ''}`);
      }
      return;
    }
    case 'put':
      if (!c.content) throw new Error(`content of ${c.path} was not generated (planned as a dry run)`);
      return conn.putFile(c.path, c.content, { mode: parseInt(c.mode, 8), owner: c.owner });
    case 'upload':
      return conn.putFileFrom(c.local, c.path, { mode: parseInt(c.mode, 8) });
  }
}

/**
 * Applies plans: hosts in parallel, each host's steps in order, then that host's notified
 * host-scoped handlers (each once). When a host fails, it stops; the other hosts finish the step they
 * are in and skip the rest. Progress goes to listr2; the result carries the recap and the errors
 * (this function does not throw for host failures).
 */
export async function applyPlans(plans: HostPlan[], opts: ApplyOptions = {}): Promise<ApplyResult> {
  const recap = opts.recap ?? new Recap(plans.map((p) => p.host));
  const deferred = new Map<string, Set<string>>();
  const changedHosts = new Set<string>();
  const errors: StepError[] = [];
  let aborted = plans.some((p) => p.error);
  for (const p of plans) {
    if (p.error) {
      errors.push(p.error);
      recap.record(p.host, 'failed');
    }
  }
  if (aborted) return { recap, deferred, changedHosts, errors };

  const handlers = opts.handlers ?? {};
  const fail = (e: StepError): never => {
    aborted = true;
    errors.push(e);
    recap.record(e.host, 'failed');
    throw e;
  };

  const hostTask = (p: HostPlan) => async (_ctx: unknown, task: { output: string }) => {
    const notified = new Set<string>();
    for (const step of p.steps) {
      if (aborted) { recap.record(p.host, 'skipped'); continue; }
      if (!step.result.changed) { recap.record(p.host, 'ok'); continue; }
      task.output = `${p.host}: ${step.name}: ${step.result.reason}`;
      try {
        for (const c of step.result.commands) await executeCommand(p.connector, c);
      } catch (e) {
        fail(StepError.from(p.host, step.name, e, step.remedy ?? 'fix the cause on the host and rerun (runs are idempotent)'));
      }
      recap.record(p.host, 'changed');
      changedHosts.add(p.host);
      for (const n of step.result.notify ?? []) notified.add(n);
    }
    const later = new Set<string>();
    for (const n of notified) {
      const h = handlers[n];
      if (!h) { later.add(n); continue; }
      try {
        for (const c of h(p.host)) await executeCommand(p.connector, c);
      } catch (e) {
        fail(StepError.from(p.host, `handler ${n}`, e));
      }
      recap.record(p.host, 'changed');
    }
    deferred.set(p.host, later);
  };

  const list = new Listr(
    plans.map((p) => ({
      title: `${p.host}: ${p.steps.filter((s) => s.result.changed).length} of ${p.steps.length} steps to change`,
      task: hostTask(p),
    })),
    { concurrent: true, exitOnError: false, renderer: opts.renderer ?? defaultRenderer() } as any,
  );
  try {
    await list.run();
  } catch {
    /* errors are collected above */
  }
  return { recap, deferred, changedHosts, errors };
}

/**
 * The dry-run report: per host, each step that would change with its reason and commands, then a
 * count of steps already in the desired state.
 */
export function formatPlan(plans: HostPlan[]): string {
  const out: string[] = [];
  for (const p of plans) {
    if (p.error) {
      out.push(`${p.host}: cannot plan (nothing would be changed on it): ${p.error.detail}${p.error.remedy ? ` (fix: ${p.error.remedy})` : ''}`);
      continue;
    }
    const changing = p.steps.filter((s) => s.result.changed);
    out.push(`${p.host}: ${changing.length} to change, ${p.steps.length - changing.length} ok`);
    for (const s of changing) {
      out.push(`  ~ ${s.name}: ${s.result.reason}`);
      for (const c of s.result.commands) out.push(`      ${describeCommand(c)}`);
      if (s.result.notify?.length) out.push(`      (notifies ${s.result.notify.join(', ')})`);
    }
  }
  return out.join('\n') + '\n';
}
