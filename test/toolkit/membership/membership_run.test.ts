import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMembership } from '../../../playbooks/provision/membership.js';
import { type LiveMember, type MembershipApi, type MembershipHostOps, runMembership } from '../../../playbooks/provision/membership-run.js';
import { addressOfUrl, membershipPhase } from '../../../playbooks/provision/membership-live.js';
import type { Inventory } from '../../../toolkit/inventory/types.js';

/** A model cluster enforcing etcd's rules: learners first, promote only when started and caught up, no leader removal. */
class Model implements MembershipApi {
  members_: LiveMember[];
  started = new Set<string>();
  log: string[] = [];
  nextId = 100n;
  failPromote = false;
  constructor(names: string[]) {
    this.members_ = names.map((name, i) => ({ id: BigInt(i + 1), name, address: `10.0.0.${i + 1}`, isLearner: false, healthy: true, isLeader: i === 0 }));
    for (const n of names) this.started.add(n);
  }
  async members() { return this.members_.map((m) => ({ ...m })); }
  async addLearner(name: string) {
    const id = this.nextId++;
    this.members_.push({ id, name, address: '10.0.1.1', isLearner: true, healthy: false, isLeader: false });
    this.log.push(`add ${name}`);
    return id;
  }
  private byId(id: bigint) { const m = this.members_.find((x) => x.id === id); assert.ok(m, `no member ${id}`); return m; }
  async promote(id: bigint) {
    const m = this.byId(id);
    if (this.failPromote) throw new Error('etcdserver: can only promote a learner member which is in sync with leader');
    assert.ok(m.isLearner && this.started.has(m.name), `promote ${m.name} before start`);
    m.isLearner = false; m.healthy = true; this.log.push(`promote ${m.name}`);
  }
  async remove(id: bigint) {
    const m = this.byId(id);
    assert.ok(!m.isLeader, 'removed the leader');
    this.members_ = this.members_.filter((x) => x !== m); this.log.push(`remove ${m.name}`);
  }
  async moveLeader(from: bigint, to: bigint) {
    assert.ok(this.byId(from).isLeader);
    this.byId(from).isLeader = false; this.byId(to).isLeader = true; this.log.push(`move ${this.byId(to).name}`);
  }
  async caughtUp(id: bigint) { return this.started.has(this.byId(id).name); }
  hostOps(fail: Partial<Record<keyof MembershipHostOps, string>> = {}): MembershipHostOps {
    const rec = (op: keyof MembershipHostOps, detail: string) => { if (fail[op] && detail.startsWith(fail[op]!)) throw new Error(`${op} failed`); this.log.push(`${op} ${detail}`); };
    return {
      updatePeers: async (hosts, before, after) => rec('updatePeers', `${hosts.join(',')} [${before.join(',')}] -> [${after.join(',')}]`),
      provisionJoiner: async (host, view) => rec('provisionJoiner', `${host} [${view.join(',')}]`),
      start: async (host) => { rec('start', host); this.started.add(host); },
      stop: async (host) => { rec('stop', host); this.started.delete(host); },
      wipe: async (host) => rec('wipe', host),
    };
  }
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);

test('runMembership: 3 -> 5 -> 3 against the model, each change gated', async () => {
  const model = new Model(names(3));
  const gates: string[] = [];
  const gate = async (voters: string[], why: string) => { gates.push(`${why}: ${voters.length}`); };
  await runMembership(planMembership(names(5), await model.members()), { api: model, hosts: model.hostOps(), gate, pollMs: 1 });
  assert.deepEqual(model.log, [
    'updatePeers m1,m2,m3 [m1,m2,m3] -> [m1,m2,m3,m4]', 'add m4', 'provisionJoiner m4 [m1,m2,m3,m4]', 'start m4', 'promote m4',
    'updatePeers m1,m2,m3,m4 [m1,m2,m3,m4] -> [m1,m2,m3,m4,m5]', 'add m5', 'provisionJoiner m5 [m1,m2,m3,m4,m5]', 'start m5', 'promote m5',
  ]);
  assert.deepEqual(gates, ['before membership changes: 3', 'after adding m4: 4', 'after adding m5: 5']);
  model.log.length = 0;
  await runMembership(planMembership(names(3), await model.members()), { api: model, hosts: model.hostOps(), gate, pollMs: 1 });
  assert.deepEqual(model.log, [
    'remove m4', 'stop m4', 'wipe m4', 'updatePeers m1,m2,m3,m5 [m1,m2,m3,m4,m5] -> [m1,m2,m3,m5]',
    'remove m5', 'stop m5', 'wipe m5', 'updatePeers m1,m2,m3 [m1,m2,m3,m5] -> [m1,m2,m3]',
  ]);
  assert.deepEqual((await model.members()).map((m) => m.name), names(3));
});

