/**
 * etcd's --initial-election-tick-advance (store/server/election_advance.ts) on real quorumd processes (ports
 * 39000-39014). The single-member checks use heartbeat-interval 5 s and election-timeout 50 s: without the advance
 * the first election needs at least 10 ticks, 50 s, so a leader within 30 s proves the timer was fast-forwarded, and
 * no leader shortly after start with `--initial-election-tick-advance=false` is certain (no wall-time race either way).
 * The 3-member check restarts a follower (the advance is on by default) and asserts that the cluster keeps its leader
 * and its term: the restarted member does not disrupt it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeCluster, etcdctl, parseStatusJson, stopAll, waitFor, type Member } from './quorumd_harness.js';

const base = mkdtempSync(join(tmpdir(), 'quorumd-tickadv-'));
after(async () => {
  await stopAll();
  rmSync(base, { recursive: true, force: true });
});

/** A gauge's value from the member's /metrics, or undefined while it does not answer. */
async function gauge(m: Member, name: string): Promise<number | undefined> {
  const res = await fetch(`${m.metricsUrl}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** The member's JSON log lines whose msg is `msg`. */
function logLines(m: Member, msg: string): Record<string, unknown>[] {
  const needle = `"msg":${JSON.stringify(msg)}`;
  return readFileSync(m.logPath, 'utf8').split('\n').filter((l) => l.includes(needle)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const SLOW = { heartbeatMs: 5000 }; // election-timeout = 10 x heartbeat = 50 s (quorumd's maximum)

describe('--initial-election-tick-advance', () => {
  it('a one-member cluster elects itself at once with it (fresh start and restart)', async () => {
    const [m] = describeCluster({ names: ['adv-on'], port: (j) => 39000 + j, base, token: 'tickadv-on', ...SLOW });
    for (const round of ['fresh start', 'restart']) {
      m!.start();
      await waitFor(`${round}: is_leader 1`, async () => (await gauge(m!, 'etcd_server_is_leader')) === 1, 30_000);
      const adv = logLines(m!, 'initial election tick advance').at(-1);
      assert.equal(adv?.kind, 'single', `${round}: ${JSON.stringify(adv)}`);
      assert.equal(await m!.kill('SIGTERM'), 0);
    }
    assert.equal(logLines(m!, 'initial election tick advance').length, 2);
  });

  it('with --initial-election-tick-advance=false the timer runs its whole election timeout', async () => {
    const [m] = describeCluster({
      names: ['adv-off'], port: (j) => 39003 + j, base, token: 'tickadv-off', ...SLOW, extra: ['--initial-election-tick-advance=false'],
    });
    m!.start();
    await waitFor('metrics to answer', async () => (await gauge(m!, 'etcd_server_has_leader')) !== undefined, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // any advance would run within the first Ready rounds
    assert.equal(await gauge(m!, 'etcd_server_has_leader'), 0); // an election needs >= 10 ticks of 5 s here
    assert.equal(logLines(m!, 'initial election tick advance').length, 0);
    assert.equal(await m!.kill('SIGTERM'), 0);
  });

  it('a restarted follower of a 3-member cluster does not disrupt the leader', async () => {
    const ms = describeCluster({ names: ['a1', 'a2', 'a3'], port: (j) => 39006 + j, base, token: 'tickadv-3' });
    for (const m of ms) m.start();
    const endpoints = ms.map((m) => m.clientUrl).join(',');
    const status = async () => {
      const r = await etcdctl(['--endpoints', endpoints, 'endpoint', 'status', '-w', 'json']);
      return r.code === 0 ? parseStatusJson(r.stdout) : undefined;
    };
    const before = await waitFor('a leader seen by all three', async () => {
      const s = await status();
      return s && s.length === 3 && !!s[0]!.leader && s[0]!.leader !== '0' && s.every((x) => x.leader === s[0]!.leader && x.raftTerm === s[0]!.raftTerm) ? s : undefined;
    }, 60_000);
    const follower = ms.find((m) => before.find((x) => x.endpoint === m.clientUrl)!.memberId !== before[0]!.leader)!;
    for (let i = 0; i < 3; i++) {
      assert.equal(await follower.kill('SIGTERM'), 0);
      follower.start();
      await waitFor('the restarted follower to know the leader', async () => (await gauge(follower, 'etcd_server_has_leader')) === 1, 30_000);
      await new Promise((r) => setTimeout(r, 1500)); // > one election timeout (1 s) after it knows the leader
      const after = await waitFor('status of all three', async () => { const s = await status(); return s?.length === 3 ? s : undefined; }, 30_000);
      for (const x of after) {
        assert.equal(x.leader, before[0]!.leader, `restart ${i}: ${x.endpoint} sees leader ${x.leader}`);
        assert.equal(x.raftTerm, before[0]!.raftTerm, `restart ${i}: ${x.endpoint} term ${x.raftTerm}`);
      }
    }
    const outcomes = logLines(follower, 'initial election tick advance').map((l) => String(l.kind === 'skipped' ? l.reason : l.kind));
    assert.ok(outcomes.length >= 3, JSON.stringify(outcomes));
  });
});
