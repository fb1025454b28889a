/**
 * Differential test of the Maintenance service against real etcd 3.4: the same request sequence is played at a
 * single-member etcd and a single-member quorumd, both started with --quota-backend-bytes 200000, and the
 * responses are compared after normalising member IDs, endpoints and revisions: HashKV over the same history
 * (exactly equal hashes), the NOSPACE error (code and string), Alarm list/disarm responses (raw gRPC and
 * etcdctl's simple/json/table output), Status.errors, defrag and hashkv output, the runbook's recovery; and
 * quorumctl prints what etcdctl prints for the same commands.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreClient, StoreError } from '../../store/client/client.js';
import { alarm } from '../../store/client/maintenance.js';
import { etcdctl, quorumctl, stopAll, type RunResult } from './quorumd_harness.js';
import { clusterOnPorts, isTransient, parseGoJson, startEtcd, startHealthy, statusOf, stopEtcd, tempBase } from './maintenance_harness.js';

const QUOTA = '200000';
let etcdEp: string;
let quorumEp: string;
const both = () => [etcdEp, quorumEp] as const;

/** Replace 6+ digit numbers (member/cluster IDs) and the endpoint with placeholders. */
function norm(s: string, ep: string): string {
  return s.split(ep).join('<EP>').split(ep.replace('http://', '')).join('<EP>').replace(/\d{6,}/g, '<ID>');
}

async function onBoth(args: string[], tool = etcdctl): Promise<[RunResult, RunResult]> {
  const [a, b] = both();
  return [await tool(['--endpoints', a, ...args]), await tool(['--endpoints', b, ...args])];
}

function sameOutput(rs: [RunResult, RunResult], what: string): void {
  const [e, q] = rs;
  assert.equal(q.code, e.code, `${what}: exit code (etcd stderr: ${e.stderr})`);
  assert.equal(norm(q.stdout, quorumEp), norm(e.stdout, etcdEp), `${what}: stdout`);
  const lastLine = (s: string) => s.trim().split('\n').pop() ?? '';
  assert.equal(norm(lastLine(q.stderr), quorumEp), norm(lastLine(e.stderr), etcdEp), `${what}: last stderr line`);
}

before(async () => {
  const base = tempBase('diff');
  const etcd = await startEtcd(base, 25500, 25501, ['--quota-backend-bytes', QUOTA]);
  etcdEp = etcd.endpoint;
  const [m] = clusterOnPorts(1, 25510, base, { extra: ['--quota-backend-bytes', QUOTA] });
  await startHealthy([m!]);
  quorumEp = m!.clientUrl;
});

after(async () => {
  stopEtcd();
  await stopAll();
});

test('HashKV over the same history is exactly etcd\'s hash', { timeout: 60_000 }, async () => {
  for (const args of [['put', 'a', '1'], ['put', 'b', '2'], ['put', 'a', '3'], ['del', 'b'], ['put', 'c', '4']]) sameOutput(await onBoth(args), args.join(' '));
  const [e, q] = await onBoth(['endpoint', 'hashkv', '-w', 'json']);
  type H = { HashKV: { header: { revision: number }; hash: number; compact_revision: number } }[];
  const ej = parseGoJson<H>(e.stdout)[0]!.HashKV;
  const qj = parseGoJson<H>(q.stdout)[0]!.HashKV;
  assert.equal(qj.hash, ej.hash);
  assert.equal(qj.compact_revision, ej.compact_revision);
  assert.equal(qj.header.revision, ej.header.revision);
  sameOutput(await onBoth(['endpoint', 'hashkv', '--rev', '3']), 'hashkv --rev 3');
  sameOutput(await onBoth(['endpoint', 'hashkv', '-w', 'table']), 'hashkv -w table');
  sameOutput(await onBoth(['endpoint', 'hashkv', '--rev', '99']), 'hashkv future revision');
});

test('no alarms: alarm list outputs and the raw Alarm response agree', { timeout: 60_000 }, async () => {
  sameOutput(await onBoth(['alarm', 'list']), 'alarm list');
  sameOutput(await onBoth(['alarm', 'list', '-w', 'json']), 'alarm list -w json');
  sameOutput(await onBoth(['alarm', 'list', '-w', 'table']), 'alarm list -w table');
  sameOutput(await onBoth(['alarm', 'disarm', '-w', 'json']), 'alarm disarm -w json');
  for (const ep of both()) {
    const c = new StoreClient(ep);
    try {
      const r = await alarm(c, 0);
      assert.equal(r.header, undefined, `${ep}: Alarm responses carry no header`);
      assert.deepEqual(r.alarms, []);
    } finally {
      c.close();
    }
  }
});

