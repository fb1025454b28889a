/**
 * The live side of membership changes: the cluster API over mTLS (StoreClient.unary: Cluster.MemberList /
 * MemberAdd / MemberPromote / MemberRemove, Maintenance.Status / MoveLeader) and the host operations through
 * connectors, plus `membershipPhase`, the provision hook: when a cluster already answers and the inventory's
 * host set differs from its member list, plan (and in a real run execute) the transitions before the usual
 * per-host convergence. Otherwise it does nothing.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { type HostPlan, Recap, StepError, applyPlans, executeCommand } from '../../toolkit/engine/index.js';
import {
  fileContentFact, fileFact, gatherFacts, nftTableFact, sshClientFact, systemdUnitFact, want,
} from '../../toolkit/facts/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type OperationResult, fileOp, run } from '../../toolkit/operations/index.js';
import { type HealthOptions, waitHealthy } from './cluster.js';
import { HANDLER_DAEMON_RELOAD, NFT_FAMILY, NFT_TABLE, STATUS_RPC_TIMEOUT_MS, UNIT } from './defaults.js';
import { memberPaths, renderMemberFiles } from './files.js';
import { firewallFactRequests, firewallStepOp } from './firewall.js';
import { type MembershipPlan, formatMembershipPlan, planMembership } from './membership.js';
import { type LiveMember, type MembershipApi, type MembershipHostOps, runMembership } from './membership-run.js';
import { type ProvisionInputs, planMember, readMember } from './plan.js';
import { readClientTls, shortError } from './store.js';

type Tls = { ca: Buffer; cert: Buffer; key: Buffer };
interface UnaryClient {
  unary<T>(service: string, method: string, req: unknown): Promise<T>;
  close(): void;
}

/** The address in a peer URL (`https://10.0.0.1:2380` -> `10.0.0.1`). */
export function addressOfUrl(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/:\d+\/?$/, '').replace(/^\[|\]$/g, '');
}

/**
 * The cluster API over mTLS. `addressOf` maps an inventory host name to its address (for MemberAdd and for
 * naming a learner that has not started yet).
 */
export async function liveMembershipApi(inv: Inventory, tls: Tls, seeds: string[]): Promise<MembershipApi & { close(): void }> {
  const { StoreClient } = await import('../../store/client/client.js');
  const clients = new Map<string, UnaryClient>();
  const client = (address: string): UnaryClient => {
    let c = clients.get(address);
    if (!c) {
      c = new StoreClient(`https://${address}:${inv.cluster.clientPort}`, tls, { timeoutMs: STATUS_RPC_TIMEOUT_MS }) as unknown as UnaryClient;
      clients.set(address, c);
    }
    return c;
  };
  const byAddress = new Map(inv.hosts.map((h) => [h.address, h.name]));
  let last: LiveMember[] = [];
  const addressOfId = (id: bigint): string => {
    const m = last.find((x) => x.id === id);
    if (!m) throw new Error(`member ${id.toString(16)} is not in the member list`);
    return m.address;
  };
  type Status = { leader: string; member_id?: string; raftAppliedIndex?: string; raft_applied_index?: string; errors?: string[]; header?: { member_id: string } };
  const status = (address: string) => client(address).unary<Status>('Maintenance', 'Status', {});
  const applied = (s: Status) => BigInt(s.raftAppliedIndex ?? s.raft_applied_index ?? '0');
  const leaderAddress = async (): Promise<string> => {
    const l = (await api.members()).find((m) => m.isLeader);
    if (!l) throw new Error('the cluster has no leader');
    return l.address;
  };

  const api: MembershipApi & { close(): void } = {
    async members() {
      type Wire = { ID: string; name: string; peerURLs: string[]; isLearner?: boolean };
      // Every seed at once (bounded by the RPC deadline): the first answer wins.
      let list: Wire[];
      try {
        list = await Promise.any(seeds.map(async (a) => (await client(a).unary<{ members: Wire[] }>('Cluster', 'MemberList', {})).members));
      } catch (e) {
        const errs = e instanceof AggregateError ? e.errors.map((x: Error) => shortError(x.message)) : [String(e)];
        throw new Error(`no member answers MemberList (${errs.join('; ')})`);
      }
      last = await Promise.all(list.map(async (m): Promise<LiveMember> => {
        const address = addressOfUrl(m.peerURLs[0] ?? '');
        const id = BigInt(m.ID);
        let healthy = false;
        let isLeader = false;
        try {
          const s = await status(address);
          healthy = !(s.errors ?? []).length && BigInt(s.leader) !== 0n;
          isLeader = BigInt(s.leader) === id;
        } catch { /* not answering: unhealthy */ }
        return { id, name: m.name || byAddress.get(address) || address, address, isLearner: !!m.isLearner, healthy, isLeader };
      }));
      return last;
    },
    async addLearner(name) {
      const h = inv.hosts.find((x) => x.name === name);
      if (!h) throw new Error(`${name} is not in the inventory`);
      const r = await client(await leaderAddress()).unary<{ member: { ID: string } }>('Cluster', 'MemberAdd',
        { peerURLs: [`https://${h.address}:${inv.cluster.peerPort}`], isLearner: true });
      const id = BigInt(r.member.ID);
      last.push({ id, name, address: h.address, isLearner: true, healthy: false, isLeader: false });
      return id;
    },
    async promote(id) { await client(await leaderAddress()).unary('Cluster', 'MemberPromote', { ID: id.toString() }); },
    async remove(id) { await client(await leaderAddress()).unary('Cluster', 'MemberRemove', { ID: id.toString() }); },
    async moveLeader(leaderId, targetId) {
      await client(addressOfId(leaderId)).unary('Maintenance', 'MoveLeader', { targetID: targetId.toString() });
    },
    async caughtUp(id) {
      const leader = await status(await leaderAddress());
      try {
        return applied(await status(addressOfId(id))) >= applied(leader);
      } catch {
        return false;
      }
    },
    close() { for (const c of clients.values()) { try { c.close(); } catch { /* closed */ } } },
  };
  return api;
}

