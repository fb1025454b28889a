/**
 * More faults (issue 4): membership changes under load (remove a member, add it back as a learner on an
 * empty data dir, promote it), compaction and defragmentation under load, kill -9 of the leader during a
 * burst of concurrent txns, SIGSTOP of a follower with fresh watchers open on it, 5-member clusters (two
 * members killed, a minority partition holding the leader), and a lease expiring across a leader kill.
 * Snapshot catch-up and power-loss kills are in faults_snapshot.ts. Not here:
 * a full disk.
 */
import { StoreClient } from '../../../store/client/client.js';
import type { Rng } from '../checker/generator.js';
import type { Operation } from '../checker/types.js';
import type { FaultCluster } from './cluster.js';
import { PREFIX, PREFIX_END, recorded, Watcher } from './load.js';
import type { Fault, FaultContext } from './scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const leaderOr0 = (c: FaultCluster): Promise<number> => c.leaderOrFirst();

async function followerOf(c: FaultCluster, rng: Rng): Promise<number> {
  const l = await leaderOr0(c);
  const others = c.members.map((_, i) => i).filter((i) => i !== l);
  return others[rng.int(others.length)];
}

/** One unary call to member i, retried (300 ms apart) until it succeeds, `done(err)` says the error means done, or timeout. */
async function call<T>(c: FaultCluster, i: () => Promise<number>, service: string, method: string, req: unknown, done: (msg: string) => boolean = () => false, timeoutMs = 60_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const cl = new StoreClient(c.members[await i()].clientUrl, undefined, { timeoutMs: 5000 });
    try {
      return await cl.unary<T>(service, method, req);
    } catch (e) {
      last = (e as Error).message;
      if (done(last)) return undefined;
    } finally {
      cl.close();
    }
    await sleep(300);
  }
  throw new Error(`${service}.${method} did not succeed in ${timeoutMs} ms: ${last}`);
}

async function memberId(c: FaultCluster, i: number): Promise<bigint> {
  for (let k = 0; k < 60; k++) {
    const cl = new StoreClient(c.members[i].clientUrl, undefined, { timeoutMs: 3000 });
    try {
      return (await cl.status()).memberId;
    } catch { /* retry */ } finally {
      cl.close();
    }
    await sleep(250);
  }
  throw new Error(`no member id from ${c.members[i].name}`);
}

/**
 * MemberRemove member i (sent to the leader, retried; "member not found" after a lost response counts as
 * done), wait for it to stop itself, MemberAdd it back as a learner (same peer URL), start it on an empty
 * data dir with --initial-cluster-state existing, and MemberPromote it once it is in sync.
 */
async function replaceMember(c: FaultCluster, i: number, ctx: FaultContext): Promise<void> {
  const id = await memberId(c, i);
  const viaLeader = async () => {
    const l = await c.leader();
    return l >= 0 && l !== i ? l : (i + 1) % c.members.length;
  };
  // removing the leader: send it to the leader itself (it steps down after applying the removal)
  const removeVia = async () => ((await c.leader()) === i ? i : viaLeader());
  await call(c, removeVia, 'Cluster', 'MemberRemove', { ID: id.toString() }, (m) => m.includes('member not found'));
  ctx.log(`removed ${c.members[i].name} (${id.toString(16)})`);
  const m = c.members[i];
  const exited = await Promise.race([m.exited!.then(() => true), sleep(15_000).then(() => false)]);
  if (!exited) ctx.log(`${m.name} did not stop itself after removal; killing it`);
  await c.kill9(i);
  const added = await call<{ member: { ID: string } }>(c, viaLeader, 'Cluster', 'MemberAdd', { peerURLs: [`http://127.0.0.1:${m.proxyPort}`], isLearner: true });
  const newId = added!.member.ID;
  ctx.log(`added ${m.name} back as learner ${BigInt(newId).toString(16)}`);
  c.rejoin(i);
  await call(c, viaLeader, 'Cluster', 'MemberPromote', { ID: newId }, (msg) => msg.includes('can only promote a learner member') && !msg.includes('in sync'), 90_000);
  ctx.log(`promoted ${m.name}`);
}

/** Lowest revision every open watcher has reached (compacting at or below it cancels none of them). */
function watchFloor(ctx: FaultContext): number {
  return Math.min(...ctx.watchers.filter((w) => !w.record.ended).map((w) => w.lastRev));
}

async function compactOnce(c: FaultCluster, ctx: FaultContext): Promise<void> {
  const floor = watchFloor(ctx);
  if (floor < 2) return;
  await call(c, () => leaderOr0(c), 'KV', 'Compact', { revision: String(floor - 1), physical: true }, (m) => m.includes('compacted'));
  ctx.log(`compacted at ${floor - 1}`);
}

