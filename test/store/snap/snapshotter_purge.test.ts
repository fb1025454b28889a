/**
 * Snapshotter.purge and removeNewerThan on real files (written with fsync): the purge keeps the newest files up to
 * the WAL's latest snapshot record and never deletes that one, whatever lies above it; removeNewerThan removes
 * the files a crash between the snapshot file and its WAL record leaves (docs/FAULTS.md).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Snapshotter, snapNameIndex } from '../../../store/snap/snapshotter.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-snappurge-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function dirWith(name: string, indexes: number[]): Promise<Snapshotter> {
  const s = new Snapshotter(path.join(tmp, name));
  for (const index of indexes) await s.save({ meta: { index, term: 2, voters: [1n] }, data: new Uint8Array([index % 256]) });
  return s;
}
const indexes = (s: Snapshotter) => s.list().map((n) => snapNameIndex(n));

describe('snapshot files and the WAL\'s latest snapshot record', () => {
  it('purge keeps the newest `keep` files at or below the durable index; files above it neither count nor go', async () => {
    const s = await dirWith('a', [100, 200, 300, 900]);
    assert.deepEqual(await s.purge(1, 300), ['0000000000000002-00000000000000c8.snap', '0000000000000002-0000000000000064.snap']);
    assert.deepEqual(indexes(s), [900, 300], 'the WAL\'s snapshot (300) is kept; 900 (no WAL record yet) untouched');
    assert.deepEqual(await s.purge(1), ['0000000000000002-000000000000012c.snap'], 'without a bound the newest file counts (the old behaviour)');
    assert.deepEqual(indexes(s), [900]);
  });

  it('purge with keep 0 keeps every file (etcd: --max-snapshots 0 is unlimited)', async () => {
    const s = await dirWith('b', [1, 2, 3]);
    assert.deepEqual(await s.purge(0, 3), []);
    assert.deepEqual(indexes(s), [3, 2, 1]);
  });

  it('removeNewerThan removes only the files above the WAL\'s index and returns their paths', async () => {
    const s = await dirWith('c', [10, 20, 30]);
    fs.writeFileSync(path.join(s.dir, 'unrelated.txt'), 'x');
    assert.deepEqual(await s.removeNewerThan(20), [path.join(s.dir, '0000000000000002-000000000000001e.snap')]);
    assert.deepEqual(indexes(s), [20, 10]);
    assert.deepEqual(await s.removeNewerThan(20), []);
    assert.deepEqual(await s.removeNewerThan(0), ['0000000000000002-0000000000000014.snap', '0000000000000002-000000000000000a.snap'].map((n) => path.join(s.dir, n)));
    assert.deepEqual(indexes(s), [], 'a WAL without a snapshot record names none of them');
    assert.ok(fs.existsSync(path.join(s.dir, 'unrelated.txt')));
    assert.deepEqual(await new Snapshotter(path.join(tmp, 'missing')).removeNewerThan(0), [], 'no snap dir: nothing to do');
  });
});
