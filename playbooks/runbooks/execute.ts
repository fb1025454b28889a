/**
 * The runbook executor: runs a plan's steps one at a time, printing `[i/n] host: title` and the outcome, and
 * stops at the first failure with a StepError naming the step, the host and what to do (the plan's remaining
 * steps are printed so the operator can finish by hand or rerun). Gates are steps of the plan.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError } from '../../toolkit/engine/errors.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { applyRetention, saveSnapshot, takeBackup, verifySnapshot, type ClientTls } from '../backup/backup.js';
import { waitHealthy } from '../provision/cluster.js';
import { memberPaths, renderMemberFiles } from '../provision/files.js';
import { statusAll } from '../provision/store.js';
import { isAlarmError } from './facts.js';
import { type ApiCall, type RunbookPlan, type RunbookStep, endpointOf, peerUrlOf, stepCommands, stepHosts } from './steps.js';

/** What the executor needs besides the plan. */
export interface ExecuteContext {
  inv: Inventory;
  /** The connector of a host (cached by the caller; closed by the caller). */
  connectorFor: (h: HostSpec) => Connector;
  tls: ClientTls;
  log: (line: string) => void;
  /** Runs the provision playbook over the inventory (replace-member with a brand-new host). */
  provision?: () => Promise<void>;
  /** Health gate and promotion timeout, ms (default 120 s). */
  timeoutMs?: number;
  now?: () => Date;
}

type Client = InstanceType<typeof import('../../store/client/client.js').StoreClient>;

async function withClient<T>(ctx: ExecuteContext, via: string[], fn: (c: Client, name: string) => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const { StoreClient } = await import('../../store/client/client.js');
  let last: unknown;
  for (const v of via) {
    const c = new StoreClient(endpointOf(ctx.inv, v), ctx.tls, { timeoutMs });
    try {
      return await fn(c, v);
    } catch (e) {
      last = e;
    } finally {
      c.close();
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors a membership or maintenance call may return while the cluster settles (a new leader, a peer just back). */
const TRANSIENT = /unhealthy cluster|leader changed|no leader|timed out|DEADLINE_EXCEEDED|UNAVAILABLE|ECONNREFUSED|not started/i;

/** Runs `fn` again (every second, up to `ms`) while it fails with a transient error. */
async function retryTransient<T>(fn: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!TRANSIENT.test((e as Error).message) || Date.now() >= deadline) throw e;
      await sleep(1_000);
    }
  }
}

/** The member entry whose name or peer URL is `member`'s. */
async function findMember(c: Client, inv: Inventory, member: string) {
  const url = peerUrlOf(inv, member);
  return (await c.memberList()).find((m) => m.name === member || m.peerURLs.includes(url));
}

