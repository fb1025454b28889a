/**
 * `quorum runbook list`, `quorum runbook docs [--out DIR] [--check]` and
 * `quorum runbook NAME -i FILE [--dry-run] [--member NAME] [--snapshot PATH] [--dest DIR] [--keep N]`
 * (playbooks/runbooks): prints the plan, then acts one step at a time; exit 1 when refused or a step fails.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type SshCliOptions, addSshOptions, sshConnectorsFor } from '../connectors/ssh_cli.js';
import { loadInventory } from '../inventory/index.js';
import { EXIT_FAILURE, ReportedFailure, UsageError } from './errors.js';

/** The runbook names (kept here so `quorum --help` loads no playbook). */
export const RUNBOOK_NAMES = ['backup', 'restore', 'replace-member', 'reset-member', 'recover-quorum', 'nospace', 'doctor'] as const;

interface RunbookFlags extends SshCliOptions { inventory: string; dryRun?: boolean; member?: string; snapshot?: string; dest?: string; keep?: string; fsyncWarnMs?: string; certWarnDays?: string; bumpRevision?: string; markCompacted?: boolean }

/** `quorum runbook doctor`: findings printed, exit 1 when there is any (playbooks/runbooks/doctor-run.ts). */
async function runDoctorCli(o: RunbookFlags): Promise<void> {
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`${flag} must be a number >= 0, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const fsyncWarnMs = num('--fsync-warn-ms', o.fsyncWarnMs);
  const certWarnDays = num('--cert-warn-days', o.certWarnDays);
  const inv = loadInventory(o.inventory);
  const connectorFor = sshConnectorsFor(inv, o);
  const { runDoctor } = await import('../../playbooks/runbooks/doctor-run.js');
  const r = await runDoctor(inv, {
    connectorFor, dryRun: !!o.dryRun,
    thresholds: { ...(fsyncWarnMs !== undefined ? { fsyncWarnMs } : {}), ...(certWarnDays !== undefined ? { certWarnDays } : {}) },
  });
  if (r.findings.length) throw new ReportedFailure(EXIT_FAILURE);
}

/** Parses `--keep`: an integer >= 0. */
export function parseKeep(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--keep must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function runOne(name: string, o: RunbookFlags): Promise<void> {
  const keep = parseKeep(o.keep);
  if (o.bumpRevision !== undefined && !/^\d+$/.test(o.bumpRevision)) throw new UsageError(`--bump-revision must be a whole number >= 0, got ${JSON.stringify(o.bumpRevision)}`);
  const bump = o.bumpRevision !== undefined ? { bumpRevision: Number(o.bumpRevision) } : {};
  const inv = loadInventory(o.inventory);
  const connectorFor = sshConnectorsFor(inv, o);
  const { runRunbook } = await import('../../playbooks/runbooks/index.js');
  const { verifySnapshot } = await import('../../playbooks/backup/backup.js');
  let snapshot;
  if (o.snapshot) {
    try {
      const i = verifySnapshot(o.snapshot);
      snapshot = { file: i.file, revision: i.revision, hash: i.hash };
    } catch (e) {
      process.stderr.write(`quorum: runbook ${name} refused: ${(e as Error).message}\n`);
      throw new ReportedFailure(EXIT_FAILURE);
    }
  }
  const provision = async () => {
    const { provision: run } = await import('../../playbooks/provision/index.js');
    const r = await run(inv, { connectorFor });
    if (r.errors.length) throw new Error(r.errors.map((e) => e.message).join('; '));
  };
  const r = await runRunbook(inv, name, {
    now: new Date(), dryRun: !!o.dryRun, connectorFor, provision,
    ...(o.member ? { member: o.member } : {}), ...(snapshot ? { snapshot } : {}),
    ...(o.dest ? { dest: o.dest } : {}), ...(keep !== undefined ? { keep } : {}),
    ...bump, ...(o.markCompacted ? { markCompacted: true } : {}),
  });
  if (r.plan.refused) {
    process.stderr.write(`quorum: runbook ${name} refused, nothing was changed: ${r.plan.refused}\n`);
    throw new ReportedFailure(EXIT_FAILURE);
  }
}

/** Registers `runbook` and its subcommands on `program`. */
export function registerRunbook(program: Command): void {
  const rb = program.command('runbook').description('disaster recovery runbooks: plan, show, then act one step at a time behind health gates');
  rb.command('list').description('list the runbooks and when to use each').action(async () => {
    const { formatRunbookList } = await import('../../playbooks/runbooks/registry.js');
    process.stdout.write(formatRunbookList());
  });
  rb.command('docs')
    .description('write docs/runbooks/ (generated from the runbooks themselves); --check compares instead')
    .option('--out <dir>', 'output directory', 'docs/runbooks')
    .option('--check', 'exit 1 when the files in --out differ from the generated ones')
    .action(async (o: { out: string; check?: boolean }) => {
      const { generateRunbookDocs } = await import('../../playbooks/runbooks/docs.js');
      const docs = generateRunbookDocs();
      const stale = [...docs].filter(([f, text]) => !existsSync(join(o.out, f)) || readFileSync(join(o.out, f), 'utf8') !== text).map(([f]) => f);
      if (o.check) {
        if (stale.length) {
          process.stderr.write(`quorum: ${stale.join(', ')} in ${o.out} differ from the runbooks (fix: quorum runbook docs --out ${o.out})\n`);
          throw new ReportedFailure(EXIT_FAILURE);
        }
        return;
      }
      mkdirSync(o.out, { recursive: true });
      for (const [f, text] of docs) writeFileSync(join(o.out, f), text);
      process.stdout.write(`wrote ${docs.size} files to ${o.out}\n`);
    });
  for (const name of RUNBOOK_NAMES) {
    const c = addSshOptions(rb.command(name))
      .description(`run the ${name} runbook (prints its plan first)`)
      .requiredOption('-i, --inventory <file>', 'inventory YAML file')
      .option('--dry-run', 'print the plan and change nothing');
    if (name === 'replace-member' || name === 'reset-member') c.requiredOption('--member <name>', 'the member (inventory host name)');
    if (name === 'restore') {
      c.requiredOption('--snapshot <path>', 'the backup file to restore')
        .option('--bump-revision <n>', 'add N to the restored revision (etcd 3.5; with --mark-compacted)')
        .option('--mark-compacted', 'mark the restored revision compacted so watchers re-list (with --bump-revision)');
    }
    if (name === 'recover-quorum') c.option('--snapshot <path>', 'seed the new cluster from this backup instead of a survivor');
    if (name === 'backup') c.option('--dest <dir>', 'backup directory (default ~/.quorum/<cluster>/backups)').option('--keep <n>', 'retention count (0 keeps all)', '48');
    if (name === 'doctor') c.option('--fsync-warn-ms <ms>', 'warn when WAL fsync p99 (or a dsync write) takes longer', '10').option('--cert-warn-days <n>', 'warn when a certificate has fewer days left', '30');
    c.action(async (o: RunbookFlags) => (name === 'doctor' ? runDoctorCli(o) : runOne(name, o)));
  }
}