test('filling past the quota: the same error, the same alarm, the same Status.errors', { timeout: 120_000 }, async () => {
  const errs: StoreError[] = [];
  for (const ep of both()) {
    const c = new StoreClient(ep, undefined, { timeoutMs: 10_000 });
    let transient = 0;
    try {
      for (let i = 0; i < 300; i++) {
        try {
          await c.put('big', Buffer.alloc(3000, 97 + (i % 26)));
        } catch (e) {
          if (!(e instanceof StoreError)) throw e;
          if (isTransient(e) && transient++ < 5) continue; // a slow shared machine: retry
          errs.push(e);
          break;
        }
      }
    } finally {
      c.close();
    }
  }
  assert.equal(errs.length, 2, 'both reached the quota');
  assert.equal(errs[1]!.code, errs[0]!.code);
  assert.equal(errs[1]!.details, errs[0]!.details);
  assert.equal(errs[0]!.details, 'etcdserver: mvcc: database space exceeded');
  sameOutput(await onBoth(['put', 'z', '1']), 'put while NOSPACE');
  sameOutput(await onBoth(['alarm', 'list']), 'alarm list (NOSPACE)');
  sameOutput(await onBoth(['alarm', 'list', '-w', 'json']), 'alarm list -w json (NOSPACE)');
  sameOutput(await onBoth(['alarm', 'list', '-w', 'table']), 'alarm list -w table (NOSPACE)');
  const [es, qs] = [await statusOf(etcdEp), await statusOf(quorumEp)];
  assert.deepEqual(qs.errors.map((x) => norm(x, quorumEp)), es.errors.map((x) => norm(x, etcdEp)));
  assert.deepEqual(qs.errors.map((x) => norm(x, quorumEp)), ['memberID:<ID> alarm:NOSPACE ']);
  for (const ep of both()) {
    const c = new StoreClient(ep);
    try {
      const r = await alarm(c, 0);
      assert.equal(r.header, undefined);
      assert.equal(r.alarms.length, 1);
      assert.equal(r.alarms[0]!.alarm, 1);
      assert.equal(r.alarms[0]!.memberId.toString(), (await statusOf(ep)).memberId);
    } finally {
      c.close();
    }
  }
  sameOutput(await onBoth(['get', 'big', '--keys-only']), 'get while NOSPACE');
  sameOutput(await onBoth(['del', 'no-such-key']), 'del while NOSPACE');
});

test('quorumctl prints what etcdctl prints (alarm list, hashkv, status errors) against quorumd', { timeout: 60_000 }, async () => {
  for (const args of [['alarm', 'list'], ['alarm', 'list', '-w', 'json'], ['alarm', 'list', '-w', 'table'], ['endpoint', 'hashkv'], ['endpoint', 'hashkv', '-w', 'json'], ['endpoint', 'hashkv', '-w', 'table']]) {
    const e = await etcdctl(['--endpoints', quorumEp, ...args]);
    const q = await quorumctl(['--endpoints', quorumEp, ...args]);
    assert.equal(q.code, e.code, args.join(' '));
    assert.equal(q.stdout, e.stdout, args.join(' '));
    const lastLine = (s: string) => s.trim().split('\n').pop() ?? '';
    assert.equal(lastLine(q.stderr), lastLine(e.stderr), args.join(' '));
  }
  // and quorumctl against etcd prints what etcdctl prints there
  const e = await etcdctl(['--endpoints', etcdEp, 'alarm', 'list']);
  const q = await quorumctl(['--endpoints', etcdEp, 'alarm', 'list']);
  assert.equal(q.stdout, e.stdout);
});

test('runbook on both: compact -> defrag -> disarm -> put; same outputs', { timeout: 120_000 }, async () => {
  const revs = [(await statusOf(etcdEp)).revision, (await statusOf(quorumEp)).revision];
  const comp = [await etcdctl(['--endpoints', etcdEp, 'compaction', String(revs[0])]), await etcdctl(['--endpoints', quorumEp, 'compaction', String(revs[1])])];
  assert.deepEqual(comp.map((r) => r.code), [0, 0]);
  assert.deepEqual(comp.map((r) => r.stdout.replace(/\d+/, 'N')), ['compacted revision N\n', 'compacted revision N\n']);
  const hk = await onBoth(['endpoint', 'hashkv', '-w', 'json']);
  const compacted = hk.map((r) => parseGoJson<{ HashKV: { compact_revision: number } }[]>(r.stdout)[0]!.HashKV.compact_revision);
  assert.deepEqual(compacted, revs);
  sameOutput(await onBoth(['endpoint', 'hashkv', '--rev', '2']), 'hashkv at a compacted revision');
  const defrag = [await etcdctl(['--endpoints', etcdEp, 'defrag']), await quorumctl(['--endpoints', quorumEp, 'defrag'])];
  assert.equal(norm(defrag[1]!.stdout, quorumEp), norm(defrag[0]!.stdout, etcdEp));
  assert.equal(defrag[1]!.stdout, `Finished defragmenting etcd member[${quorumEp}]\n`);
  sameOutput(await onBoth(['defrag']), 'etcdctl defrag');
  const [ed, qd] = await onBoth(['alarm', 'disarm']);
  assert.equal(norm(qd.stdout, quorumEp), norm(ed.stdout, etcdEp));
  assert.equal(norm(qd.stdout, quorumEp), 'memberID:<ID> alarm:NOSPACE \n');
  sameOutput(await onBoth(['alarm', 'list']), 'alarm list after disarm');
  sameOutput(await onBoth(['alarm', 'disarm']), 'alarm disarm with none');
  sameOutput(await onBoth(['put', 'z', '1']), 'put after disarm');
  sameOutput(await onBoth(['get', 'z']), 'get after disarm');
  const [es, qs] = [await statusOf(etcdEp), await statusOf(quorumEp)];
  assert.deepEqual([qs.errors, es.errors], [[], []]);
  assert.ok(qs.dbSize < Number(QUOTA) / 2 && es.dbSize < Number(QUOTA), `sizes after defrag: quorumd ${qs.dbSize}, etcd ${es.dbSize}`);
});
