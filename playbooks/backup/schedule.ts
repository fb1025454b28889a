/**
 * Scheduled backups on the members (`quorum backup schedule`): a oneshot service and a timer
 * (templates/quorum-backup.{service,timer}.hbs) that run a small script: `quorumctl snapshot save` against the
 * member's own client URL (https://127.0.0.1:clientPort, with the member's server certificate, which also
 * carries client auth), `snapshot status` to read the revision, rename to
 * `<cluster>-<UTC time>-<member>-r<revision>.db` in BACKUP_DIR, and keep the newest N.
 * `quorum backup pull` copies them to the operator (skipping files it already has) and verifies each.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Connector } from '../../toolkit/connectors/types.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { memberPaths } from '../provision/files.js';
import { renderTemplate } from '../provision/files-templates.js';
import { verifySnapshot } from './backup.js';

/** Where members keep their scheduled backups. */
export const MEMBER_BACKUP_DIR = '/var/backups/quorum';
/** The script the service runs. */
export const BACKUP_SCRIPT = '/usr/local/lib/quorum/backup.sh';
export const BACKUP_SERVICE = '/etc/systemd/system/quorum-backup.service';
export const BACKUP_TIMER = '/etc/systemd/system/quorum-backup.timer';

/** The files installed on member `h`. Pure. @throws Error when `every` is not a systemd time span. */
export function renderBackupFiles(inv: Inventory, h: HostSpec, every: string, keep: number): { script: string; service: string; timer: string } {
  if (!/^\d+\s*(s|sec|min|m|h|hr|d|day|w)?$/.test(every)) throw new Error(`--every must be a time span like 30min, 1h or 1d, got ${JSON.stringify(every)}`);
  const c = inv.cluster.name;
  const pki = memberPaths(inv).pkiDir;
  const dir = MEMBER_BACKUP_DIR;
  const ctl = `quorumctl --endpoints=https://127.0.0.1:${inv.cluster.clientPort} --cacert=${pki}/ca.pem --cert=${pki}/server.pem --key=${pki}/server-key.pem`;
  const lines = [
    '#!/bin/sh',
    `# ${BACKUP_SCRIPT}: snapshot of quorumd member ${h.name} of cluster ${c}. Managed by \`quorum backup schedule\`.`,
    'set -eu',
    `dir=${dir}`,
    'mkdir -p "$dir" && chmod 0700 "$dir"',
    'stamp=$(date -u +%Y%m%dT%H%M%SZ)',
    `tmp="$dir/.${c}-$stamp.taking"`,
    `${ctl} snapshot save "$tmp" >/dev/null`,
    'rev=$(quorumctl snapshot status "$tmp" -w json | sed -n \'s/.*"revision":\\([0-9]*\\).*/\\1/p\')',
    'if [ -z "$rev" ]; then rm -f "$tmp"; echo "snapshot status failed for $tmp" >&2; exit 1; fi',
    `mv "$tmp" "$dir/${c}-$stamp-${h.name}-r$rev.db"`,
    `echo "backup $dir/${c}-$stamp-${h.name}-r$rev.db"`,
  ];
  if (keep > 0) lines.push(`ls "$dir" | grep -E '^${c}-[0-9]{8}T[0-9]{6}Z-${h.name}-r[0-9]+\\.db$' | sort | head -n -${keep} | while read -r f; do rm -f "$dir/$f"; done`);
  const vars = { name: h.name, cluster: c, dir, keep: keep || 'all', every, script: BACKUP_SCRIPT };
  return {
    script: `${lines.join('\n')}\n`,
    service: renderTemplate('quorum-backup.service.hbs', vars),
    timer: renderTemplate('quorum-backup.timer.hbs', vars),
  };
}

/** Options of `scheduleBackups`. */
export interface ScheduleOptions {
  every: string;
  keep: number;
  dryRun: boolean;
  connectorFor: (h: HostSpec) => Connector;
  out: (text: string) => void;
}

/** Installs (or updates) the script, service and timer on every member and enables the timer. @throws on the first failing host. */
export async function scheduleBackups(inv: Inventory, o: ScheduleOptions): Promise<void> {
  for (const h of inv.hosts) {
    const f = renderBackupFiles(inv, h, o.every, o.keep);
    if (o.dryRun) {
      o.out(`${h.name}: would write ${BACKUP_SCRIPT}, ${BACKUP_SERVICE}, ${BACKUP_TIMER}; then\n  $ systemctl daemon-reload && systemctl enable --now quorum-backup.timer\n`);
      continue;
    }
    const c = o.connectorFor(h);
    try {
      const mk = await c.run('mkdir -p /usr/local/lib/quorum', { sudo: true });
      if (mk.code !== 0) throw new Error(`${h.name}: mkdir failed: ${mk.stderr.trim()}`);
      await c.putFile(BACKUP_SCRIPT, Buffer.from(f.script), { mode: 0o755 });
      await c.putFile(BACKUP_SERVICE, Buffer.from(f.service), { mode: 0o644 });
      await c.putFile(BACKUP_TIMER, Buffer.from(f.timer), { mode: 0o644 });
      const r = await c.run('systemctl daemon-reload && systemctl enable quorum-backup.timer && systemctl restart quorum-backup.timer', { sudo: true });
      if (r.code !== 0) throw new Error(`${h.name}: enabling quorum-backup.timer failed: ${r.stderr.trim()}`);
      o.out(`${h.name}: quorum-backup.timer every ${o.every}, keeping ${o.keep || 'all'} in ${MEMBER_BACKUP_DIR}\n`);
    } finally {
      await c.close().catch(() => undefined);
    }
  }
}

/** Options of `pullBackups`. */
export interface PullOptions { connectorFor: (h: HostSpec) => Connector; dest?: string; out: (text: string) => void }

/** Copies every member's scheduled backups not yet in `dest`, verifying each. Returns the new files and unreachable hosts. */
export async function pullBackups(inv: Inventory, o: PullOptions): Promise<{ pulled: string[]; failed: string[] }> {
  const dest = o.dest ?? join(homedir(), '.quorum', inv.cluster.name, 'backups', 'members');
  mkdirSync(dest, { recursive: true });
  const pulled: string[] = [];
  const failed: string[] = [];
  const re = new RegExp(`^${inv.cluster.name}-\\d{8}T\\d{6}Z-[a-z0-9-]+-r\\d+\\.db$`);
  for (const h of inv.hosts) {
    const c = o.connectorFor(h);
    try {
      const ls = await c.run(`ls -1 ${MEMBER_BACKUP_DIR} 2>/dev/null || true`, { sudo: true });
      for (const name of ls.stdout.split('\n').filter((n) => re.test(n))) {
        const local = join(dest, name);
        if (existsSync(local)) continue;
        const bytes = await c.getFile(`${MEMBER_BACKUP_DIR}/${name}`);
        if (!bytes) continue;
        writeFileSync(`${local}.part`, bytes, { mode: 0o600 });
        const { renameSync, rmSync } = await import('node:fs');
        try {
          verifySnapshot(`${local}.part`);
        } catch (e) {
          rmSync(`${local}.part`, { force: true });
          o.out(`${h.name}: ${name}: ${(e as Error).message}; skipped\n`);
          continue;
        }
        renameSync(`${local}.part`, local);
        pulled.push(local);
        o.out(`${h.name}: pulled ${local}\n`);
      }
    } catch (e) {
      failed.push(h.name);
      o.out(`${h.name}: ${(e as Error).message}\n`);
    } finally {
      await c.close().catch(() => undefined);
    }
  }
  return { pulled, failed };
}
