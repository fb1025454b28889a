/**
 * The upgrade playbook (`quorum upgrade`): read every member's releases (upgrade-facts.ts, over the connector)
 * and status (mTLS), choose the target (the given release, or with `rollback` the previous one), plan
 * (upgrade.ts `planUpgrade`), print the plan, and unless it is a dry run execute it (upgrade-rolling.ts
 * `runRolling`): the new release is unpacked beside the active one on every member (nothing restarts), then
 * members switch one at a time, followers first, leadership moved away before the leader's switch, each
 * followed by the health gate and a check that the member runs the new release; a member that fails is
 * switched back and the upgrade stops. The old release stays installed for `--rollback`.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError, executeCommand } from '../../toolkit/engine/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { releaseOp, run } from '../../toolkit/operations/index.js';
import { type HealthOptions, closeAll, waitHealthy } from './cluster.js';
import { RELEASE_ROOT, UNIT } from './defaults.js';
import type { LocalRelease } from './release.js';
import { statusAll } from './store.js';
import { type UpgradePlan, type UpgradeMember, formatUpgradePlan, planUpgrade, rollbackTarget } from './upgrade.js';
import { type MemberReleases, type VersionRow, formatVersionsTable, parseReleases, releasesCommand, switchCommand } from './upgrade-facts.js';
import { leadershipOf, liveLeadership, moveLeaderLive } from './upgrade-leader.js';
import { type EncodingFacts, encodingRefusal, encodingsCommand, parseEncodings } from './upgrade-encoding.js';
import { type RollingReport, type UpgradeOps, runRolling } from './upgrade-rolling.js';

/** Options of `upgrade`. Exactly one of `release` and `rollback`. */
export interface UpgradeOptions {
  /** The release to switch to (the local tarball with its SHA-256 and version). */
  release?: LocalRelease;
  /** Switch back to the previous release (`rollbackTarget`). */
  rollback?: boolean;
  /** Print the releases table and the plan; change nothing. */
  dryRun?: boolean;
  /** Connector per host, chosen by the caller (the CLI: SSH from the inventory). */
  connectorFor: (h: HostSpec) => Connector;
  /** Where report text goes (default stdout). */
  out?: (text: string) => void;
  /** Health gate tuning (tests). */
  health?: HealthOptions;
}

/** Outcome of `upgrade`: failures (a refusal, a failed step) are in `errors`. */
export interface UpgradeResult {
  target?: string;
  plan?: UpgradePlan;
  report?: RollingReport;
  /** Each member's releases after the run (before it in a dry run). */
  versions: VersionRow[];
  errors: StepError[];
}

/** Reads every member's releases in parallel; a member that cannot be read gets `error`. Never throws. */
export async function readReleases(inv: Inventory, conns: Connector[]): Promise<VersionRow[]> {
  return Promise.all(inv.hosts.map(async (h, i) => {
    try {
      const r = await conns[i]!.run(releasesCommand(), { sudo: true });
      if (r.code !== 0) return { name: h.name, error: (r.stderr.trim() || `exit ${r.code}`).split('\n')[0]! };
      return { name: h.name, releases: parseReleases(r.stdout) };
    } catch (e) {
      return { name: h.name, error: (e as Error).message.split('\n')[0]! };
    }
  }));
}

/**
 * Each member's release facts for the entry-encoding check (upgrade-encoding.ts): the encoding of the release it
 * runs and, when installed there, of `target`, read with `quorumd --version` on the host (one command per host, in
 * parallel). A host that cannot be read gets 'unknown' (treated as v2 for the current release). Never throws.
 */
export async function readEncodings(rows: VersionRow[], conns: Connector[], target: string): Promise<EncodingFacts[]> {
  return Promise.all(rows.map(async (r, i): Promise<EncodingFacts> => {
    const x = r.releases!;
    const current = x.running ?? x.active ?? '(none)';
    const installed = current === target || x.installed[target] !== undefined;
    let enc: Record<string, number | 'unknown'> = {};
    try {
      const got = await conns[i]!.run(encodingsCommand(installed ? [current, target] : [current]), { sudo: true });
      enc = parseEncodings(got.stdout);
    } catch {
      /* unknown */
    }
    return { name: r.name, current, currentEncoding: enc[current] ?? 'unknown', ...(installed ? { targetEncoding: enc[target] ?? 'unknown' } : {}) };
  }));
}