/** Options of `membershipPhase`. */
export interface MembershipPhaseOptions {
  connectorFor: (h: HostSpec) => Connector;
  dryRun: boolean;
  allowEven: boolean;
  out: (text: string) => void;
  log: (line: string) => void;
  health?: HealthOptions;
  /** Replaces the live API (tests). */
  api?: MembershipApi & { close?(): void };
}

/** Outcome: `plan` when the membership differs (printed or executed), `errors` when refused or failed. */
export interface MembershipPhaseResult {
  plan?: MembershipPlan;
  errors: StepError[];
}

/**
 * The provision hook. Does nothing (no plan, no errors) when there is no operator client certificate yet, no
 * member answers, or the member list equals the inventory. Never throws: problems come back in `errors`.
 */
export async function membershipPhase(inputs: ProvisionInputs, o: MembershipPhaseOptions): Promise<MembershipPhaseResult> {
  const { inv } = inputs;
  let api = o.api;
  if (!api) {
    let tls: Tls;
    try { tls = readClientTls(inv); } catch { return { errors: [] }; }
    api = await liveMembershipApi(inv, tls, inv.hosts.map((h) => h.address));
  }
  try {
    let members: LiveMember[];
    try { members = await api.members(); } catch { return { errors: [] }; }
    const desired = inv.hosts.map((h) => h.name);
    const same = members.length === desired.length && members.every((m) => !m.isLearner && desired.includes(m.name));
    if (same) return { errors: [] };
    const plan = planMembership(desired, members, { allowEven: o.allowEven });
    if (o.dryRun || !plan.ok) {
      o.out(formatMembershipPlan(plan));
      return { plan, errors: plan.ok ? [] : [new StepError('cluster', 'membership', plan.reason, 'fix the inventory (or pass --allow-even)')] };
    }
    o.out(formatMembershipPlan(plan));
    const specs = new Map(inv.hosts.map((h) => [h.name, h]));
    for (const m of members) if (!specs.has(m.name)) specs.set(m.name, removedHostSpec(inv, m.name, m.address));
    const conns = new Map<string, Connector>();
    const conn = (name: string): Connector => {
      let c = conns.get(name);
      if (!c) { c = o.connectorFor(specs.get(name)!); conns.set(name, c); }
      return c;
    };
    const view = (names: string[]): Inventory => ({ ...inv, hosts: names.map((n) => specs.get(n)!) });
    try {
      const ops = await operatorAddressesOf(members.filter((m) => m.healthy).map((m) => conn(m.name)));
      await runMembership(plan, {
        api,
        hosts: liveHostOps(inputs, { spec: (n) => specs.get(n)!, conn, view, ops, log: o.log }),
        gate: async (voters, why) => { await waitHealthy(view(voters), why, { log: o.log, ...o.health }); },
        log: o.log,
        warn: (l) => o.out(`warning: ${l}\n`),
      });
      return { plan, errors: [] };
    } catch (e) {
      return { plan, errors: [StepError.from('cluster', 'membership', e)] };
    } finally {
      await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
    }
  } finally {
    api.close?.();
  }
}

/** A host that left the inventory but is still a member: reached with the cluster's SSH settings. */
export function removedHostSpec(inv: Inventory, name: string, address: string): HostSpec {
  return { name, address, ssh: { ...inv.ssh }, store: { ...inv.cluster.store } };
}

