/**
 * Differential test of the Watch API: the same kube-apiserver-shaped request sequence (prefix watch with
 * prev_kv and progress_notify from a past revision, single-key watch with a filter, client-chosen and
 * duplicate IDs, an empty range, progress requests, cancels, a compacted start) is played against etcd 3.4
 * and quorumd; the responses, without IDs and terms, must be equal. Ports 22100-22199.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { StoreClient, prefixRangeEnd } from '../../store/client/client.js';
import { etcdPackage, serviceClient } from '../../store/proto/load.js';
import { RawWatch, createReq, isProgressNotify, normalize, sleep, startEtcd, startQuorumd, stopServers } from './watch_harness.js';

interface Target { name: string; url: string; kv: StoreClient }

function compact(url: string, rev: number): Promise<grpc.ServiceError | null> {
  const Ctor = serviceClient(etcdPackage(), 'KV');
  const c = new Ctor(url.replace(/^http:\/\//, ''), grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (c as any).Compact({ revision: String(rev), physical: true }, (err: grpc.ServiceError | null) => {
      c.close();
      resolve(err);
    });
  });
}

const prefix = '/registry/pods/';
const pend = Buffer.from(prefixRangeEnd(Buffer.from(prefix)));

/** The scripted session; returns the non-progress responses in order and the progress notifications. */
async function session(t: Target, compactOk: boolean): Promise<{ main: unknown[]; progress: unknown[]; extra: unknown[] }> {
  const kv = t.kv;
  await kv.put(prefix + 'default/a', 'a1'); // rev 2
  await kv.put(prefix + 'default/b', 'b1'); // 3
  await kv.put(prefix + 'default/a', 'a2'); // 4
  await kv.deleteRange(prefix + 'default/b'); // 5
  await kv.put('/registry/services/x', 's1'); // 6
  const w = new RawWatch(t.url, { hasleader: 'true' });
  // responses of one step, ordered by watch ID (etcd orders different watchers' responses arbitrarily)
  const steps: unknown[][] = [];
  let seen = 0;
  const step = async (n: number) => {
    await w.waitCount(n);
    await sleep(150); // nothing more may arrive
    const got = w.responses.slice(seen).map(normalize) as { watch_id: string }[];
    seen = w.responses.length;
    steps.push(got.sort((a, b) => Number(a.watch_id) - Number(b.watch_id)));
  };
  let n = 0;
  w.send(createReq({ key: prefix, rangeEnd: pend, start: 3, prevKv: true })); n += 2; await step(n); // created + history
  w.send(createReq({ key: prefix + 'default/a', filters: [1] })); n += 1; await step(n); // NODELETE, from now
  w.send(createReq({ key: '/registry/', rangeEnd: '\0', id: 7 })); n += 1; await step(n);
  w.send(createReq({ key: '/x', id: 7 })); n += 1; await step(n); // duplicate id
  w.send(createReq({ key: 'b', rangeEnd: 'a' })); n += 1; await step(n); // empty range
  w.send({ progress_request: {} }); n += 1; await step(n);
  await kv.putFull(prefix + 'default/a', 'a3'); n += 3; await step(n); // 7: three watchers
  await kv.deleteRange(prefix + 'default/a'); n += 2; await step(n); // 8: NODELETE watcher filtered
  await kv.put(prefix + 'default/c', 'c1'); n += 2; await step(n); // 9
  w.send({ cancel_request: { watch_id: '1' } }); n += 1; await step(n);
  w.send({ cancel_request: { watch_id: '99' } }); await step(n); // unknown: no answer
  w.send(createReq({ key: '', rangeEnd: '\0', start: 1 })); n += 2; await step(n); // all keys from the start
  w.send({ progress_request: {} }); n += 1; await step(n);
  const main = steps;
  w.close();
  const extra: unknown[] = [];
  if (compactOk) {
    const err = await compact(t.url, 8);
    assert.equal(err, null, `${t.name}: compact`);
    const c = new RawWatch(t.url);
    c.send(createReq({ key: prefix, rangeEnd: pend, start: 4, prevKv: true }));
    c.send(createReq({ key: prefix, rangeEnd: pend, start: 8, prevKv: true }));
    await c.waitCount(4);
    await sleep(150);
    extra.push(...(c.responses.map(normalize) as { watch_id: string }[]).sort((x, y) => Number(x.watch_id) - Number(y.watch_id)));
    c.close();
  }
  // progress_notify on an idle watcher (interval 1s on both servers)
  const p = new RawWatch(t.url);
  p.send(createReq({ key: '/idle', progress: true }));
  const note = await p.waitFor('a progress notification', isProgressNotify, 15_000);
  p.close();
  return { main, progress: [normalize(note)], extra };
}

describe('Watch: quorumd answers like etcd 3.4', () => {
  const targets: Target[] = [];
  before(async () => {
    const flags = ['--experimental-watch-progress-notify-interval', '1s'];
    const [e, q] = await Promise.all([startEtcd(22100, flags), startQuorumd(22110, flags)]);
    targets.push({ name: 'etcd', url: e, kv: new StoreClient(e) }, { name: 'quorumd', url: q, kv: new StoreClient(q) });
  });
  after(async () => {
    for (const t of targets) t.kv.close();
    await stopServers();
  });

  it('same responses for a kube-apiserver-shaped watch session', { timeout: 120_000 }, async () => {
    // compaction is part of the script only when quorumd implements KV.Compact
    const probe = await compact(targets[1]!.url, 1);
    const compactOk = !probe || probe.code !== grpc.status.UNIMPLEMENTED;
    const [etcd, ours] = await Promise.all(targets.map((t) => session(t, compactOk)));
    assert.deepEqual(ours!.main, etcd!.main);
    assert.deepEqual(ours!.extra, etcd!.extra);
    assert.deepEqual(ours!.progress, etcd!.progress);
  });
});
