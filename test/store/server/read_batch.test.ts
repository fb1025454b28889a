import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadBatcher } from '../../../store/server/read_batch.js';
import { prng } from '../../helpers/prng.js';

const PREFIX = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const hex = (b: Uint8Array | undefined) => (b === undefined ? 'none' : Buffer.from(b).toString('hex'));

describe('ReadBatcher (one ReadIndex per batch of linearizable reads)', () => {
  it('a read arriving while a ReadIndex is in flight waits for the next one', () => {
    const b = new ReadBatcher<string>(PREFIX);
    b.add('r1');
    b.add('r2');
    const c1 = b.request()!;
    assert.equal(c1.length, 16);
    b.sent(0);
    assert.equal(b.request(), undefined, 'one request in flight at a time');
    b.add('r3'); // arrives after c1 was sent: c1's read index may predate a write r3 must see
    assert.equal(b.answered(c1, 10), true);
    assert.deepEqual(b.release(9), []);
    assert.deepEqual(b.release(10), ['r1', 'r2']);
    assert.deepEqual(b.release(1000), [], 'r3 is not released by the index requested before it arrived');
    const c2 = b.request()!;
    assert.notEqual(hex(c2), hex(c1), 'a fresh context per batch');
    b.sent(1);
    assert.equal(b.answered(c1, 12), false, 'a late answer to the earlier batch is ignored');
    assert.deepEqual(b.release(1000), []);
    assert.equal(b.answered(c2, 20), true);
    assert.deepEqual(b.release(19), []);
    assert.deepEqual(b.release(20), ['r3']);
    assert.equal(b.size, 0);
  });

  it('a lost request is asked again with the same context and the same reads only', () => {
    const b = new ReadBatcher<string>(PREFIX);
    b.add('r1');
    const c1 = b.request()!;
    b.sent(100);
    b.add('r2');
    assert.equal(b.resend(500, 500), false, 'not yet due');
    assert.equal(b.resend(600, 500), true);
    assert.equal(hex(b.request()), hex(c1));
    b.sent(600);
    assert.equal(b.answered(c1, 7), true);
    assert.deepEqual(b.release(7), ['r1']);
    assert.notEqual(hex(b.request()), hex(c1));
  });

  it('an unsent request (no leader) is offered again until raft accepts it', () => {
    const b = new ReadBatcher<string>(PREFIX);
    b.add('r1');
    const c1 = b.request()!;
    b.add('r2');
    assert.equal(hex(b.request()), hex(c1), 'same batch: r2 waits for the next');
    b.sent(0);
    assert.equal(b.request(), undefined);
    assert.equal(b.size, 2);
  });

  it('expire and drain remove reads wherever they wait', () => {
    const b = new ReadBatcher<number>(PREFIX);
    b.add(1);
    const c1 = b.request()!;
    b.sent(0);
    b.add(2);
    b.answered(c1, 5);
    b.add(3);
    assert.deepEqual(b.expire((w) => w !== 2).sort(), [1, 3]);
    assert.equal(b.size, 1);
    assert.deepEqual(b.drain(), [2]);
    assert.equal(b.size, 0);
    // a batch whose reads all expired is dropped: nothing is asked for it any more
    b.add(4);
    b.request();
    b.sent(0);
    b.expire(() => true);
    assert.equal(b.resend(10_000, 1), false);
    assert.equal(b.request(), undefined);
  });

  it('refuses a context prefix of the wrong size', () => {
    assert.throws(() => new ReadBatcher(new Uint8Array(4)), /prefix must be 8 bytes/);
  });

  it('seeded model: every read is served at an applied index at least the commit index when it arrived', () => {
    // A leader's commit index grows; a ReadIndex answers with the commit index when the leader received it (here:
    // when sent, or later when resent); apply lags. Linearizability: a read that arrived when the commit index was
    // C is served only once applied >= C (else it could miss a write acknowledged before it began).
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = prng(seed);
      const b = new ReadBatcher<{ id: number; commitAtArrival: number }>(PREFIX);
      let commit = 0;
      let applied = 0;
      let nextId = 0;
      let now = 0;
      const outstanding = new Map<string, { ctx: Uint8Array; index: number }>();
      let served = 0;
      for (let step = 0; step < 3000; step++) {
        now += 1;
        const r = rnd();
        if (r < 0.3) commit += 1;
        else if (r < 0.55) b.add({ id: nextId++, commitAtArrival: commit });
        else if (r < 0.65) {
          const ctx = b.request();
          if (ctx !== undefined && rnd() < 0.9) {
            b.sent(now);
            outstanding.set(hex(ctx), { ctx, index: commit });
          }
        } else if (r < 0.75 && outstanding.size > 0) {
          // answers may come late, twice, or for an earlier send
          const all = [...outstanding.values()];
          const pick = all[Math.floor(rnd() * all.length)]!;
          b.answered(pick.ctx, pick.index);
          if (rnd() < 0.5) outstanding.delete(hex(pick.ctx));
        } else if (r < 0.8) {
          b.resend(now, 20);
        } else if (applied < commit) {
          applied += 1;
          for (const w of b.release(applied)) {
            served++;
            assert.ok(applied >= w.commitAtArrival, `seed ${seed}: read ${w.id} (arrived at commit ${w.commitAtArrival}) served at applied ${applied}`);
          }
        }
      }
      assert.ok(served > 100, `seed ${seed}: the model served reads (${served})`);
    }
  });
});
