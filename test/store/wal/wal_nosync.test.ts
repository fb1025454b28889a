import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EntryType, type Entry } from '../../../store/raft/types.js';
import { Wal, type WalMetadata } from '../../../store/wal/wal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-wal-nosync-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(root, `m${n++}`, 'member', 'wal');
const META: WalMetadata = { memberId: 0x11n, clusterId: 0x22n };
const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(`v${index}`) });

describe('Wal.save with sync: false (etcd raft.MustSync)', () => {
  it('skips the fdatasync for a hard-state-only save, but never when entries are appended', async () => {
    const dir = freshDir();
    let fsyncs = 0;
    const wal = await Wal.create(dir, META, { onFsync: () => fsyncs++ });
    await wal.save({ term: 1, vote: 1n, commit: 0 }, [entry(1, 1), entry(2, 1)], { sync: false });
    assert.equal(fsyncs, 1, 'entries are always synced');
    await wal.save({ term: 1, vote: 1n, commit: 2 }, [], { sync: false });
    assert.equal(fsyncs, 1, 'commit-only hard state is written unsynced');
    await wal.save({ term: 1, vote: 1n, commit: 2 }, [entry(3, 1)]);
    assert.equal(fsyncs, 2);
    await wal.save({ term: 1, vote: 1n, commit: 3 }, [], { sync: false });
    await wal.close(); // syncs the unsynced tail
    const r = await Wal.open(dir);
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 3 });
    assert.deepEqual(r.entries.map((e) => e.index), [1, 2, 3]);
    await r.wal.close();
  });

  it('a torn unsynced hard-state record at the tail is cut on open, keeping the synced entries', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save({ term: 2, vote: 1n, commit: 1 }, [entry(1, 2), entry(2, 2)]);
    await wal.close();
    const seg = path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort().pop()!);
    const synced = fs.statSync(seg).size;
    const r1 = await Wal.open(dir);
    await r1.wal.save({ term: 2, vote: 1n, commit: 2 }, [], { sync: false });
    await r1.wal.close();
    fs.truncateSync(seg, synced + Math.floor((fs.statSync(seg).size - synced) / 2)); // a crash tore it
    const r2 = await Wal.open(dir);
    assert.deepEqual(r2.hardState, { term: 2, vote: 1n, commit: 1 });
    assert.deepEqual(r2.entries.map((e) => e.index), [1, 2]);
    await r2.wal.close();
  });

  it('syncs before a segment cut so only the last segment can end unsynced', async () => {
    const dir = freshDir();
    let fsyncs = 0;
    const wal = await Wal.create(dir, META, { segmentBytes: 300, onFsync: () => fsyncs++ });
    let commit = 0;
    for (let i = 1; i <= 20; i++) {
      await wal.save({ term: 1, vote: 1n, commit }, [entry(i, 1)]);
      commit = i;
      await wal.save({ term: 1, vote: 1n, commit }, [], { sync: false });
    }
    assert.ok(fsyncs >= 20 && fsyncs < 40, `fsyncs ${fsyncs}`);
    await wal.close();
    assert.ok(fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).length > 1);
    const r = await Wal.open(dir);
    assert.equal(r.hardState.commit, 20);
    assert.equal(r.entries.length, 20);
    await r.wal.close();
  });
});

describe('Wal.save write paths', () => {
  it('a batch above the synchronous-write limit (1 MiB) is written asynchronously and replays like a small one', async () => {
    const dir = freshDir();
    let fsyncs = 0;
    const wal = await Wal.create(dir, META, { onFsync: () => fsyncs++ });
    const big = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(300 * 1024).fill(index) });
    await wal.save({ term: 1, vote: 1n, commit: 0 }, [entry(1, 1)]);
    await wal.save({ term: 1, vote: 1n, commit: 1 }, [big(2), big(3), big(4), big(5)]); // ≈ 1.2 MiB: the async path
    await wal.save({ term: 1, vote: 1n, commit: 5 }, [entry(6, 1)]);
    assert.equal(fsyncs, 3);
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6]);
    assert.equal(r.entries[3].data.length, 300 * 1024);
    assert.ok(r.entries[3].data.every((b) => b === 4));
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 5 });
    await r.wal.close();
  });
});