async function operatorAddressesOf(conns: Connector[]): Promise<string[]> {
  const seen = await Promise.all(conns.map(async (c) => {
    try { return (await gatherFacts(c, [want(sshClientFact, {})])).get(sshClientFact, {}); } catch { return undefined; }
  }));
  return [...new Set(seen.filter((a): a is string => !!a))].sort();
}

async function apply(c: Connector, r: OperationResult): Promise<void> {
  for (const cmd of r.commands) await executeCommand(c, cmd);
}

/** The host operations through connectors (see MembershipHostOps). */
export function liveHostOps(inputs: ProvisionInputs, ctx: {
  spec: (name: string) => HostSpec; conn: (name: string) => Connector; view: (names: string[]) => Inventory;
  ops: string[]; log: (line: string) => void;
}): MembershipHostOps {
  const { inv } = inputs;
  const p = memberPaths(inv);
  return {
    async updatePeers(hosts, before, after) {
      for (const name of hosts) {
        const c = ctx.conn(name);
        const h = ctx.spec(name);
        const f = await gatherFacts(c, [
          want(fileContentFact, { path: p.hosts }), want(fileFact, { path: p.hosts }), want(fileFact, { path: p.config }),
          want(fileContentFact, { path: p.config }), want(fileFact, { path: p.nft }), want(nftTableFact, { family: NFT_FAMILY, table: NFT_TABLE }),
          want(fileContentFact, { path: '/etc/nftables.conf' }), want(systemdUnitFact, { unit: 'nftables.service' }),
          ...firewallFactRequests(inv),
        ]);
        const next = renderMemberFiles(ctx.view(after), h, { clusterState: 'existing', operatorAddresses: ctx.ops });
        const prev = renderMemberFiles(ctx.view(before), h, { clusterState: 'existing', operatorAddresses: ctx.ops });
        await apply(c, fileOp(f.get(fileFact, { path: p.hosts }), {
          path: p.hosts, content: Buffer.from(next.hosts(f.get(fileContentFact, { path: p.hosts }) ?? '')), owner: 'root', group: 'root', mode: '0644',
        }));
        await apply(c, firewallStepOp(f, ctx.view(after), h, next.nft, ctx.ops));
        // initial-cluster is only read at start: rewrite without restart, but only when nothing else is pending
        // (a config with other changes is left to the convergence pass, which restarts it properly).
        const cfg = f.get(fileFact, { path: p.config });
        const onDisk = f.get(fileContentFact, { path: p.config });
        if (cfg.exists && onDisk !== undefined && withoutInitialCluster(onDisk) === withoutInitialCluster(prev.config)) {
          await apply(c, fileOp(cfg, { path: p.config, content: Buffer.from(next.config), owner: inv.cluster.user, group: inv.cluster.user, mode: '0644' }));
        } else {
          ctx.log(`${name}: config has other pending changes; initial-cluster is updated by the convergence pass`);
        }
      }
    },
    async provisionJoiner(host, view) {
      const vInputs: ProvisionInputs = { ...inputs, inv: ctx.view(view) };
      const m = await readMember(vInputs, ctx.spec(host), ctx.conn(host));
      const plan: HostPlan = { host, connector: ctx.conn(host), steps: planMember(vInputs, m, 'existing', ctx.ops) };
      const r = await applyPlans([plan], {
        recap: new Recap([host]), renderer: 'silent',
        handlers: { [HANDLER_DAEMON_RELOAD]: () => [run('systemctl daemon-reload')] },
      });
      if (r.errors.length) throw r.errors[0];
    },
    async start(host) {
      await executeCommand(ctx.conn(host), run(`systemctl reset-failed ${UNIT} 2>/dev/null; systemctl start --no-block ${UNIT}`));
    },
    async stop(host) {
      await executeCommand(ctx.conn(host), run(`systemctl disable --now ${UNIT}`));
    },
    async wipe(host) {
      const dir = inv.cluster.dataDir.replace(/\/+$/, '');
      if (!dir.startsWith('/') || dir.split('/').filter(Boolean).length < 2) throw new Error(`refusing to wipe data dir "${inv.cluster.dataDir}"`);
      await executeCommand(ctx.conn(host), run(`[ ! -d ${dir} ] || find ${dir} -mindepth 1 -delete`));
    },
  };
}

/** A rendered config without its `initial-cluster` and `initial-cluster-state` lines (only read at start: rewritten without a restart). */
export function withoutInitialCluster(config: string): string {
  return config.split('\n').filter((l) => !/^initial-cluster(-state)?:/.test(l)).join('\n');
}
