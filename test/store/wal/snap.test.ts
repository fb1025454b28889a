/** store/snap Snapshotter (kept beside the WAL tests: the two are the durability layer under Raft). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Snapshot } from '../../../store/raft/types.js';
import { SnapCorruptError, Snapshotter, decodeSnapshot, encodeSnapshot, snapName } from '../../../store/snap/snapshotter.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-snap-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function snap(term: number, index: number, text: string): Snapshot {
  return { meta: { term, index, voters: [1n, 0xffffffffffffffffn] }, data: new TextEncoder().encode(text) };
}

describe('Snapshotter', () => {
  it('encodes and decodes snapshot bytes; damage is detected', () => {
    const s = snap(2 ** 35, 12345, 'state');
    const bytes = encodeSnapshot(s);
    assert.deepEqual(decodeSnapshot(bytes), s);
    for (const at of [0, 5, 10, 30, bytes.length - 1]) {
      const bad = Uint8Array.from(bytes);
      bad[at]! ^= 0x10;
      assert.throws(() => decodeSnapshot(bad, 'f'), SnapCorruptError, `flip at ${at}`);
    }
  });

  it('saves atomically, loads the newest, renames a broken newest file and falls back', async () => {
    const dir = path.join(root, 'a', 'member', 'snap');
    const sn = new Snapshotter(dir);
    assert.equal(await sn.load(), undefined);
    await sn.save(snap(1, 10, 'ten'));
    await sn.save(snap(2, 20, 'twenty'));
    await sn.save(snap(2, 15, 'fifteen'));
    assert.deepEqual(sn.list(), [snapName(2, 20), snapName(2, 15), snapName(1, 10)]);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 0);
    assert.deepEqual(await sn.load(), snap(2, 20, 'twenty'));
    assert.deepEqual(await sn.loadIndex(10), snap(1, 10, 'ten'));
    assert.equal(await sn.loadIndex(11), undefined);
    const newest = path.join(dir, snapName(2, 20));
    fs.truncateSync(newest, 20);
    assert.deepEqual(await sn.load(), snap(2, 15, 'fifteen'));
    assert.ok(fs.existsSync(`${newest}.broken`));
    await sn.purge(1);
    assert.deepEqual(sn.list(), [snapName(2, 15)]);
  });
});
