/**
 * A follower that installs a snapshot from the leader (MsgSnap, Raft §7) makes it durable first (snapshot file,
 * then the WAL's snapshot record: store/server/snapshot_policy.ts persist) and writes the hard state that moves
 * its commit index to the snapshot's index only afterwards, in the same Ready, and unsynced when the term and
 * vote did not change (store/server/node.ts handleReady, etcd's MustSync). A kill -9 between the two, or a power
 * loss before the next fdatasync, leaves a WAL whose newest snapshot record is past its last hard state's commit.
 * A durable snapshot only ever holds committed state, so the WAL must open with commit >= the snapshot's index:
 * raft refuses a hard state whose commit lies below its snapshot ("hard state commit ... is out of range") and the
 * member could never start again.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryStorage, RawNode } from '../../../store/raft/index.js';
import { EntryType, type Entry } from '../../../store/raft/types.js';
import { Wal, type WalMetadata } from '../../../store/wal/wal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorum-wal-snapcommit-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const META: WalMetadata = { memberId: 2n, clusterId: 0xabcn };
const ents = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term, type: EntryType.Normal, data: new Uint8Array([i & 255]) }));

describe('WAL: snapshot record newer than the last hard state', () => {
  it('opens with the commit index raised to the snapshot index, and raft restarts from it', async () => {
    const dir = path.join(root, 'a', 'member', 'wal');
    const w = await Wal.create(dir, META);
    await w.save({ term: 2, vote: 1n, commit: 8 }, ents(1, 10, 2));
    // MsgSnap at index 40 (the leader compacted past this follower): the snapshot record is synced...
    await w.saveSnapshot({ index: 40, term: 3, voters: [1n, 2n, 3n] });
    // ...and the process dies before the Ready's hard state (commit 40) reaches the WAL
    await w.close();

    const r = await Wal.open(dir);
    assert.equal(r.snapshot?.index, 40);
    assert.ok(r.hardState.commit >= 40, `commit ${r.hardState.commit} is below the durable snapshot's index 40`);
    assert.equal(r.hardState.term, 2, 'term and vote are what was saved');
    assert.equal(r.hardState.vote, 1n);
    assert.deepEqual(r.entries, [], 'the entries before the snapshot are not part of the log');
    // the node's restart (store/server/node.ts open): storage = snapshot + hard state + entries, raft applied = snapshot
    const storage = new MemoryStorage([1n, 2n, 3n]);
    storage.applySnapshot({ meta: r.snapshot!, data: new Uint8Array(0) });
    storage.setHardState(r.hardState);
    storage.append(r.entries);
    const rn = new RawNode({ id: 2n, voters: [1n, 2n, 3n], electionTick: 10, heartbeatTick: 1, storage, applied: 40 });
    assert.equal(rn.status().commit, 40);
    await r.wal.close();
  });

  it('keeps a commit index already past the snapshot', async () => {
    const dir = path.join(root, 'b', 'member', 'wal');
    const w = await Wal.create(dir, META);
    await w.save({ term: 2, vote: 1n, commit: 20 }, ents(1, 30, 2));
    await w.saveSnapshot({ index: 15, term: 2, voters: [1n, 2n, 3n] }); // a local snapshot at applied 15
    await w.save({ term: 2, vote: 1n, commit: 25 }, []);
    await w.close();
    const r = await Wal.open(dir);
    assert.equal(r.hardState.commit, 25);
    assert.deepEqual(r.entries.map((e) => e.index), ents(16, 30, 2).map((e) => e.index));
    await r.wal.close();
  });
});
