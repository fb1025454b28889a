/**
 * End to end on the lab: the drills not in runbooks.test.ts, each injecting a real disaster first, on one
 * 3-member cluster provisioned from this tree (test/helpers/lab-e2e.ts), in order:
 *   doctor          a healthy cluster -> exit 0; tcp dport 2380 dropped by nftables on etcd-02 -> exit 1 naming
 *                   etcd-02 and port 2380; the rule removed -> exit 0 again
 *   corrupt member  etcd-02 stopped, bytes in the middle of its WAL segment overwritten -> quorumd refuses to start
 *                   with a corruption error (doctor names it) -> replace-member; no acknowledged write lost
 *   restore         `quorum backup`, more writes, every member stopped and its data dir rm -rf'd ->
 *                   `quorum runbook restore --snapshot <the backup> --bump-revision 1000 --mark-compacted` ->
 *                   exactly the snapshot's contents at its revision + 1000; a watcher resuming from a revision it
 *                   saw before is cancelled as compacted, a read there is ErrCompacted
 * After each: `quorum status` exit 0 and HashKV equal on every member; each drill prints its recovery time.
 * Needs root. A few minutes on the lab; no timing assertions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { eventually } from '../helpers/proc.js';
import { drill, LabCluster, must, ssh } from '../helpers/lab-e2e.js';

const L = new LabCluster('quorum-drills-e2e-');
const [h1, h2] = L.hosts as [typeof L.hosts[0], typeof L.hosts[0], typeof L.hosts[0]];
const backups = join(L.work, 'backups');
/** A table of its own with an input chain ahead of the cluster's (priority -10): removing it restores the host. */
const BLOCK_2380 = 'nft add table inet drill && nft add chain inet drill input \'{ type filter hook input priority -10; policy accept; }\' '
  + '&& nft insert rule inet drill input tcp dport 2380 drop';
const UNBLOCK = 'nft delete table inet drill';

/** `quorum runbook doctor`: exit code and output (both streams). */
async function doctor(): Promise<{ code: number; text: string }> {
  const r = await L.q(['runbook', 'doctor', '-i', L.inventory], 180_000);
  return { code: r.code, text: `${r.stdout}\n${r.stderr}` };
}

/** Waits until the doctor finds nothing (the cluster settles after a repair); returns its output. */
async function doctorClean(what: string): Promise<string> {
  let last = '';
  try {
    return await eventually(async () => {
      const d = await doctor();
      last = d.text;
      assert.equal(d.code, 0);
      return d.text;
    }, 90_000, 3_000);
  } catch {
    assert.fail(`${what}: doctor still finds problems:\n${last}`);
  }
}

before(async () => {
  await L.setUp();
});

after(async () => {
  await ssh(h2.address, `${UNBLOCK} 2>/dev/null; true`);
  await L.tearDown();
});

