import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EntryType, type Entry, type HardState } from '../../../store/raft/types.js';
import { crc32c } from '../../../store/wal/crc32c.js';
import { RecordType, recordBytes } from '../../../store/wal/record.js';
import { parseSegmentName, segmentName } from '../../../store/wal/segment.js';
import { Wal, WalCorruptError, WalStateError, type WalMetadata } from '../../../store/wal/wal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-wal-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
/** A fresh, not yet existing WAL directory under a fresh member dir. */
function freshDir(): string {
  return path.join(root, `m${dirCount++}`, 'member', 'wal');
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function entry(index: number, term: number, data: string | Uint8Array = `v${index}`): Entry {
  return {
    index,
    term,
    type: EntryType.Normal,
    data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
  };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

const META: WalMetadata = { memberId: 0x8e9e05c52164694dn, clusterId: 0xcdf818194e3a8c32n };

function segFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
}

function copyDir(from: string): string {
  const to = freshDir();
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('crc32c', () => {
  it('matches the standard check value and chains', () => {
    const data = new TextEncoder().encode('123456789');
    assert.equal(crc32c(data), 0xe3069283); // CRC-32C check value (RFC 3720 test vectors family)
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    assert.equal(crc32c(data.subarray(4), crc32c(data.subarray(0, 4))), 0xe3069283);
  });
});

describe('segment names', () => {
  it('are %016x-%016x.wal and parse back', () => {
    assert.equal(segmentName(1, 0x1a), '0000000000000001-000000000000001a.wal');
    assert.deepEqual(parseSegmentName('0000000000000001-000000000000001a.wal'), { seq: 1, index: 26 });
    assert.equal(parseSegmentName('0000000000000001-000000000000001a.wal.tmp'), undefined);
  });
});

describe('Wal', () => {
  it('create: refuses an existing WAL, leaves no temp dir; open: refuses a missing one', async () => {
    const dir = freshDir();
    assert.equal(Wal.exists(dir), false);
    await assert.rejects(Wal.open(dir), WalStateError);
    const wal = await Wal.create(dir, META);
    assert.equal(Wal.exists(dir), true);
    assert.equal(fs.existsSync(`${dir}.tmp`), false);
    assert.deepEqual(segFiles(dir), ['0000000000000000-0000000000000000.wal']);
    await assert.rejects(Wal.create(dir, META), WalStateError);
    await wal.close();
  });

  it('round trips metadata (full u64 range), hard state and entries', async () => {
    const dir = freshDir();
    const meta = { memberId: 0xffffffffffffffffn, clusterId: 1n };
    const wal = await Wal.create(dir, meta);
    const hs: HardState = { term: 2 ** 40 + 3, vote: 0xfedcba9876543210n, commit: 7 };
    const ents = [entry(1, 1, new Uint8Array(0)), { ...entry(2, 2 ** 33), type: EntryType.ConfChange }, entry(3, 2 ** 33, new Uint8Array(5000).fill(7))];
    await wal.save(hs, ents);
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.meta, meta);
    assert.deepEqual(r.hardState, hs);
    assert.deepEqual(r.entries, ents);
    assert.equal(r.snapshot, undefined);
    assert.equal(r.wal.lastIndex(), 3);
    await r.wal.close();
  });

  it('a fresh WAL replays an empty hard state and no entries', async () => {
    const dir = freshDir();
    await (await Wal.create(dir, META)).close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.meta, META);
    assert.deepEqual(r.hardState, { term: 0, vote: 0n, commit: 0 });
    assert.deepEqual(r.entries, []);
    await r.wal.close();
  });

  it('many batches: one fdatasync per save, all replayed in order', async () => {
    const rnd = prng(42);
    const dir = freshDir();
    let fsyncs = 0;
    const wal = await Wal.create(dir, META, { onFsync: () => fsyncs++ });
    const all: Entry[] = [];
    let hs: HardState = { term: 1, vote: 1n, commit: 0 };
    let saves = 0;
    for (let b = 0; b < 200; b++) {
      const n = Math.floor(rnd() * 5);
      const batch: Entry[] = [];
      for (let i = 0; i < n; i++) {
        const data = new Uint8Array(Math.floor(rnd() * 300));
        for (let j = 0; j < data.length; j++) data[j] = Math.floor(rnd() * 256);
        batch.push(entry(all.length + 1, hs.term, data));
        all.push(batch[batch.length - 1]!);
      }
      const withHs = rnd() < 0.5;
      if (withHs) hs = { term: hs.term + (rnd() < 0.1 ? 1 : 0), vote: 1n, commit: all.length };
      if (withHs || batch.length) saves++;
      await wal.save(withHs ? hs : undefined, batch);
    }
    await wal.save(undefined, []); // nothing to do: no write, no fsync
    assert.equal(fsyncs, saves);
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries, all);
    assert.deepEqual(r.hardState, hs);
    await r.wal.close();
  });

  it('restart: replay, append more, replay again', async () => {
    const dir = freshDir();
    const w1 = await Wal.create(dir, META);
    await w1.save({ term: 1, vote: 2n, commit: 3 }, entries(1, 5, 1));
    await w1.close();
    const r1 = await Wal.open(dir);
    assert.equal(r1.entries.length, 5);
    await r1.wal.save({ term: 2, vote: 2n, commit: 8 }, entries(6, 10, 2));
    await r1.wal.close();
    const r2 = await Wal.open(dir);
    assert.deepEqual(r2.entries, [...entries(1, 5, 1), ...entries(6, 10, 2)]);
    assert.deepEqual(r2.hardState, { term: 2, vote: 2n, commit: 8 });
    await r2.wal.close();
  });

  it('entries with an index <= the last overwrite the tail (Raft log truncation)', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 10, 1));
    await wal.save(undefined, entries(6, 8, 2)); // a new leader replaced 6..10
    await wal.save(undefined, entries(9, 9, 2));
    await wal.save(undefined, entries(3, 3, 3)); // and again from 3
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries, [...entries(1, 2, 1), ...entries(3, 3, 3)]);
    assert.equal(r.wal.lastIndex(), 3);
    await r.wal.close();
  });

  it('a torn final record, cut at every byte, is truncated and the rest recovered', async () => {
    const base = freshDir();
    const wal = await Wal.create(base, META);
    await wal.save({ term: 1, vote: 1n, commit: 2 }, entries(1, 4, 1));
    const file = path.join(base, segFiles(base)[0]!);
    const goodSize = fs.statSync(file).size;
    const last = entry(5, 1, 'the last record, torn by a crash');
    await wal.save(undefined, [last]);
    await wal.close();
    const fullSize = fs.statSync(file).size;
    assert.equal(fullSize - goodSize, recordBytes({ type: RecordType.Entry, entry: last }));
    for (let cut = goodSize; cut < fullSize; cut++) {
      const dir = copyDir(base);
      const f = path.join(dir, segFiles(dir)[0]!);
      fs.truncateSync(f, cut);
      const r = await Wal.open(dir);
      assert.deepEqual(r.entries, entries(1, 4, 1), `cut at ${cut}`);
      assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 2 });
      assert.equal(fs.statSync(f).size, goodSize, `file truncated to the last good record (cut at ${cut})`);
      // the repaired WAL takes new writes after the good records
      await r.wal.save(undefined, [entry(5, 2)]);
      await r.wal.close();
      const r2 = await Wal.open(dir);
      assert.deepEqual(r2.entries, [...entries(1, 4, 1), entry(5, 2)]);
      await r2.wal.close();
    }
  });

  it('a zero-filled tail (file extended, data never written) is truncated', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 3, 1));
    await wal.close();
    const f = path.join(dir, segFiles(dir)[0]!);
    const size = fs.statSync(f).size;
    fs.appendFileSync(f, new Uint8Array(4096));
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries, entries(1, 3, 1));
    assert.equal(fs.statSync(f).size, size);
    await r.wal.close();
  });

  it('a flipped byte in the middle throws WalCorruptError naming file and offset', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    const ents = entries(1, 10, 1);
    await wal.save({ term: 1, vote: 1n, commit: 10 }, ents);
    await wal.close();
    const f = path.join(dir, segFiles(dir)[0]!);
    const bytes = fs.readFileSync(f);
    // offset of entry 5's record: metadata record, then entries 1..4
    let off = recordBytes({ type: RecordType.Metadata, meta: META });
    for (let i = 0; i < 4; i++) off += recordBytes({ type: RecordType.Entry, entry: ents[i]! });
    for (const within of [4, 8, 9, 20, 26]) {
      // crc field, type byte, term, index, data
      const copy = Buffer.from(bytes);
      copy[off + within]! ^= 0x40;
      fs.writeFileSync(f, copy);
      await assert.rejects(Wal.open(dir), (err: unknown) => {
        assert.ok(err instanceof WalCorruptError, String(err));
        assert.equal(err.file, f);
        assert.equal(err.offset, off);
        assert.match(err.message, new RegExp(`${path.basename(f)} at offset ${off}`));
        return true;
      });
      assert.equal(fs.statSync(f).size, bytes.length, 'nothing truncated');
    }
  });

  it('a truncated non-final segment is corruption, not a torn tail', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 512 });
    for (let i = 1; i <= 40; i++) await wal.save(undefined, [entry(i, 1, 'x'.repeat(40))]);
    await wal.close();
    const files = segFiles(dir);
    assert.ok(files.length >= 3);
    const f = path.join(dir, files[0]!);
    fs.truncateSync(f, fs.statSync(f).size - 3);
    await assert.rejects(Wal.open(dir), (err: unknown) => err instanceof WalCorruptError && err.file === f);
  });

  it('a missing segment in the sequence is corruption', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 512 });
    for (let i = 1; i <= 40; i++) await wal.save(undefined, [entry(i, 1, 'x'.repeat(40))]);
    await wal.close();
    fs.rmSync(path.join(dir, segFiles(dir)[1]!));
    await assert.rejects(Wal.open(dir), WalCorruptError);
  });

  it('segment rollover: new segments named after the next index, replay across them, overwrite across them', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 1024 });
    const all: Entry[] = [];
    for (let i = 1; i <= 60; i++) {
      const e = entry(i, 1, 'y'.repeat(50));
      all.push(e);
      await wal.save({ term: 1, vote: 1n, commit: i - 1 }, [e]);
    }
    await wal.close();
    const files = segFiles(dir);
    assert.ok(files.length >= 4, `expected several segments, got ${files.length}`);
    files.forEach((name, i) => {
      const p = parseSegmentName(name)!;
      assert.equal(p.seq, i);
      if (i > 0) assert.ok(p.index > 1 && p.index <= 60, name);
      // every segment before the last reached the size limit
      if (i < files.length - 1) assert.ok(fs.statSync(path.join(dir, name)).size >= 1024);
    });
    // the first index in a segment's name is the index of the first entry in it
    const r = await Wal.open(dir, { segmentBytes: 1024 });
    assert.deepEqual(r.entries, all);
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 59 });
    // overwrite from an index that lives in the first segment, then reopen
    await r.wal.save({ term: 2, vote: 3n, commit: 2 }, entries(3, 4, 2));
    await r.wal.close();
    const r2 = await Wal.open(dir);
    assert.deepEqual(r2.entries, [...all.slice(0, 2), ...entries(3, 4, 2)]);
    assert.deepEqual(r2.hardState, { term: 2, vote: 3n, commit: 2 });
    assert.deepEqual(r2.meta, META);
    await r2.wal.close();
  });

  it('segment names carry the first index of the entries they hold', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 300 });
    for (let i = 1; i <= 20; i++) await wal.save(undefined, [entry(i, 1, 'z'.repeat(60))]);
    await wal.close();
    for (const name of segFiles(dir).slice(1)) {
      const only = copyDir(dir);
      // keep just this segment: its first entry must be the index in its name
      for (const other of segFiles(only)) if (other !== name) fs.rmSync(path.join(only, other));
      const r = await Wal.open(only);
      const first = parseSegmentName(name)!.index;
      if (r.entries.length) assert.equal(r.entries[0]!.index, first, name);
      await r.wal.close();
    }
  });

  it('snapshot marker: entries up to it are dropped on replay; the log may restart after it', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save({ term: 1, vote: 1n, commit: 5 }, entries(1, 5, 1));
    await wal.saveSnapshot({ index: 3, term: 1, voters: [1n, 2n, 0xffffffffffffffffn] });
    await wal.save(undefined, entries(6, 6, 1));
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.snapshot, { index: 3, term: 1, voters: [1n, 2n, 0xffffffffffffffffn] });
    assert.deepEqual(r.entries, entries(4, 6, 1));
    // a snapshot from the leader beyond our log: the log restarts at its index + 1
    await r.wal.saveSnapshot({ index: 100, term: 3, voters: [1n] });
    await r.wal.save({ term: 3, vote: 0n, commit: 100 }, entries(101, 102, 3));
    await r.wal.close();
    const r2 = await Wal.open(dir);
    assert.equal(r2.snapshot?.index, 100);
    assert.deepEqual(r2.entries, entries(101, 102, 3));
    await r2.wal.close();
  });

  it('releaseTo removes segments before a snapshot; the rest replays on its own', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 400 });
    for (let i = 1; i <= 40; i++) await wal.save({ term: 1, vote: 1n, commit: i }, [entry(i, 1, 'w'.repeat(40))]);
    const before = segFiles(dir);
    assert.ok(before.length >= 5);
    await wal.saveSnapshot({ index: 30, term: 1, voters: [1n] });
    const removed = await wal.releaseTo(30);
    const after = segFiles(dir);
    assert.deepEqual([...removed, ...after], before);
    assert.ok(removed.length >= 2);
    // the first kept segment holds index 30 (or starts right at it)
    assert.ok(parseSegmentName(after[0]!)!.index <= 30);
    if (after.length > 1) assert.ok(parseSegmentName(after[1]!)!.index > 30);
    await wal.save(undefined, [entry(41, 1)]);
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries.map((e) => e.index), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41]);
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 40 });
    assert.equal(r.snapshot?.index, 30);
    await r.wal.close();
  });

  it('a gap in entry indexes without a snapshot is corruption', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 3, 1));
    await wal.save(undefined, entries(5, 5, 1));
    await wal.close();
    await assert.rejects(Wal.open(dir), WalCorruptError);
  });

  it('concurrent saves are written in call order', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await Promise.all([1, 2, 3, 4, 5].map((i) => wal.save({ term: 1, vote: 0n, commit: i }, [entry(i, 1)])));
    await wal.close();
    await assert.rejects(wal.save(undefined, [entry(6, 1)]), /closed/);
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries, entries(1, 5, 1));
    assert.equal(r.hardState.commit, 5);
    await r.wal.close();
  });
});
