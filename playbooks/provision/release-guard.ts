/**
 * Provision must not silently undo `quorum upgrade`: the per-host release step points every member at the
 * inventory's release (`cluster.release`) and restarts it, so after `quorum upgrade --release NEW` a provision
 * whose inventory still names the old build would roll every member back. Before anything changes, provision
 * reads each member's releases (upgrade-facts.ts: the version its running quorumd was started from,
 * /opt/quorum/<version>, and the `previous` link) and refuses when a running member would switch to another
 * version, unless the operator passes `--allow-downgrade`.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError } from '../../toolkit/engine/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { closeAll } from './cluster.js';
import type { VersionRow } from './upgrade-facts.js';
import { readReleases } from './upgrade-live.js';

/** A running member that provision would switch to another release. */
export interface ReleaseSwitch {
  name: string;
  /** The version its quorumd runs (the release directory name under /opt/quorum). */
  running: string;
  /** The version the `previous` link records (set by `quorum upgrade`), when there is one. */
  previous?: string;
}

/**
 * Pure: the running members whose quorumd runs a release other than `target` (the inventory's version).
 * Members that are stopped, unreadable, or run a quorumd from outside /opt/quorum are not counted (provision
 * starts or reports them as before).
 */
export function releaseSwitches(rows: VersionRow[], target: string): ReleaseSwitch[] {
  return rows.flatMap((r) => {
    const x = r.releases;
    if (!x?.running || x.running === target) return [];
    return [{ name: r.name, running: x.running, ...(x.previous ? { previous: x.previous } : {}) }];
  });
}

/**
 * Pure: the refusal for `switches` (undefined when there is none): `reason` names the members, their running
 * versions and the inventory's version and tarball; `fix` points cluster.release at the running release, or goes
 * back with `quorum upgrade --rollback` (when `previous` names the inventory's version), or `--allow-downgrade`.
 */
export function releaseSwitchRefusal(switches: ReleaseSwitch[], target: { version: string; tarball: string }, inventoryFile: string): { reason: string; fix: string } | undefined {
  if (!switches.length) return undefined;
  const byVersion = new Map<string, string[]>();
  for (const s of switches) byVersion.set(s.running, [...(byVersion.get(s.running) ?? []), s.name]);
  const runs = [...byVersion].map(([v, names]) => `${names.join(', ')} ${names.length > 1 ? 'run' : 'runs'} release ${v}`).join('; ');
  const running = [...byVersion.keys()];
  const back = switches.every((s) => s.previous === target.version);
  return {
    reason: `provision would switch running members to another release: ${runs}, but the inventory's cluster.release is `
      + `${target.version} (${target.tarball}); nothing was changed`,
    fix: `set cluster.release in ${inventoryFile} to the release the members run (quorum-${running.length === 1 ? running[0] : '<version>'}-linux-x64.tar.gz)`
      + (back
        ? `, or switch them back to ${target.version} with \`quorum upgrade -i ${inventoryFile} --rollback\``
        : `, or move them to ${target.version} with \`quorum upgrade -i ${inventoryFile}\` (rolling, switched back on a failed health gate)`)
      + '; only to switch them anyway, rerun provision with --allow-downgrade',
  };
}

/**
 * Reads every member's releases (one command per host, in parallel) and returns the refusal of
 * `releaseSwitchRefusal` as a StepError (host `cluster`, step `release`), or undefined. Unreachable hosts are
 * skipped here (the plan's preflight reports them). Never throws.
 */
export async function checkReleaseSwitch(inv: Inventory, target: { version: string; tarball: string },
  connectorFor: (h: HostSpec) => Connector): Promise<StepError | undefined> {
  const conns = inv.hosts.map((h) => connectorFor(h));
  try {
    const rows = await readReleases(inv, conns);
    const refusal = releaseSwitchRefusal(releaseSwitches(rows, target.version), target, inv.file);
    return refusal ? new StepError('cluster', 'release', refusal.reason, refusal.fix) : undefined;
  } finally {
    await closeAll(conns);
  }
}