/**
 * Pure preflight of an upgrade to `release` (after `planUpgrade` agreed): refuses a target version that a
 * member already has installed from another build while it is active there (the directory cannot be replaced
 * under a running member: give the new build its own version). Returns the problems.
 */
export function upgradeConflicts(rows: VersionRow[], release: { version: string; sha256: string }): string[] {
  return rows.flatMap((r) => {
    const x = r.releases;
    const sha = x?.installed[release.version];
    if (!x || !sha || sha === release.sha256) return [];
    if (x.active !== release.version && x.running !== release.version) return [];
    return [`${r.name} runs release ${release.version} from another build (sha256 ${sha.slice(0, 12)}, the tarball has ${release.sha256.slice(0, 12)}): build the new release with its own version`];
  });
}

/** Pure preflight of a rollback to `version`: every member that switches must still have it installed. */
export function rollbackConflicts(rows: VersionRow[], version: string): string[] {
  return rows.flatMap((r) => {
    const x = r.releases;
    if (!x || (x.running ?? x.active) === version || x.installed[version]) return [];
    return [`${r.name} no longer has release ${version} installed in ${RELEASE_ROOT}/${version}: upgrade with --release to its tarball instead`];
  });
}

/**
 * Runs (or with `dryRun` only plans) an upgrade or rollback of `inv`'s cluster. Throws Error only for bad
 * options; everything else (unreachable members, a refused plan, a failed switch) comes back in `errors`.
 */
