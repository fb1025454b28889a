/**
 * WAL recovery at every cut (issue 4, "WAL and snapshot durability"): a WAL of several batches (entries and
 * hard states, one tail overwrite) across segment rollovers is copied, and the copy's last segment truncated
 * at every record boundary and inside every record (in the header, just after it, mid-payload, one byte
 * short). Each copy must open without throwing and recover exactly the complete records before the cut:
 * the same entries and hard state as replaying those records, never more. A flipped payload byte in an
 * earlier record (in a sealed segment, or before the tail of the last one) must be refused with
 * WalCorruptError naming the file and the record's offset. Deterministic (fixed seed), no timing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EntryType, type Entry, type HardState } from '../../../store/raft/types.js';
import { parseSegmentName } from '../../../store/wal/segment.js';
import { Wal, WalCorruptError, type WalMetadata } from '../../../store/wal/wal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-wal-cut-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshMember = () => path.join(root, `c${dirCount++}`);

/** mulberry32: a fixed-seed PRNG. */
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

/** One logical record as written by save(): an entry or a hard state. */
type Rec = { k: 'ent'; e: Entry } | { k: 'hs'; hs: HardState } | { k: 'meta' };

interface State { entries: Entry[]; hs: HardState }

/** Replays records the way a WAL must: entries appended, an index at or below the last overwrites the tail. */
function replay(s: State, recs: Rec[]): State {
  let entries = [...s.entries];
  let hs = s.hs;
  for (const r of recs) {
    if (r.k === 'hs') hs = r.hs;
    else if (r.k === 'ent') {
      const first = entries[0]?.index ?? r.e.index;
      entries = entries.slice(0, Math.max(0, r.e.index - first));
      entries.push(r.e);
    }
  }
  return { entries, hs };
}

const META: WalMetadata = { memberId: 0x1234n, clusterId: 0xabcdn };
const SEGMENT_BYTES = 3000;
const rand = prng(20261121);
const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
const ent = (index: number, term: number, n: number): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(text(n)) });

/** Record boundaries of a segment file, read from the length fields: [start, end) of each record. */
function boundaries(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let off = 0;
  while (off < buf.length) {
    const len = buf.readUInt32LE(off);
    out.push([off, off + 8 + len]);
    off += 8 + len;
  }
  assert.equal(off, buf.length, 'segment ends at a record boundary');
  return out;
}

function segments(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => parseSegmentName(n)).sort();
}

