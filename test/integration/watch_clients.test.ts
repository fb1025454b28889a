/**
 * Watch on a 3-member quorumd cluster: the npm `etcd3` client's watchers (key, prefix, prev kv, start
 * revision) on a follower, a client that stops reading (writes go on; it catches up, in order, exactly once,
 * when it reads again), and fragmented responses. Ports 22300-22399.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3, type IKeyValue } from 'etcd3';
import { StoreClient } from '../../store/client/client.js';
import { RawWatch, createReq, startQuorumdCluster, stopServers } from './watch_harness.js';
import { waitFor } from './quorumd_harness.js';

describe('watch on a quorumd cluster', () => {
  let urls: string[] = [];
  let follower = '';
  let leaderUrl = '';
  before(async () => {
    urls = await startQuorumdCluster(22300, 3);
    const st = await Promise.all(urls.map(async (u) => {
      const c = new StoreClient(u);
      try {
        return await c.status();
      } finally {
        c.close();
      }
    }));
    const li = st.findIndex((s) => s.leader === s.memberId);
    leaderUrl = urls[li]!;
    follower = urls[(li + 1) % urls.length]!;
  });
  after(stopServers);

  it('etcd3 client: key and prefix watchers with prev kv on a follower, writes through the leader', { timeout: 60_000 }, async () => {
    const onFollower = new Etcd3({ hosts: follower });
    const writer = new Etcd3({ hosts: leaderUrl });
    try {
      const start = await writer.put('/app/a').value('0').exec();
      // the follower may not have applied that put yet: start the live watchers just after it
      const next = String(Number(start.header.revision) + 1);
      const seen: string[] = [];
      const w1 = await onFollower.watch().key('/app/a').withPreviousKV().startRevision(next).create();
      w1.on('put', (kv: IKeyValue, prev?: IKeyValue) => seen.push(`key put ${kv.key} ${kv.value} prev=${prev?.value ?? '-'}`));
      w1.on('delete', (kv: IKeyValue, prev?: IKeyValue) => seen.push(`key delete ${kv.key} prev=${prev?.value ?? '-'}`));
      const w2 = await onFollower.watch().prefix('/app/').startRevision(next).create();
      w2.on('put', (kv: IKeyValue) => seen.push(`prefix put ${kv.key} ${kv.value}`));
      w2.on('delete', (kv: IKeyValue) => seen.push(`prefix delete ${kv.key}`));
      const history: string[] = [];
      const w3 = await onFollower.watch().key('/app/a').startRevision(String(start.header.revision)).create();
      w3.on('put', (kv: IKeyValue) => history.push(`${kv.value}@${kv.mod_revision}`));
      await writer.put('/app/a').value('1').exec();
      await writer.put('/app/b').value('2').exec();
      await writer.delete().key('/app/a').exec();
      await writer.put('/other').value('x').exec();
      await waitFor('etcd3 watch events', async () => seen.length >= 5 && history.length >= 2, 20_000, 50);
      assert.deepEqual(seen.filter((s) => s.startsWith('key')), ['key put /app/a 1 prev=0', 'key delete /app/a prev=1']);
      assert.deepEqual(seen.filter((s) => s.startsWith('prefix')), ['prefix put /app/a 1', 'prefix put /app/b 2', 'prefix delete /app/a']);
      assert.deepEqual(history, [`0@${start.header.revision}`, `1@${Number(start.header.revision) + 1}`]);
      await w1.cancel();
      await w2.cancel();
      await w3.cancel();
    } finally {
      onFollower.close();
      writer.close();
    }
  });

  it('a watcher that stops reading never holds up writes and later gets every event once, in order', { timeout: 120_000 }, async () => {
    const kv = new StoreClient(leaderUrl);
    const w = new RawWatch(follower);
    try {
      w.send(createReq({ key: '/slow/', rangeEnd: '/slow0' }));
      await w.waitCount(1);
      w.pause();
      const value = 'v'.repeat(4096);
      const n = 400; // ~1.6 MB of events: far beyond HTTP/2 windows and the stream's buffer
      for (let i = 0; i < n; i++) await kv.put(`/slow/${i % 20}`, `${i}:${value}`);
      // the follower kept applying while its watch client read nothing
      const f = new StoreClient(follower);
      const last = await f.range('/slow/19', { serializable: true });
      f.close();
      assert.equal(last.kvs[0]!.value.toString().split(':')[0], String(n - 1));
      w.resume();
      await waitFor('all events', async () => w.responses.reduce((s, r) => s + r.events.length, 0) >= n, 60_000, 50);
      const vals = w.responses.flatMap((r) => r.events.map((e: any) => Number(e.kv.value.toString().split(':')[0])));
      assert.deepEqual(vals, Array.from({ length: n }, (_, i) => i));
    } finally {
      w.close();
      kv.close();
    }
  });

  it('fragment: a large revision is split into fragments that add up to it', { timeout: 60_000 }, async () => {
    // a delete of many keys in one revision (max-request-bytes 1.5 MiB: 40 x 60 KiB values, prev_kv on)
    const kv = new StoreClient(leaderUrl);
    try {
      const big = 'x'.repeat(60 * 1024);
      let rev = 0;
      for (let i = 0; i < 40; i++) rev = (await kv.put(`/frag/${String(i).padStart(2, '0')}`, big)).revision;
      const w = new RawWatch(follower);
      w.send(createReq({ key: '/frag/', rangeEnd: '/frag0', prevKv: true, fragment: true, start: rev + 1 }));
      await w.waitCount(1);
      await kv.deleteRange('/frag/', { rangeEnd: Buffer.from('/frag0') });
      await waitFor('fragments', async () => w.responses.some((r) => r.events.length > 0 && !r.fragment), 30_000, 50);
      const parts = w.responses.filter((r) => r.events.length > 0);
      w.close();
      assert.ok(parts.length >= 2, `split into ${parts.length}`);
      assert.ok(parts.slice(0, -1).every((r) => r.fragment) && !parts[parts.length - 1]!.fragment);
      const keys = parts.flatMap((r) => r.events.map((e: any) => e.kv.key.toString()));
      assert.deepEqual(keys, Array.from({ length: 40 }, (_, i) => `/frag/${String(i).padStart(2, '0')}`));
    } finally {
      kv.close();
    }
  });
});