export async function upgrade(inv: Inventory, opts: UpgradeOptions): Promise<UpgradeResult> {
  if (!!opts.release === !!opts.rollback) throw new Error('upgrade: give exactly one of a release and rollback');
  const out = opts.out ?? ((t: string) => { process.stdout.write(t); });
  const log = (l: string) => out(`${l}\n`);
  const conns = inv.hosts.map((h) => opts.connectorFor(h));
  const fail = (versions: VersionRow[], host: string, step: string, detail: string, remedy?: string, extra: Partial<UpgradeResult> = {}): UpgradeResult =>
    ({ versions, errors: [new StepError(host, step, detail, remedy)], ...extra });
  try {
    const [rows, statuses] = await Promise.all([readReleases(inv, conns), statusAll(inv)]);
    out(`releases of cluster ${inv.cluster.name}:\n${formatVersionsTable(rows)}`);
    const unread = rows.find((r) => !r.releases);
    if (unread) return fail(rows, unread.name, 'read releases', unread.error ?? 'not read', 'check that the host is up and reachable over SSH');
    const healthy = new Map(statuses.map((s) => [s.name, !!s.status && !s.status.errors.length && s.status.leader !== 0n]));
    const releasesOf = (name: string): MemberReleases => rows.find((r) => r.name === name)!.releases!;
    const members: UpgradeMember[] = rows.map((r) => ({
      name: r.name, active: r.releases!.running ?? r.releases!.active ?? '(none)', healthy: healthy.get(r.name) ?? false,
    }));
    let target: string;
    let conflicts: string[];
    if (opts.rollback) {
      const t = rollbackTarget(rows.map((r) => ({ name: r.name, ...optional('active', r.releases!.running ?? r.releases!.active), ...optional('previous', r.releases!.previous) })));
      if (!t.ok) {
        out(`rollback: REFUSED: ${t.reason}\n`);
        return fail(rows, 'cluster', 'rollback', t.reason);
      }
      target = t.version;
      conflicts = rollbackConflicts(rows, target);
    } else {
      target = opts.release!.version;
      conflicts = upgradeConflicts(rows, opts.release!);
    }
    const leader = leadershipOf(statuses).leader;
    let plan = planUpgrade(members, target, leader);
    if (plan.ok && conflicts.length) plan = { ok: false, reason: conflicts.join('; '), steps: [] };
    // A rollback installs nothing: the previous release is still on every member (checked above).
    if (plan.ok && opts.rollback) plan = { ok: true, steps: plan.steps.filter((s) => s.op !== 'install') };
    // entry encoding (upgrade-encoding.ts): never switch a cluster whose log may hold v2 entries to a pre-v2 release
    const how = opts.rollback ? 'rollback' : 'upgrade';
    const encodings = plan.ok && plan.steps.length ? await readEncodings(rows, conns, target) : [];
    let encodingFix: string | undefined;
    const refusal = encodingRefusal(encodings, target, how, inv.file);
    if (plan.ok && refusal) {
      plan = { ok: false, reason: refusal.reason, steps: [] };
      encodingFix = refusal.fix;
    }
    out(`${opts.rollback ? 'rollback: ' : ''}${formatUpgradePlan(plan, target)}`);
    if (!plan.ok) return fail(rows, 'cluster', how, plan.reason, encodingFix, { target, plan });
    if (encodings.some((e) => e.targetEncoding === undefined)) log(`entry encoding of release ${target}: read on each host after unpacking it, before any member switches`);
    if (opts.dryRun) {
      out('dry run: nothing changed\n');
      return { target, plan, versions: rows, errors: [] };
    }
    if (!plan.steps.length) return { target, plan, versions: rows, errors: [] };

    const conn = (host: string): Connector => conns[inv.hosts.findIndex((h) => h.name === host)]!;
    const health = { log, ...opts.health };
    const restart = (host: string) => executeCommand(conn(host), run(`systemctl reset-failed ${UNIT} 2>/dev/null; systemctl restart ${UNIT}`));
    const ops: UpgradeOps = {
      gate: async (why) => { await waitHealthy(inv, why, health); },
      leadership: () => liveLeadership(inv, opts.health?.probe),
      moveLeader: (from, to) => moveLeaderLive(inv, from, to),
      restart,
      install: async (host, version) => {
        const rel = opts.release!;
        if (version !== rel.version) throw new Error(`install of ${version} asked, the tarball is ${rel.version}`);
        const layout = { root: RELEASE_ROOT, version, links: {} };
        const sha = releasesOf(host).installed[version];
        const r = releaseOp({ links: {}, ...optional('installedSha256', sha) }, { layout, tarball: rel.tarball, sha256: rel.sha256 });
        for (const c of r.commands) await executeCommand(conn(host), c);
        log(`  ${host}: ${r.changed ? `unpacked to ${RELEASE_ROOT}/${version}` : r.reason}`);
        // the target's entry encoding, now that it is on the host: refused before any member switches
        const i = encodings.findIndex((e) => e.name === host);
        if (i >= 0 && encodings[i]!.targetEncoding === undefined) {
          const got = await conn(host).run(encodingsCommand([version]), { sudo: true });
          encodings[i] = { ...encodings[i]!, targetEncoding: parseEncodings(got.stdout)[version] ?? 'unknown' };
          const late = encodingRefusal(encodings, target, how, inv.file);
          if (late) throw new StepError('cluster', how, late.reason, `${late.fix} (release ${version} stays unpacked beside the active one; nothing runs it)`);
        }
      },
      switchRelease: async (host, from, to) => {
        await executeCommand(conn(host), run(switchCommand(to, from)));
        await restart(host);
      },
      switchBack: async (host, to) => {
        await executeCommand(conn(host), run(switchCommand(to, releasesOf(host).previous)));
        await restart(host);
      },
      runningVersion: async (host) => {
        const r = await conn(host).run(releasesCommand(), { sudo: true });
        return parseReleases(r.stdout).running;
      },
      log,
    };
    let report: RollingReport | undefined;
    const errors: StepError[] = [];
    try {
      report = await runRolling(plan.steps, ops);
    } catch (e) {
      errors.push(StepError.from('cluster', opts.rollback ? 'rollback' : 'upgrade', e));
    }
    const after = await readReleases(inv, conns);
    out(`releases of cluster ${inv.cluster.name} after the ${opts.rollback ? 'rollback' : 'upgrade'}:\n${formatVersionsTable(after)}`);
    if (!errors.length) {
      const keep = opts.rollback ? 'its tarball' : opts.release!.tarball;
      out(`every member runs ${target} (${report!.done.length} switched); keep \`quorum provision\` on it: cluster.release in the inventory must name ${keep}\n`);
    }
    return { target, plan, versions: after, errors, ...(report ? { report } : {}) };
  } finally {
    await closeAll(conns);
  }
}

/** `{ [key]: value }` when value is defined, else `{}` (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
