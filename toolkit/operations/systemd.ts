import { shq } from '../connectors/types.js';
import type { FileFact } from '../facts/files.js';
import type { SystemdUnitFact } from '../facts/services.js';
import { fileOp } from './files.js';
import { type Command, type OperationResult, changes, noChange, run } from './types.js';

/** The handler name that runs `systemctl daemon-reload`. */
export const DAEMON_RELOAD = 'daemon-reload';

/** Desired unit file: where, what, and extra handlers to notify on change (e.g. `restart`). */
export interface SystemdUnitDesired { path: string; content: Buffer | undefined; notify?: string[] }

/**
 * Installs a unit file (root:root 0644); on change notifies `daemon-reload` (+ `notify`). When the file
 * is current but systemd still has an older copy loaded (NeedDaemonReload=yes) it notifies
 * daemon-reload alone.
 */
export function systemdUnitOp(file: FileFact, unit: SystemdUnitFact, d: SystemdUnitDesired): OperationResult {
  const r = fileOp(file, {
    path: d.path, content: d.content, owner: 'root', group: 'root', mode: '0644',
    notify: [DAEMON_RELOAD, ...(d.notify ?? [])],
  });
  if (r.changed) return r;
  if (unit.needDaemonReload) {
    return { changed: true, commands: [], reason: `${d.path} is newer than what systemd loaded`, notify: [DAEMON_RELOAD] };
  }
  return r;
}

/** Desired service state. `started: undefined` leaves the running state alone. */
export interface ServiceDesired {
  unit: string;
  enabled?: boolean;
  started?: boolean;
  /** Start with `--no-block` (queue the job and return at once). */
  noBlock?: boolean;
}

/** Ensures a service is enabled / started (`systemctl enable`, `systemctl start [--no-block]`). */
export function serviceOp(fact: SystemdUnitFact, d: ServiceDesired): OperationResult {
  const u = shq(d.unit);
  const cmds: Command[] = [];
  const why: string[] = [];
  if (d.enabled === true && !fact.enabled) {
    cmds.push(run(`systemctl enable ${u}`));
    why.push(`${d.unit} is ${fact.unitFileState || 'not installed'}`);
  } else if (d.enabled === false && fact.enabled) {
    cmds.push(run(`systemctl disable ${u}`));
    why.push(`${d.unit} is enabled`);
  }
  const active = fact.activeState === 'active' || fact.activeState === 'activating' || fact.activeState === 'reloading';
  if (d.started === true && !active) {
    cmds.push(run(`systemctl start${d.noBlock ? ' --no-block' : ''} ${u}`));
    why.push(`${d.unit} is ${fact.activeState}`);
  } else if (d.started === false && active) {
    cmds.push(run(`systemctl stop ${u}`));
    why.push(`${d.unit} is ${fact.activeState}`);
  }
  if (!cmds.length) {
    return noChange(`${d.unit} is ${fact.enabled ? 'enabled' : fact.unitFileState || 'not enabled'} and ${fact.activeState}`);
  }
  return changes(cmds, why.join(', '));
}
