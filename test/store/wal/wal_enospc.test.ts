/**
 * A full disk under the WAL and the snapshotter (issue 4): ENOSPC while appending, while creating a new
 * segment, and while saving a snapshot file must fail with an error naming the file (code ENOSPC), refuse later
 * saves, and leave a directory that opens with everything written before (a torn tail truncated).
 * ENOSPC comes from the kernel: the file about to be created is a symlink to /dev/full (writes fail with ENOSPC),
 * or, as root, the WAL lives on a tiny tmpfs filled with a filler file (skipped when mount is not allowed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EntryType, type Entry, type Snapshot } from '../../../store/raft/types.js';
import { SnapIoError, Snapshotter, snapName } from '../../../store/snap/snapshotter.js';
import { scanSegment, segmentName } from '../../../store/wal/segment.js';
import { Wal, WalIoError } from '../../../store/wal/wal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-enospc-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => path.join(root, `m${dirCount++}`, 'member', 'wal');
const META = { memberId: 7n, clusterId: 9n };

function entry(index: number, term: number, bytes = 40): Entry {
  const data = new Uint8Array(bytes).fill(index % 251);
  return { index, term, type: EntryType.Normal, data };
}
const range = (from: number, to: number, bytes?: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, 1, bytes));
const isEnospc = (cls: typeof WalIoError | typeof SnapIoError, file: string) => (e: unknown) => {
  assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
  assert.equal((e as WalIoError).code, 'ENOSPC');
  assert.equal((e as WalIoError).file, file);
  assert.match((e as Error).message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*no space left on device`));
  return true;
};

describe('WAL on a full disk', () => {
  it('a new segment that cannot be created (ENOSPC): the save fails naming the file, nothing half-made stays, the WAL opens', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META, { segmentBytes: 2048 });
    await wal.save({ term: 1, vote: 1n, commit: 5 }, range(1, 5));
    // the next save passes 2048 bytes and cuts segment 1, named after index 31: make its .tmp a /dev/full
    const tmp = path.join(dir, `${segmentName(1, 31)}.tmp`);
    fs.symlinkSync('/dev/full', tmp);
    await assert.rejects(wal.save({ term: 1, vote: 1n, commit: 30 }, range(6, 30, 80)), isEnospc(WalIoError, tmp));
    assert.ok(!fs.existsSync(tmp), 'the half-created segment is removed');
    await assert.rejects(wal.save({ term: 1, vote: 1n, commit: 31 }, range(31, 31)), /earlier save failed.*no space left on device/);
    await wal.close();
    assert.deepEqual(fs.readdirSync(dir), [segmentName(0, 0)]);

    // the batch before the cut was written and synced: it is in the log (never acknowledged, which Raft allows)
    const r = await Wal.open(dir, { segmentBytes: 2048 });
    assert.deepEqual(r.entries.map((e) => e.index), range(1, 30).map((e) => e.index));
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 30 });
    // space is back: the next save cuts a new segment (named after the index after its entries), and everything replays
    await r.wal.save({ term: 1, vote: 1n, commit: 32 }, range(31, 32));
    await r.wal.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), [segmentName(0, 0), segmentName(1, 33)]);
    const r2 = await Wal.open(dir);
    assert.deepEqual(r2.entries.map((e) => e.index), range(1, 32).map((e) => e.index));
    await r2.wal.close();
  });

  it('a leftover .wal.tmp from a crashed segment creation is removed on open', async () => {
    const dir = freshDir();
    const wal = await Wal.create(dir, META);
    await wal.save({ term: 1, vote: 1n, commit: 3 }, range(1, 3));
    await wal.close();
    fs.writeFileSync(path.join(dir, `${segmentName(1, 4)}.tmp`), new Uint8Array(100).fill(7)); // a half-written segment
    const r = await Wal.open(dir);
    assert.deepEqual(r.entries.map((e) => e.index), [1, 2, 3]);
    assert.deepEqual(fs.readdirSync(dir), [segmentName(0, 0)]);
    await r.wal.close();
  });

  let canMount = false;
  try {
    const probe = path.join(root, 'probe');
    fs.mkdirSync(probe);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    canMount = true;
  } catch { /* not root: the tmpfs test is skipped */ }

  it('ENOSPC mid-append on a real (tmpfs) full disk: acknowledged entries survive, the torn tail is cut on open', { skip: canMount ? false : 'needs root to mount a tmpfs' }, async () => {
    const mnt = path.join(root, `tmpfs${dirCount++}`);
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'pipe' });
    try {
      const dir = path.join(mnt, 'member', 'wal');
      const seg = path.join(dir, segmentName(0, 0));
      const wal = await Wal.create(dir, META);
      await wal.save({ term: 1, vote: 1n, commit: 1 }, range(1, 1));
      // fill the filesystem, then append batches of three 1000-byte entries until a save fails
      const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
      try {
        for (;;) fs.writeSync(fd, new Uint8Array(4096));
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      fs.closeSync(fd);
      let acked = 1;
      let failure: unknown;
      for (let i = 0; i < 100 && failure === undefined; i++) {
        try {
          await wal.save({ term: 1, vote: 1n, commit: acked + 3 }, range(acked + 1, acked + 3, 1000));
          acked += 3;
        } catch (e) {
          failure = e;
        }
      }
      assert.ok(failure, 'a save failed once the disk was full');
      isEnospc(WalIoError, seg)(failure);
      await assert.rejects(wal.save(undefined, range(acked + 1, acked + 1)), /earlier save failed/);
      await wal.close();
      // what the disk holds: whole records, then a torn one
      const before = fs.readFileSync(seg);
      const scan = scanSegment(before, seg, true);
      // tmpfs fills the file's last page before failing: the failed batch left a partial record
      assert.ok(scan.torn && scan.end < before.length, `a torn tail (${before.length} bytes, last whole record ends at ${scan.end})`);

      fs.unlinkSync(path.join(mnt, 'filler'));
      const r = await Wal.open(dir);
      const got = r.entries.map((e) => e.index);
      // every acknowledged entry, then at most the failed batch's entries that were written whole
      assert.deepEqual(got.slice(0, acked), range(1, acked).map((e) => e.index));
      assert.ok(got.length <= acked + 3, `no more than the failed batch (${got.length} entries, ${acked} acknowledged)`);
      assert.equal(fs.statSync(seg).size, scan.end, 'a torn tail is truncated to the last whole record');
      await r.wal.save({ term: 1, vote: 1n, commit: got.length + 1 }, range(got.length + 1, got.length + 1));
      await r.wal.close();
      const r2 = await Wal.open(dir);
      assert.equal(r2.entries.at(-1)!.index, got.length + 1);
      await r2.wal.close();
    } finally {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    }
  });
});

describe('Snapshotter on a full disk', () => {
  const snap = (term: number, index: number, text: string): Snapshot => ({ meta: { term, index, voters: [1n] }, data: new TextEncoder().encode(text) });

  it('a snapshot file that cannot be written (ENOSPC): SnapIoError naming the .tmp, which is removed; the older snapshot loads', async () => {
    const dir = path.join(root, `s${dirCount++}`, 'member', 'snap');
    const sn = new Snapshotter(dir);
    await sn.save(snap(1, 10, 'ten'));
    const tmp = path.join(dir, `${snapName(1, 20)}.tmp`);
    fs.symlinkSync('/dev/full', tmp);
    await assert.rejects(sn.save(snap(1, 20, 'twenty'.repeat(1000))), isEnospc(SnapIoError, tmp));
    assert.deepEqual(fs.readdirSync(dir), [snapName(1, 10)]);
    assert.deepEqual(await sn.load(), snap(1, 10, 'ten'));
    // space back: the same snapshot saves
    await sn.save(snap(1, 20, 'twenty'));
    assert.deepEqual(await sn.load(), snap(1, 20, 'twenty'));
  });
});