test('doctor: exit 0 on a healthy cluster; names etcd-02 and port 2380 when nftables drops it there; exit 0 once removed', { timeout: 400_000 }, async () => {
  const ok = await doctorClean('fresh cluster');
  assert.match(ok, /doctor: no problems found/);
  assert.match(ok, /probe the peer \(2380\) and client \(2379\) ports of every other member/, 'the plan is printed first');

  must(await ssh(h2.address, BLOCK_2380), 'block 2380 on etcd-02');
  const bad = await doctor();
  assert.equal(bad.code, 1, bad.text);
  assert.match(bad.text, /ERROR \[ports\] etcd-02: peer port 2380 on etcd-02 \(10\.88\.0\.12\) is not reachable from etcd-01, etcd-03 \(timed out/);
  assert.doesNotMatch(bad.text, /\[ports\] etcd-0[13]:/, 'only the blocked host is named for ports');
  console.log(bad.text.split('\n').filter((l) => /^(ERROR|WARN)|fix:/.test(l.trim())).join('\n'));

  await drill('doctor (peer port unblocked, cluster clean)', async () => {
    must(await ssh(h2.address, UNBLOCK), 'unblock 2380 on etcd-02');
    await doctorClean('after unblocking');
  });
  await L.assertHealthyAndConsistent('doctor');
});

test('corrupt member: a WAL overwritten in the middle -> quorumd refuses to start -> replace-member, no acknowledged write lost', { timeout: 400_000 }, async () => {
  const acked: string[] = [];
  await L.withClient(h1, async (c) => {
    const pad = 'p'.repeat(200);
    for (let i = 0; i < 100; i++) { await c.put(`corrupt/${i}`, `c${i}${pad}`); acked.push(`corrupt/${i}=c${i}${pad}`); }
  });
  await L.assertHealthyAndConsistent('before corrupting');
  // 64 non-zero bytes at the middle of the newest segment's written bytes: a CRC mismatch that is no torn tail
  must(await ssh(h2.address, 'systemctl stop quorumd'), 'stop etcd-02');
  const seg = must(await ssh(h2.address, 'ls -l /var/lib/etcd/member/wal/; f=$(ls /var/lib/etcd/member/wal/*.wal | tail -n 1); s=$(stat -c %s "$f"); echo "segment $f $s"; '
    + 'test "$s" -gt 16384 && yes CORRUPTED | head -c 64 | dd of="$f" bs=1 seek=$((s / 2)) conv=notrunc status=none'), 'corrupt etcd-02\'s WAL');
  console.log(`# corrupted 64 bytes in the middle of ${/segment (\S+ \d+)/.exec(seg)?.[1]} bytes`);
  await ssh(h2.address, 'systemctl reset-failed quorumd; systemctl start --no-block quorumd');
  const journal = await eventually(async () => {
    const j = must(await ssh(h2.address, 'journalctl -u quorumd -n 60 --no-pager -o cat'), 'journal');
    assert.match(j, /wal: corrupt segment .* at offset \d+: /i);
    return j;
  }, 60_000, 2_000);
  console.log(`# etcd-02 refuses to start: ${journal.split('\n').find((l) => /corrupt segment/i.test(l))?.trim()}`);
  assert.notEqual((await ssh(h2.address, 'systemctl is-active quorumd')).stdout.trim(), 'active');

  const d = await doctor();
  assert.equal(d.code, 1, d.text);
  assert.match(d.text, /ERROR \[members\] etcd-02: not answering .*corrupt/);
  assert.match(d.text, /fix: its data is corrupt: quorum runbook replace-member -i \S+ --member etcd-02/);

  await drill('corrupt member (replace-member)', async () => {
    const r = await L.q(['runbook', 'replace-member', '-i', L.inventory, '--member', 'etcd-02']);
    must(r, 'runbook replace-member');
    assert.match(r.stdout, /fact: etcd-02: not answering/);
  });
  await L.assertHealthyAndConsistent('corrupt member');
  const got = await L.contents(h2);
  for (const a of acked) assert.ok(got.includes(a), `etcd-02 has ${a}`);
  must(await ssh(h2.address, 'ls -d /var/lib/etcd.replaced-*'), 'the corrupt data dir is kept aside');
  await doctorClean('after replace-member');
});

test('restore after every data dir is destroyed: exactly the last backup\'s contents and revision', { timeout: 400_000 }, async () => {
  const BUMP = 1000;
  await L.withClient(h1, async (c) => {
    for (let i = 0; i < 10; i++) await c.put(`restore/before/${i}`, `b${i}`);
  });
  must(await L.q(['backup', '-i', L.inventory, '--dest', backups, '--keep', '3']), 'backup');
  const files = readdirSync(backups).filter((f) => f.endsWith('.db')).sort();
  const last = files.at(-1)!;
  const m = /-r(\d+)\.db$/.exec(last);
  assert.ok(m, `backup name ${last}`);
  const snapRev = Number(m[1]);
  const expected = await L.contents(h1);
  assert.equal(await L.withClient(h1, async (c) => (await c.status()).revision), snapRev, 'no write between the backup and its revision read');
  await L.withClient(h1, async (c) => {
    for (let i = 0; i < 10; i++) await c.put(`restore/after/${i}`, `a${i}`);
  });

  // the disaster: every member stopped and its data dir destroyed
  for (const h of L.hosts) must(await ssh(h.address, 'systemctl stop quorumd && rm -rf /var/lib/etcd && test ! -e /var/lib/etcd'), `destroy ${h.name}`);
  const down = await L.q(['status', '-i', L.inventory]);
  assert.notEqual(down.code, 0, 'nothing answers');

  await drill('restore (every data dir destroyed)', async () => {
    const r = await L.q(['runbook', 'restore', '-i', L.inventory, '--snapshot', join(backups, last), '--bump-revision', String(BUMP), '--mark-compacted']);
    must(r, 'runbook restore');
    assert.match(r.stdout, /--bump-revision 1000 --mark-compacted/);
    assert.match(r.stdout, /runbook restore done/);
  });
  for (const h of L.hosts) {
    assert.deepEqual(await L.contents(h), expected, `${h.name} holds exactly the snapshot's contents`);
    assert.equal(await L.withClient(h, async (c) => (await c.status()).revision), snapRev + BUMP, `${h.name} at the snapshot's revision + ${BUMP}`);
  }
  // a watcher (an informer) resuming from a revision it saw before the disaster is told to re-list
  const compactRev = await L.withClient(h2, (c) => new Promise<string>((resolve, reject) => {
    const w = (c.rawClient('Watch') as grpc.Client & { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { canceled?: boolean; compact_revision?: string }> }).Watch(c.metadata());
    const timer = setTimeout(() => { w.cancel(); reject(new Error('no cancel from a watch at an old revision within 20 s')); }, 20_000);
    w.on('data', (res) => {
      if (!res.canceled) return;
      clearTimeout(timer);
      w.cancel();
      resolve(String(res.compact_revision));
    });
    w.on('error', () => undefined);
    w.write({ create_request: { key: Buffer.from('restore/'), range_end: Buffer.from('restore0'), start_revision: String(snapRev) } });
  }));
  assert.equal(compactRev, String(snapRev + BUMP), 'watch from the old revision cancelled with compact_revision');
  await assert.rejects(L.withClient(h1, (c) => c.range('restore/before/0', { revision: snapRev })), /required revision has been compacted/);
  // the next write is above every revision a client saw (HashKV at the compacted revision itself is ErrCompacted, as etcd's)
  assert.equal((await L.withClient(h1, (c) => c.put('restore/after-bump', 'x'))).revision, snapRev + BUMP + 1);
  await L.assertHealthyAndConsistent('restore');
  await doctorClean('after restore');
});