async function runApi(ctx: ExecuteContext, via: string[], call: ApiCall): Promise<string> {
  const { inv } = ctx;
  const timeout = ctx.timeoutMs ?? 120_000;
  switch (call.op) {
    case 'member-remove':
      return retryTransient(() => withClient(ctx, via, async (c) => {
        const ms = await c.memberList();
        const m = call.id ? ms.find((x) => x.id.toString(16) === call.id) : ms.find((x) => x.name === call.member);
        if (!m) return `${call.member} is not a member (already removed)`;
        await c.unary('Cluster', 'MemberRemove', { ID: m.id.toString() });
        return `removed ${m.id.toString(16)}`;
      }));
    case 'member-add-learner':
      return retryTransient(() => withClient(ctx, via, async (c) => {
        const url = peerUrlOf(inv, call.member);
        const have = (await c.memberList()).find((m) => m.peerURLs.includes(url));
        if (have) return `already a member (${have.id.toString(16)}${have.isLearner ? ', learner' : ''})`;
        const r = await c.unary<{ member: { ID: string } }>('Cluster', 'MemberAdd', { peerURLs: [url], isLearner: true });
        return `added learner ${BigInt(r.member.ID).toString(16)}`;
      }));
    case 'member-promote': {
      const deadline = Date.now() + timeout;
      let last = '';
      for (;;) {
        try {
          const r = await withClient(ctx, via, async (c) => {
            const m = await findMember(c, inv, call.member);
            if (!m) throw new Error(`${call.member} is not in the membership`);
            if (!m.isLearner) return `${m.id.toString(16)} is a voter`;
            await c.unary('Cluster', 'MemberPromote', { ID: m.id.toString() });
            return `promoted ${m.id.toString(16)}`;
          });
          return r;
        } catch (e) {
          last = (e as Error).message.split('\n')[0]!;
          if (/not in the membership/.test(last) || Date.now() >= deadline) throw new Error(`cannot promote ${call.member}: ${last}`);
          await sleep(1_000);
        }
      }
    }
    case 'move-leader':
      return retryTransient(() => withClient(ctx, [call.from], async (c) => {
        const m = await findMember(c, inv, call.to);
        if (!m) throw new Error(`${call.to} is not in the membership`);
        await c.unary('Maintenance', 'MoveLeader', { targetID: m.id.toString() });
        return `leader is now ${call.to}`;
      }));
    case 'compact':
      return withClient(ctx, via, async (c) => {
        const rev = (await c.status()).revision;
        try {
          await c.unary('KV', 'Compact', { revision: String(rev), physical: true });
        } catch (e) {
          if (!/compacted/.test((e as Error).message)) throw e;
        }
        return `compacted at revision ${rev}`;
      }, 60_000);
    case 'defrag': {
      const { defragment } = await import('../../store/client/maintenance.js');
      return withClient(ctx, via, async (c) => {
        await defragment(c);
        return `db size now ${(await c.status()).dbSize} bytes`;
      }, 120_000);
    }
    case 'disarm': {
      const { disarmAll } = await import('../../store/client/maintenance.js');
      return withClient(ctx, via, async (c) => `disarmed ${(await disarmAll(c)).alarms.length} alarm(s)`);
    }
    case 'write-check':
      return withClient(ctx, via, async (c) => {
        try {
          const r = await c.put('quorum-runbook/write-check', new Date().toISOString());
          await c.deleteRange('quorum-runbook/write-check');
          return `write accepted at revision ${r.revision}`;
        } catch (e) {
          const msg = (e as Error).message;
          if (/space exceeded|NOSPACE/i.test(msg)) {
            throw new Error(`writes still refused (${msg.split('\n')[0]}): the live data exceeds the quota; delete keys, or raise quota-backend-bytes in the inventory, \`quorum provision\`, and rerun this runbook`);
          }
          throw e;
        }
      });
    case 'snapshot': {
      mkdirSync(dirname(call.file), { recursive: true });
      const bytes = await saveSnapshot(endpointOf(inv, call.from), ctx.tls, call.file);
      return `${bytes} bytes`;
    }
    case 'verify-restored': {
      const { hashKV } = await import('../../store/client/maintenance.js');
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = await Promise.all(via.map((v) => withClient(ctx, [v], async (c) => {
          const s = await c.status();
          const h = s.revision >= call.revision ? await hashKV(c, call.current ? 0 : call.revision) : undefined;
          return { v, revision: s.revision, hash: h?.hash };
        }).catch((e: Error) => ({ v, revision: -1, hash: undefined, error: e.message }))));
        const hashes = new Set(got.map((g) => g.hash));
        if (got.every((g) => g.revision >= call.revision) && hashes.size === 1 && !hashes.has(undefined)) {
          return `revision ${got.map((g) => `${g.v}=${g.revision}`).join(' ')}; HashKV@${call.revision} ${[...hashes][0]} on every member`;
        }
        if (Date.now() >= deadline) throw new Error(`members disagree after the restore: ${got.map((g) => `${g.v} revision ${g.revision} hash ${g.hash ?? '-'}${'error' in g && g.error ? ` (${g.error})` : ''}`).join('; ')}`);
        await sleep(1_000);
      }
    }
  }
}

function hostOf(inv: Inventory, name: string): HostSpec {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new StepError(name, 'runbook', `${name} is not in the inventory`);
  return h;
}

