/**
 * Watch delivery when the revisions of one apply batch are merged into one response per watcher
 * (store/server/watch_service.ts pump) and events are encoded once for all watchers (watch_wire.ts): two
 * watchers on one stream (with and without prev_kv) and one on another stream see every revision exactly
 * once, in order, with the right prev_kv, while 600 puts and deletes run with many in flight. Ports 39700-39702.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreClient } from '../../store/client/client.js';
import { RawWatch, createReq, startQuorumd, stopServers } from './watch_harness.js';
import { prng } from '../helpers/prng.js';

type W = Record<string, any>;

describe('watch delivery with merged responses', () => {
  let url = '';
  before(async () => {
    url = await startQuorumd(39700);
  });
  after(stopServers);

  it('every revision once, in order, prev_kv right, across merged responses', { timeout: 120_000 }, async () => {
    const c = new StoreClient(url);
    const a = new RawWatch(url);
    const b = new RawWatch(url);
    try {
      const start = (await c.put('other', 'x')).revision;
      a.send(createReq({ key: 'm/', rangeEnd: 'm0', start: start + 1, prevKv: true, id: 1 }));
      a.send(createReq({ key: 'm/', rangeEnd: 'm0', start: start + 1, id: 2 }));
      b.send(createReq({ key: 'm/', rangeEnd: 'm0', start: start + 1, prevKv: true }));
      await a.waitCount(2);
      await b.waitCount(1);
      const rnd = prng(7);
      const ops = 600;
      const clients = Array.from({ length: 4 }, () => new StoreClient(url));
      try {
        let next = 0;
        await Promise.all(Array.from({ length: 100 }, async (_, w) => {
          while (next < ops) {
            const i = next++;
            const key = `m/${Math.floor(rnd() * 40)}`;
            const cl = clients[w % clients.length]!;
            if (rnd() < 0.15) await cl.deleteRange(key);
            else await cl.put(key, `v${i}`);
          }
        }));
      } finally {
        clients.forEach((x) => x.close());
      }
      const end = (await c.put('other', 'y')).revision;
      const events = (rs: W[], id: string) => rs.filter((r) => r.watch_id === id && !r.created).flatMap((r) => r.events as W[]);
      const done = (rs: W[], id: string) => events(rs, id).some((e) => Number(e.kv.mod_revision) >= end - 1);
      await a.waitFor('last event on watcher 1', () => done(a.responses, '1'));
      await a.waitFor('last event on watcher 2', () => done(a.responses, '2'));
      await b.waitFor('last event on watcher 0', () => done(b.responses, '0'));
      await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
      const withPrev = events(a.responses, '1');
      const plain = events(a.responses, '2');
      const other = events(b.responses, '0');
      // deletes of missing keys make no revision: the events' revisions are start+1 .. end-1 without gaps, once each
      const revs = withPrev.map((e) => Number(e.kv.mod_revision));
      assert.deepEqual(revs, Array.from({ length: end - 1 - start }, (_, i) => start + 1 + i));
      // prev_kv is the key's previous version (none for a create); version counts from the create
      const last = new Map<string, W>();
      for (const e of withPrev) {
        const k = e.kv.key.toString();
        const prev = last.get(k);
        if (e.type === 0 && (!prev || prev.type === 1)) {
          assert.equal(e.prev_kv, null, `create of ${k} has no prev_kv`);
          assert.equal(e.kv.version, '1');
        } else {
          assert.ok(prev && prev.type === 0, `${k}: ${e.type === 0 ? 'put' : 'delete'} after ${prev ? 'put' : 'nothing'}`);
          assert.deepEqual(e.prev_kv, prev.kv, `prev_kv of ${k} at ${e.kv.mod_revision}`);
          if (e.type === 0) assert.equal(Number(e.kv.version), Number(prev.kv.version) + 1);
        }
        last.set(k, e);
      }
      // the same events without prev_kv on the second watcher, and with it on the other stream
      assert.deepEqual(plain, withPrev.map((e) => ({ ...e, prev_kv: null })));
      assert.deepEqual(other, withPrev);
      // the header revision of an event response is at least its last event's
      for (const r of [...a.responses, ...b.responses]) {
        if (r.events.length > 0) assert.ok(Number(r.header.revision) >= Number(r.events.at(-1).kv.mod_revision));
      }
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});
