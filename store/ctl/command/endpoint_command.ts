/**
 * `endpoint health` and `endpoint status` (etcdctl ctlv3/command/ep_command.go), with --cluster (use every
 * member's client URLs from member list). Health = a linearizable Get of key "health" plus no active alarm;
 * the simple health lines go to stderr; any unhealthy endpoint ends with "Error: unhealthy cluster" (exit 1).
 */
import { Command } from 'commander';
import { StoreError } from '../../client/client.js';
import { hashKV } from '../../client/maintenance.js';
import { CtlError, clientFor, errorMessage, globals, headerJson, withClient, type Globals } from '../global.js';
import { RawJson, formatGoDuration, goJson, humanizeBytes, oe, renderStatusTable, renderTable, type StatusRow } from '../printer.js';

async function endpointsOf(g: Globals, cluster: boolean): Promise<string[]> {
  if (!cluster) return g.endpoints;
  const members = await withClient(g, (c) => c.memberList());
  const seen = new Set<string>();
  for (const m of members) for (const u of m.clientURLs) seen.add(u);
  return [...seen];
}

const ALARMS: Record<number, string> = { 1: 'NOSPACE', 2: 'CORRUPT' };

/** One endpoint's health as etcdctl computes it. */
export async function checkHealth(g: Globals, ep: string): Promise<{ endpoint: string; health: boolean; tookNs: number; error?: string }> {
  const c = clientFor(g, ep);
  const start = process.hrtime.bigint();
  try {
    try {
      await c.range('health');
    } catch (e) {
      if (!(e instanceof StoreError && e.details === 'etcdserver: permission denied')) throw e;
    }
    const tookNs = Number(process.hrtime.bigint() - start);
    const alarms = await c.alarmList();
    if (alarms.length > 0) {
      return { endpoint: ep, health: false, tookNs, error: `Active Alarm(s): ${alarms.map((a) => ALARMS[a.alarm] ?? String(a.alarm)).join(' ')}` };
    }
    return { endpoint: ep, health: true, tookNs };
  } catch (e) {
    return { endpoint: ep, health: false, tookNs: Number(process.hrtime.bigint() - start), error: errorMessage(e) };
  } finally {
    c.close();
  }
}

export function endpointCommand(out: (s: string) => void, err: (s: string) => void): Command {
  const ep = new Command('endpoint').description('Endpoint related commands');
  ep.command('health')
    .description('Checks the healthiness of endpoints specified in `--endpoints` flag')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(async (o: { cluster?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const eps = await endpointsOf(g, !!o.cluster);
      const results = await Promise.all(eps.map((e) => checkHealth(g, e)));
      if (g.writeOut === 'json') {
        out(goJson(results.map((r) => ({ endpoint: r.endpoint, health: r.health, took: formatGoDuration(r.tookNs), error: r.error }))) + '\n');
      } else if (g.writeOut === 'table') {
        out(renderTable(['endpoint', 'health', 'took', 'error'], results.map((r) => [r.endpoint, String(r.health), formatGoDuration(r.tookNs), r.error ?? ''])));
      } else {
        for (const r of results) {
          if (r.health) err(`${r.endpoint} is healthy: successfully committed proposal: took = ${formatGoDuration(r.tookNs)}\n`);
          else err(`${r.endpoint} is unhealthy: failed to commit proposal: ${r.error}\n`);
        }
      }
      if (results.some((r) => !r.health)) throw new CtlError('unhealthy cluster');
    });
  ep.command('status')
    .description('Prints out the status of endpoints specified in `--endpoints` flag')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(async (o: { cluster?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const eps = await endpointsOf(g, !!o.cluster);
      const rows: StatusRow[] = [];
      const full: { ep: string; s: Awaited<ReturnType<ReturnType<typeof clientFor>['status']>> }[] = [];
      let failed = false;
      for (const e of eps) {
        const c = clientFor(g, e);
        try {
          const s = await c.status();
          full.push({ ep: e, s });
          rows.push({
            endpoint: e, id: s.memberId, version: s.version, dbSize: s.dbSize, isLeader: s.leader === s.memberId && s.leader !== 0n,
            isLearner: s.isLearner, raftTerm: s.raftTerm, raftIndex: s.raftIndex, raftAppliedIndex: s.raftAppliedIndex, errors: s.errors,
          });
        } catch (x) {
          failed = true;
          err(`Failed to get the status of endpoint ${e} (${errorMessage(x)})\n`);
        } finally {
          c.close();
        }
      }
      if (g.writeOut === 'json') {
        out(goJson(full.map(({ ep: e, s }) => ({
          Endpoint: e,
          Status: {
            header: headerJson(s.header), version: oe(s.version), dbSize: oe(s.dbSize), leader: s.leader !== 0n ? new RawJson(s.leader.toString()) : undefined,
            raftIndex: oe(s.raftIndex), raftTerm: oe(s.raftTerm), raftAppliedIndex: oe(s.raftAppliedIndex), errors: oe(s.errors),
            dbSizeInUse: oe(s.dbSizeInUse), isLearner: oe(s.isLearner),
          },
        }))) + '\n');
      } else if (g.writeOut === 'table') {
        out(renderStatusTable(rows));
      } else {
        for (const r of rows) {
          out([r.endpoint, r.id.toString(16), r.version, humanizeBytes(r.dbSize), String(r.isLeader), String(r.isLearner),
            String(r.raftTerm), String(r.raftIndex), String(r.raftAppliedIndex), r.errors.join(', ')].join(', ') + '\n');
        }
      }
      if (failed && rows.length === 0) throw new CtlError('no endpoint status available');
    });
  ep.command('hashkv')
    .description('Prints the KV history hash for each endpoint in --endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .option('--rev <rev>', 'maximum revision to hash (default: all revisions)', '0')
    .action(async (o: { cluster?: boolean; rev: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!/^-?\d+$/.test(o.rev)) throw new CtlError(`invalid argument "${o.rev}" for "--rev" flag: strconv.ParseInt: parsing "${o.rev}": invalid syntax`);
      const eps = await endpointsOf(g, !!o.cluster);
      const list: { ep: string; r: Awaited<ReturnType<typeof hashKV>> }[] = [];
      let failure: unknown;
      for (const e of eps) {
        const c = clientFor(g, e);
        try {
          list.push({ ep: e, r: await hashKV(c, Number(o.rev)) });
        } catch (x) {
          failure = x;
          err(`Failed to get the hash of endpoint ${e} (${errorMessage(x)})\n`);
        } finally {
          c.close();
        }
      }
      if (g.writeOut === 'json') {
        out(goJson(list.map(({ ep: e, r }) => ({
          Endpoint: e,
          HashKV: { header: headerJson(r.header), hash: oe(r.hash), compact_revision: oe(r.compactRevision) },
        }))) + '\n');
      } else if (g.writeOut === 'table') {
        out(renderTable(['endpoint', 'hash'], list.map(({ ep: e, r }) => [e, String(r.hash)])));
      } else {
        for (const { ep: e, r } of list) out(`${e}, ${r.hash}\n`);
      }
      if (failure !== undefined) throw new CtlError(errorMessage(failure));
    });
  return ep;
}