/** Every new fault, by name. */
export const MORE_FAULTS: Fault[] = [
  { name: 'member-replace-follower', inject: async (c, rng, ctx) => { await replaceMember(c, await followerOf(c, rng), ctx); return async () => {}; } },
  { name: 'member-replace-leader', inject: async (c, _rng, ctx) => { await replaceMember(c, await leaderOr0(c), ctx); return async () => {}; } },
  { name: 'compact-under-load', inject: async (c, _rng, ctx) => {
    for (let k = 0; k < 3; k++) { await compactOnce(c, ctx); await sleep(700); }
    return async () => compactOnce(c, ctx);
  } },
  { name: 'defrag-under-load', inject: async (c, _rng, ctx) => {
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < c.members.length; i++) {
        await compactOnce(c, ctx);
        await call(c, async () => i, 'Maintenance', 'Defragment', {});
        ctx.log(`defragmented ${c.members[i].name}`);
      }
    }
    return async () => {};
  } },
  { name: 'kill9-leader-txn-burst', inject: async (c, rng, ctx) => {
    const l = await leaderOr0(c);
    const via = (l + 1) % c.members.length;
    const burst = Array.from({ length: 24 }, async (_, j) => {
      const cl = new StoreClient(j % 2 ? c.members[l].clientUrl : c.members[via].clientUrl, undefined, { timeoutMs: 3000 });
      const member = ctx.member(j % 2 ? l : via);
      const k1 = `${PREFIX}k${rng.int(6)}`;
      const k2 = `${PREFIX}k${rng.int(6)}`;
      try {
        // atomic multi-key txn: both keys or neither, whichever branch
        await recorded(ctx.rec, 60 + j, member, cl, { t: 'txn', cmp: [{ key: k1, target: 'version', op: '>', arg: 0 }],
          // values unique per branch so an unknown outcome can be resolved from observations (checker/resolve.ts)
          then: k1 === k2 ? [{ t: 'put', key: k1, value: `burst${j}-then` }] : [{ t: 'put', key: k1, value: `burst${j}-then` }, { t: 'put', key: k2, value: `burst${j}-then2` }],
          else: [{ t: 'put', key: k1, value: `burst${j}-else` }] });
      } finally {
        cl.close();
      }
    });
    await sleep(30);
    await c.kill9(l);
    await Promise.all(burst);
    return async () => c.restart(l);
  } },
  { name: 'sigstop-follower-watch', inject: async (c, rng, ctx) => {
    // two fresh watchers on a follower (one replaying from revision 1), then freeze it twice
    const f = await followerOf(c, rng);
    for (const [k, start] of [[0, 1], [1, 0]] as const) {
      const w = new Watcher(10 + k, c.members[f].clientUrl, start);
      ctx.watchers.push(w);
      ctx.rec.watches.push(w.record);
      w.open();
    }
    await sleep(500);
    c.pause(f); await sleep(1500); c.resume(f); await sleep(300); c.pause(f);
    return async () => c.resume(f);
  } },
  { name: 'five-kill9-leader-and-follower', members: 5, inject: async (c, rng) => {
    const l = await leaderOr0(c);
    const f = await followerOf(c, rng);
    await c.kill9(l); await c.kill9(f);
    return async () => { c.restart(l); c.restart(f); };
  } },
  { name: 'five-partition-minority-with-leader', members: 5, inject: async (c, rng) => {
    const l = await leaderOr0(c);
    const f = await followerOf(c, rng);
    const minority = new Set([l, f]);
    for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) if (minority.has(a) !== minority.has(b)) c.link(a, b, { kind: 'drop' });
    return async () => c.heal();
  } },
  { name: 'lease-expiry-kill9-leader', inject: async (c, rng, ctx) => {
    const l = await leaderOr0(c);
    const via = (l + 1) % c.members.length;
    const cl = new StoreClient(c.members[via].clientUrl, undefined, { timeoutMs: 3000 });
    let grant: Operation | undefined;
    let id = '';
    for (let k = 0; k < 10 && grant?.resp?.t !== 'grant'; k++) {
      id = String(900_000_000 + 100 * rng.int(1000) + k);
      grant = await recorded(ctx.rec, 90, ctx.member(via), cl, { t: 'grant', id, ttl: 3 });
    }
    if (grant?.resp?.t !== 'grant') throw new Error('lease-expiry: no lease granted');
    const keys = [`${PREFIX}k${rng.int(6)}`, `${PREFIX}lx`];
    for (const key of keys) await recorded(ctx.rec, 91, ctx.member(via), cl, { t: 'put', key, value: `lx-${id}`, lease: id });
    cl.close();
    await c.kill9(l);
    return async () => {
      c.restart(l);
      // the lease must expire (TTL 3 s, extended by at most an election on the new leader): no key keeps it
      const deadline = Date.now() + 40_000;
      for (;;) {
        const rc = new StoreClient(c.members[via].clientUrl, undefined, { timeoutMs: 3000 });
        try {
          const r = await rc.unary<any>('KV', 'Range', { key: Buffer.from(PREFIX), range_end: Buffer.from(PREFIX_END) });
          if (!(r.kvs as any[]).some((kv) => String(kv.lease) === id)) break;
        } catch { /* member busy */ } finally {
          rc.close();
        }
        if (Date.now() > deadline) throw new Error(`lease-expiry: lease ${id} did not expire within 40 s after the leader kill`);
        await sleep(500);
      }
      // the expiry is a server-side revoke: recorded as a revoke with unknown outcome, called at the grant
      ctx.rec.ops.push({ id: ctx.rec.nextId++, client: 92, call: grant!.call, req: { t: 'revoke', id }, member: c.members[via].clientUrl, incarnation: c.members[via].incarnation, note: 'lease expiry (server-side revoke), unknown-outcome revoke' });
      ctx.log(`lease ${id} expired`);
    };
  } },
];
