/**
 * Leases in a 3-member quorumd cluster: a lease granted and kept alive through a follower (renewals forwarded
 * to the leader) survives a kill -9 of the leader: the new leader is promoted with the election-timeout
 * extension, the keep-alive continues against the survivors, and the attached key is still there well after
 * the TTL; once keep-alives stop, the new leader expires it and the key is deleted.
 * Ports 23200-23208 (this suite's range).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreClient } from '../../store/client/client.js';
import { etcdctl, parseStatusJson, stopAll, waitFor } from './quorumd_harness.js';
import { leaseCluster, waitReady } from './lease_util.js';

after(async () => {
  await stopAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a kept-alive lease survives kill -9 of the leader, and expires once keep-alives stop', { timeout: 120_000 }, async () => {
  const members = leaseCluster(3, 23200);
  for (const m of members) m.start();
  for (const m of members) await waitReady(m.clientUrl);
  const all = members.map((m) => m.clientUrl).join(',');
  const st = parseStatusJson((await etcdctl(['--endpoints', all, 'endpoint', 'status', '-w', 'json'])).stdout);
  const leaderId = st[0]!.leader;
  const leaderIdx = st.findIndex((s) => s.memberId === leaderId);
  assert.ok(leaderIdx >= 0);
  const followers = members.filter((_, i) => i !== leaderIdx);

  // grant and attach through a follower; keep alive through the other follower (forwarded to the leader)
  const g = await etcdctl(['--endpoints', followers[0]!.clientUrl, 'lease', 'grant', '5']);
  assert.equal(g.code, 0, g.stderr);
  const id = /lease ([0-9a-f]{16}) granted with TTL\(5s\)/.exec(g.stdout)![1]!;
  assert.equal((await etcdctl(['--endpoints', followers[0]!.clientUrl, 'put', '--lease', id, 'survivor', 'v'])).code, 0);
  const c = new StoreClient(followers[1]!.clientUrl, undefined, { timeoutMs: 15_000 });
  let keeping = true;
  const renewals: number[] = [];
  const keeper = (async () => {
    while (keeping) {
      const raw = c.rawClient('Lease') as any;
      const ttl = await new Promise<number>((resolve) => {
        const s = raw.LeaseKeepAlive(c.metadata(), { deadline: Date.now() + 15_000 });
        s.on('data', (r: { TTL: string }) => {
          s.cancel();
          resolve(Number(r.TTL));
        });
        s.on('error', () => resolve(-2));
        s.write({ ID: BigInt('0x' + id).toString() });
      });
      renewals.push(ttl);
      await sleep(1000);
    }
  })();
  try {
    await waitFor('a renewal through a follower', async () => renewals.includes(5), 20_000);
    await members[leaderIdx]!.kill('SIGKILL');
    // a new leader among the survivors
    const survivors = followers.map((m) => m.clientUrl).join(',');
    await waitFor('a new leader', async () => {
      const s = parseStatusJson((await etcdctl(['--endpoints', survivors, 'endpoint', 'status', '-w', 'json'])).stdout);
      return s.length === 2 && s[0]!.leader !== leaderId && s[0]!.leader !== '0' ? true : undefined;
    }, 30_000);
    const before = renewals.length;
    // well past the 5 s TTL, with keep-alives flowing to the new leader
    await sleep(8000);
    assert.ok(renewals.slice(before).some((t) => t === 5), `renewals after the leader change: ${renewals.slice(before)}`);
    assert.ok(!renewals.slice(before).includes(0), 'the lease was never reported gone');
    const ttl = await etcdctl(['--endpoints', followers[0]!.clientUrl, 'lease', 'timetolive', '--keys', id]);
    assert.match(ttl.stdout, /granted with TTL\(5s\), remaining\(\d+s\), attached keys\(\[survivor\]\)/);
    const get = await etcdctl(['--endpoints', followers[0]!.clientUrl, 'get', 'survivor', '--print-value-only']);
    assert.equal(get.stdout, 'v\n');
  } finally {
    keeping = false;
    await keeper;
    c.close();
  }
  // without keep-alives the new leader expires the lease and deletes the key
  await waitFor('expiry on the new leader', async () => {
    const r = await etcdctl(['--endpoints', followers[1]!.clientUrl, 'get', 'survivor']);
    return r.code === 0 && r.stdout === '' ? true : undefined;
  }, 30_000);
  const t = await etcdctl(['--endpoints', followers[1]!.clientUrl, 'lease', 'timetolive', id]);
  assert.equal(t.stdout, `lease ${id} already expired\n`);
});