test('runMembership: removing the leader moves leadership to a staying member first', async () => {
  const model = new Model(['m1', 'm2', 'm3', 'm4', 'm5']);
  await runMembership(planMembership(['m2', 'm3', 'm4'], await model.members()), { api: model, hosts: model.hostOps(), gate: async () => undefined });
  assert.deepEqual(model.log.filter((l) => /^(remove|move)/.test(l)), ['remove m5', 'move m2', 'remove m1']);
});

test('runMembership: a failed step stops with host and step; a removed host that cannot be stopped only warns', async () => {
  const model = new Model(names(3));
  model.failPromote = true;
  await assert.rejects(runMembership(planMembership(names(5), await model.members()), { api: model, hosts: model.hostOps(), gate: async () => undefined, pollMs: 1 }),
    (e: Error & { host?: string; step?: string }) => {
      assert.equal(e.host, 'm4'); assert.equal(e.step, 'membership: promote');
      assert.match(e.message, /in sync with leader/);
      return true;
    });
  assert.ok(!model.log.includes('add m5'), 'nothing after the failed step');
  // resume: the learner m4 is picked up without a second add
  model.failPromote = false; model.log.length = 0;
  await runMembership(planMembership(names(5), await model.members()), { api: model, hosts: model.hostOps(), gate: async () => undefined, pollMs: 1 });
  assert.deepEqual(model.log.filter((l) => /^(add|promote)/.test(l)), ['promote m4', 'add m5', 'promote m5']);

  const warnings: string[] = [];
  model.log.length = 0;
  await runMembership(planMembership(names(3), await model.members()), { api: model, hosts: model.hostOps({ stop: 'm4', wipe: 'm4' }), gate: async () => undefined, warn: (l) => warnings.push(l) });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^m4: stop failed \(stop failed\); it is no longer a member: stop quorumd on it before reusing the host$/);
  assert.deepEqual((await model.members()).map((m) => m.name), names(3));
});

test('runMembership: a learner that never catches up fails the wait, the voters are untouched', async () => {
  const model = new Model(names(3));
  const ops = model.hostOps();
  ops.start = async () => undefined; // the joiner never comes up
  await assert.rejects(runMembership(planMembership(names(5), await model.members()), { api: model, hosts: ops, gate: async () => undefined, pollMs: 1, catchUpPolls: 3 }),
    /learner m4 has not caught up after 3 polls/);
  assert.equal((await model.members()).filter((m) => !m.isLearner).length, 3);
});

function inventory(hosts: string[]): Inventory {
  const store = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, quotaBackendBytes: 1, logLevel: 'info' as const };
  const ssh = { user: 'root', port: 22, connectTimeoutMs: 1000 };
  return {
    file: '/x/inv.yaml',
    cluster: { name: 'q', token: 't', clientPort: 2379, peerPort: 2380, metricsPort: 2381, user: 'etcd', dataDir: '/var/lib/etcd', configDir: '/etc/etcd', store },
    ssh, pki: { dir: '/nonexistent', certDays: 1 },
    hosts: hosts.map((name, i) => ({ name, address: `10.0.0.${i + 1}`, ssh, store })),
  };
}

test('membershipPhase: unchanged membership or no cluster does nothing; a dry run prints the plan; a refusal is an error', async () => {
  const inputs = (h: string[]) => ({ inv: inventory(h), release: {} as never, pki: new Map() });
  const out: string[] = [];
  const base = { connectorFor: () => { throw new Error('no connector expected'); }, dryRun: true, allowEven: false, out: (t: string) => out.push(t), log: () => undefined };
  assert.deepEqual(await membershipPhase(inputs(names(3)), { ...base, api: new Model(names(3)) }), { errors: [] });
  assert.deepEqual(await membershipPhase(inputs(names(3)), base), { errors: [] }, 'no client certificate: no cluster');
  const r = await membershipPhase(inputs(names(5)), { ...base, api: new Model(names(3)) });
  assert.equal(r.errors.length, 0);
  assert.match(out.join(''), /^membership: m1, m2, m3 -> m1, m2, m3, m4, m5\n {3}1\. health gate/);
  const refused = await membershipPhase(inputs(names(4)), { ...base, dryRun: false, api: new Model(names(3)) });
  assert.equal(refused.errors.length, 1);
  assert.match(refused.errors[0]!.message, /leaves 4 voting members/);
  assert.equal(addressOfUrl('https://10.0.0.7:2380'), '10.0.0.7');
});