function strip(e: Entry) {
  return { index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') };
}

describe('WAL recovery when cut at every record boundary and inside every record', () => {
  const src = path.join(freshMember(), 'wal');
  /** State replayed from every segment before the last. */
  let base: State = { entries: [], hs: { term: 0, vote: 0n, commit: 0 } };
  /** Logical records of the last segment, in file order (its header: metadata, hard state copy). */
  let lastRecs: Rec[] = [];
  let lastName = '';
  let bounds: [number, number][] = [];
  let lastBuf: Buffer;
  let full: State;

  before(async () => {
    const wal = await Wal.create(src, META, { segmentBytes: SEGMENT_BYTES });
    let index = 0;
    let term = 1;
    let hs: HardState = { term: 0, vote: 0n, commit: 0 };
    let all: Rec[] = [];
    let recsSinceCut: Rec[] = [];
    let segCount = 1;
    let savesAfterThird = 0;
    for (let batch = 0; ; batch++) {
      const recs: Rec[] = [];
      const ents: Entry[] = [];
      const kind = batch % 5;
      if (segCount === 3 && savesAfterThird === 4) {
        // a tail overwrite in the last segment: a new term replaces the last two entries
        term++;
        index -= 2;
        ents.push(ent(++index, term, 30), ent(++index, term, 25));
      } else if (kind !== 3) {
        const n = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < n; j++) ents.push(ent(++index, term, 10 + Math.floor(rand() * 60)));
      }
      let newHs: HardState | undefined;
      if (kind !== 2) {
        if (batch % 7 === 6) term++;
        hs = { term, vote: BigInt(1 + (term % 3)), commit: Math.max(0, index - 1) };
        newHs = hs;
      }
      for (const e of ents) recs.push({ k: 'ent', e });
      if (newHs) recs.push({ k: 'hs', hs: newHs });
      await wal.save(newHs, ents);
      all = all.concat(recs);
      recsSinceCut = recsSinceCut.concat(recs);
      const n = segments(src).length;
      if (n !== segCount) {
        assert.equal(n, segCount + 1);
        segCount = n;
        base = replay({ entries: [], hs: { term: 0, vote: 0n, commit: 0 } }, all);
        lastRecs = [{ k: 'meta' }, { k: 'hs', hs }];
        recsSinceCut = [];
        continue;
      }
      if (segCount >= 3) {
        lastRecs = lastRecs.concat(recs);
        if (++savesAfterThird === 9) break;
      }
    }
    await wal.close();
    const segs = segments(src);
    assert.equal(segs.length, 3, 'two rollovers happened');
    lastName = segs[segs.length - 1]!;
    lastBuf = fs.readFileSync(path.join(src, lastName));
    bounds = boundaries(lastBuf);
    assert.equal(bounds.length, lastRecs.length, 'the last segment holds the records written after the cut');
    full = replay(base, lastRecs);
  });

  /** A copy of the source WAL with its last segment truncated to `size` bytes; returns the copy's dir. */
  function cutCopy(size: number): string {
    const dir = path.join(freshMember(), 'wal');
    fs.cpSync(src, dir, { recursive: true });
    fs.truncateSync(path.join(dir, lastName), size);
    return dir;
  }

  async function expectRecovers(dir: string, kept: number, what: string): Promise<void> {
    const want = replay(base, lastRecs.slice(0, kept));
    const r = await Wal.open(dir);
    try {
      assert.deepEqual(r.entries.map(strip), want.entries.map(strip), `${what}: entries`);
      assert.deepEqual(r.hardState, want.hs, `${what}: hard state`);
      assert.equal(r.meta.memberId, META.memberId);
      assert.equal(r.wal.lastIndex(), want.entries.length ? want.entries[want.entries.length - 1]!.index : 0, `${what}: last index`);
    } finally {
      await r.wal.close();
    }
    assert.equal(fs.statSync(path.join(dir, lastName)).size, kept === 0 ? 0 : bounds[kept - 1]![1], `${what}: the torn tail is truncated away`);
  }

  it('the whole WAL replays every record', async () => {
    await expectRecovers(cutCopy(lastBuf.length), bounds.length, 'uncut');
    assert.ok(full.entries.length > 40, `many entries (${full.entries.length})`);
  });

  it('cut at every record boundary of the last segment: exactly the records before the cut', async () => {
    for (let k = 0; k < bounds.length; k++) {
      const at = k === 0 ? 0 : bounds[k - 1]![1];
      await expectRecovers(cutCopy(at), k, `cut at boundary ${k} (byte ${at})`);
    }
  });

  it('cut inside every record of the last segment: the torn record is dropped, never more', async () => {
    for (let k = 0; k < bounds.length; k++) {
      const [start, end] = bounds[k]!;
      const cuts = new Set([start + 1, start + 8, start + 9, Math.floor((start + end) / 2), end - 1].filter((x) => x > start && x < end));
      for (const at of cuts) await expectRecovers(cutCopy(at), k, `cut inside record ${k} at byte ${at} (${start}..${end})`);
    }
  });

  it('a WAL recovered from a torn tail accepts new saves and replays them', async () => {
    const k = Math.floor(bounds.length / 2);
    const dir = cutCopy(Math.floor((bounds[k]![0] + bounds[k]![1]) / 2));
    const want = replay(base, lastRecs.slice(0, k));
    const r = await Wal.open(dir);
    const next = (want.entries[want.entries.length - 1]?.index ?? 0) + 1;
    const hs: HardState = { term: 99, vote: 2n, commit: next };
    await r.wal.save(hs, [ent(next, 99, 20)]);
    await r.wal.close();
    const r2 = await Wal.open(dir);
    try {
      assert.deepEqual(r2.entries.map((e) => e.index), [...want.entries.map((e) => e.index), next]);
      assert.deepEqual(r2.hardState, hs);
    } finally {
      await r2.wal.close();
    }
  });

  it('a flipped payload byte in an earlier record is refused with WalCorruptError (file, offset)', async () => {
    const segs = segments(src);
    // every record of the first (sealed) segment, and the records of the last segment before its final one
    const targets: { seg: string; start: number; end: number }[] = [];
    for (const [start, end] of boundaries(fs.readFileSync(path.join(src, segs[0]!)))) targets.push({ seg: segs[0]!, start, end });
    for (const [start, end] of bounds.slice(0, -1)) targets.push({ seg: lastName, start, end });
    for (const t of targets) {
      const dir = path.join(freshMember(), 'wal');
      fs.cpSync(src, dir, { recursive: true });
      const file = path.join(dir, t.seg);
      const buf = fs.readFileSync(file);
      const at = t.start + 9 + Math.floor((t.end - t.start - 9) / 2); // inside the payload
      buf[at] = buf[at]! ^ 0x5a;
      fs.writeFileSync(file, buf);
      await assert.rejects(Wal.open(dir), (e: unknown) => {
        assert.ok(e instanceof WalCorruptError, `${t.seg}@${t.start}: ${String(e)}`);
        assert.equal(e.file, file);
        assert.equal(e.offset, t.start);
        assert.match(e.message, /CRC mismatch/);
        return true;
      });
      assert.equal(fs.readFileSync(file).length, buf.length, 'a corrupt WAL is left as it was');
    }
  });

  // KNOWN GAP (reported in issue 4): a length field corrupted to run past the end of the last segment is
  // taken for a torn final write, so every later (fsynced, maybe acknowledged) record is silently dropped.
  it('a corrupted length field in an earlier record of the last segment is refused, not read as a torn tail', async () => {
    const dir = path.join(freshMember(), 'wal');
    fs.cpSync(src, dir, { recursive: true });
    const file = path.join(dir, lastName);
    const buf = fs.readFileSync(file);
    const [start] = bounds[3]!;
    buf[start + 1] = buf[start + 1]! ^ 0x10; // the length grows by 4096 bytes: past the end of the file
    fs.writeFileSync(file, buf);
    await assert.rejects(Wal.open(dir), WalCorruptError);
  });
});