async function runStep(ctx: ExecuteContext, s: RunbookStep, conns: (n: string) => Connector): Promise<string> {
  const { inv } = ctx;
  switch (s.kind) {
    case 'sh':
      await Promise.all(s.hosts.map(async (h) => {
        for (const cmd of s.cmds) {
          const r = await conns(h).run(cmd, { sudo: true });
          if (r.code !== 0) throw new StepError(h, s.title, `\`${cmd}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`);
        }
      }));
      return 'done';
    case 'push':
      await Promise.all(s.hosts.map((h) => conns(h).putFileFrom(s.local, s.remote, { mode: 0o600 })));
      return 'copied';
    case 'config': {
      const sub: Inventory = { ...inv, cluster: { ...inv.cluster, token: s.token }, hosts: inv.hosts.filter((h) => s.members.includes(h.name)) };
      await Promise.all(s.hosts.map(async (h) => {
        const files = renderMemberFiles(sub, hostOf(inv, h), { clusterState: s.state });
        await conns(h).putFile(memberPaths(inv).config, Buffer.from(files.config), { mode: 0o644, owner: `${inv.cluster.user}:${inv.cluster.user}` });
      }));
      return 'written';
    }
    case 'gate': {
      const sub: Inventory = { ...inv, hosts: inv.hosts.filter((h) => s.members.includes(h.name)) };
      const probe = async () => {
        const rs = await statusAll(sub, ctx.tls);
        return s.allowAlarm ? rs.map((r) => (r.status ? { ...r, status: { ...r.status, errors: r.status.errors.filter((e) => !isAlarmError(e)) } } : r)) : rs;
      };
      const rs = await waitHealthy(sub, s.title, { probe, timeoutMs: ctx.timeoutMs ?? 120_000 });
      const leader = rs.find((r) => r.status && r.status.memberId === r.status.leader)?.name;
      return `healthy (leader ${leader ?? '?'})`;
    }
    case 'api':
      return runApi(ctx, s.via, s.call);
    case 'local':
      if (s.op === 'verify-snapshot') {
        const i = verifySnapshot(s.file);
        return `revision ${i.revision}, hash ${i.hash}, ${i.totalKey} keys, ${i.totalSize} bytes`;
      }
      if (s.op === 'retention') {
        const removed = s.keep ? applyRetention(s.file, inv.cluster.name, s.keep) : [];
        return removed.length ? `removed ${removed.length}: ${removed.join(', ')}` : 'nothing to remove';
      }
      {
        const r = await takeBackup(inv, { dest: s.file, keep: 0, now: ctx.now?.() ?? new Date(), from: s.from ?? inv.hosts[0]!.name, tls: ctx.tls });
        return `${r.info.file}: revision ${r.info.revision}, hash ${r.info.hash}, ${r.info.totalKey} keys`;
      }
    case 'provision':
      if (!ctx.provision) throw new Error('this run cannot provision');
      await ctx.provision();
      return 'provisioned';
  }
}

/** Outcome of `executePlan`. */
export interface ExecuteResult {
  /** Seconds from the first step to the last. */
  seconds: number;
  /** Step results, in order (one line each). */
  results: string[];
}

/**
 * Runs every step of `plan` in order (a refused plan throws StepError host `cluster`, step `precondition`).
 * @throws StepError on the first failing step, naming it, its number and the remaining steps to do by hand.
 */
export async function executePlan(plan: RunbookPlan, ctx: ExecuteContext): Promise<ExecuteResult> {
  if (plan.refused) throw new StepError('cluster', `${plan.runbook}: precondition`, plan.refused);
  const cache = new Map<string, Connector>();
  const conns = (n: string) => {
    let c = cache.get(n);
    if (!c) { c = ctx.connectorFor(hostOf(ctx.inv, n)); cache.set(n, c); }
    return c;
  };
  const t0 = Date.now();
  const results: string[] = [];
  const n = plan.steps.length;
  try {
    for (let i = 0; i < n; i++) {
      const s = plan.steps[i]!;
      const t = Date.now();
      ctx.log(`[${i + 1}/${n}] ${stepHosts(s)}: ${s.title}`);
      try {
        const r = await runStep(ctx, s, conns);
        results.push(r);
        ctx.log(`      ok: ${r} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (e) {
        const left = plan.steps.slice(i).map((x, j) => `  ${i + j + 1}. [${stepHosts(x)}] ${x.title}\n${stepCommands(ctx.inv, x).map((c) => `       $ ${c}\n`).join('')}`).join('');
        ctx.log(`      FAILED. Steps not done (fix the cause, then rerun the runbook or finish them by hand):\n${left}`);
        const host = s.kind === 'sh' || s.kind === 'push' || s.kind === 'config' ? s.hosts.join(',') : stepHosts(s);
        throw StepError.from(host, `${plan.runbook} step ${i + 1}: ${s.title}`, e);
      }
    }
  } finally {
    await Promise.all([...cache.values()].map((c) => c.close().catch(() => undefined)));
  }
  return { seconds: (Date.now() - t0) / 1000, results };
}
