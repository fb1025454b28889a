/**
 * The backup file (store/snap/backup.ts) and offline restore (store/snap/restore.ts): image layout (512-byte
 * pages + SHA-256), status figures, etcd's error strings for a missing / wrong digest and a non-backup file,
 * and a restored data dir whose WAL and Raft snapshot hold the new membership and the backup's MVCC state.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MvccStore } from '../../../store/mvcc/kvstore.js';
import { decodeMvccSnapshot, encodeMvccSnapshot } from '../../../store/mvcc/snapshot.js';
import { computeClusterId, computeMemberId } from '../../../store/server/ids.js';
import { backupStatus, encodeImage, parseBackup, sha256, type BackupMeta } from '../../../store/snap/backup.js';
import { restoreSnapshot } from '../../../store/snap/restore.js';
import { Snapshotter } from '../../../store/snap/snapshotter.js';
import { crc32c } from '../../../store/wal/crc32c.js';
import { Wal } from '../../../store/wal/wal.js';

const enc = (s: string) => new TextEncoder().encode(s);

function sampleStore(): MvccStore {
  const st = new MvccStore();
  st.put(enc('a'), enc('1'), 0n);
  st.put(enc('b'), enc('2'), 0n);
  st.put(enc('a'), enc('3'), 0n);
  st.deleteRange(enc('b'), undefined);
  st.put(enc('c'), enc('x'.repeat(1000)), 0n);
  return st;
}

const META: BackupMeta = { version: 1, clusterId: '1', memberId: '2', raftIndex: 10, raftTerm: 2, revision: 6, compactRevision: 0, members: [], alarms: [] };

function backupFile(st: MvccStore): Uint8Array {
  const image = encodeImage(META, encodeMvccSnapshot(st));
  return Buffer.concat([image, sha256(image)]);
}

test('image is padded to 512-byte pages and followed by its SHA-256; status figures', () => {
  const st = sampleStore();
  const file = backupFile(st);
  assert.equal(file.length % 512, 32);
  const b = parseBackup(file, true);
  assert.equal(b.hasHash, true);
  assert.equal(b.image.length, file.length - 32);
  assert.deepEqual(b.meta, META);
  assert.equal(decodeMvccSnapshot(b.mvcc).rev(), 6);
  const { status } = backupStatus(file);
  assert.deepEqual(status, { hash: crc32c(b.image), revision: 6, totalKey: 5, totalSize: file.length - 32 });
});

test('etcd\'s messages for a missing digest, a wrong digest and a file that is not a backup', () => {
  const file = backupFile(sampleStore());
  const noHash = file.subarray(0, file.length - 32);
  assert.throws(() => parseBackup(noHash, true), { message: 'snapshot missing hash but --skip-hash-check=false' });
  assert.equal(parseBackup(noHash, false).hasHash, false);
  const bad = Uint8Array.from(file);
  bad[bad.length - 1] ^= 1;
  assert.throws(() => parseBackup(bad, true), { message: /^expected sha256 \[(\d+ ){31}\d+\], got \[(\d+ ){31}\d+\]$/ });
  assert.throws(() => parseBackup(enc('not a backup at all, just text'), false), { message: 'invalid database' });
  assert.throws(() => backupStatus(file.subarray(0, 600)), { message: 'invalid database' });
});

test('restore writes a WAL and Raft snapshot for the new member and cluster at the backup revision', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-restore-'));
  const file = join(dir, 'b.db');
  const st = sampleStore();
  writeFileSync(file, backupFile(st));
  const cluster = 'n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380';
  const opts = { file, name: 'n2', initialCluster: cluster, initialClusterToken: 'tok', initialAdvertisePeerUrls: 'http://10.0.0.2:2380', dataDir: join(dir, 'n2'), skipHashCheck: false };
  const r = await restoreSnapshot(opts);
  const ids = [1, 2, 3].map((i) => computeMemberId([`http://10.0.0.${i}:2380`], 'tok'));
  assert.equal(r.memberId, ids[1]);
  assert.equal(r.clusterId, computeClusterId(ids));
  assert.equal(r.revision, 6);
  assert.equal(r.index, 3);
  const w = await Wal.open(join(dir, 'n2', 'member', 'wal'));
  try {
    assert.deepEqual(w.meta, { memberId: ids[1], clusterId: computeClusterId(ids) });
    assert.equal(w.snapshot?.index, 3);
    assert.equal(w.snapshot?.term, 1);
    assert.equal(w.hardState.commit, 3);
    assert.equal(w.entries.length, 0);
  } finally {
    await w.wal.close();
  }
  const snap = await new Snapshotter(join(dir, 'n2', 'member', 'snap')).loadIndex(3);
  assert.ok(snap);
  assert.deepEqual([...snap.meta.voters].sort(), [...ids].sort());
  const restored = decodeMvccSnapshot(snap.data);
  assert.equal(restored.rev(), 6);
  assert.deepEqual(restored.range(enc('a'), undefined, { revision: 2 }).kvs.map((kv) => Buffer.from(kv.value).toString()), ['1']);
  await assert.rejects(restoreSnapshot(opts), { message: `data-dir ${JSON.stringify(join(dir, 'n2'))} exists` });
  await assert.rejects(restoreSnapshot({ ...opts, dataDir: join(dir, 'x'), initialAdvertisePeerUrls: 'http://10.0.0.9:2380' }), /missing from --initial-advertise-peer-urls/);
  assert.equal(existsSync(join(dir, 'x')), false, 'nothing written on a refused restore');
});
