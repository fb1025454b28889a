/**
 * leader_handoff.ts: the choice of transferee, the hand-off on stop (against a scripted host, no processes) and
 * which refused peer messages are stepped again once a leader is known.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageType, type Message } from '../../../store/raft/types.js';
import { emptyMessage } from '../../../store/raft/index.js';
import { Cluster } from '../raft/harness.js';
import { handOffLeadership, pickTransferee, redeliverable, type HandoffHost } from '../../../store/server/leader_handoff.js';
import { Logger } from '../../../store/server/log.js';

const lines: string[] = [];
const log = new Logger('info', 'test', (l) => lines.push(l));

function host(over: Partial<HandoffHost> & { lead?: bigint }): HandoffHost & { moved: bigint[] } {
  let lead = over.lead ?? 1n;
  const moved: bigint[] = [];
  return {
    isLeader: () => lead === 1n, memberId: () => 1n, voters: () => [1n, 2n, 3n],
    progress: () => new Map([[1n, 10], [2n, 9], [3n, 10]]), peerActive: () => true,
    moveLeader: async (to) => {
      moved.push(to);
      lead = to;
    },
    leader: () => lead, heartbeatIntervalMs: 5, electionTimeoutMs: 50, log, moved, ...over,
  };
}

const msg = (type: MessageType): Message => ({
  type, from: 2n, to: 1n, term: 0, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(0), entries: [],
});

describe('leader hand-off', () => {
  it('picks the reachable voter with the highest match index, lowest ID on ties, never itself', () => {
    const progress = new Map([[1n, 10], [2n, 7], [3n, 9], [4n, 9]]);
    assert.equal(pickTransferee(1n, [1n, 2n, 3n, 4n], progress, () => true), 3n);
    assert.equal(pickTransferee(1n, [1n, 2n, 3n, 4n], progress, (id) => id !== 3n), 4n);
    assert.equal(pickTransferee(1n, [1n, 2n], progress, () => false), undefined);
    assert.equal(pickTransferee(1n, [1n], progress, () => true), undefined);
  });

  it('a stopping leader moves leadership to the most caught-up peer; a follower does nothing', async () => {
    const h = host({});
    assert.equal(await handOffLeadership(h, 1000), 3n);
    assert.deepEqual(h.moved, [3n]);
    const f = host({ lead: 2n });
    assert.equal(await handOffLeadership(f, 1000), undefined);
    assert.deepEqual(f.moved, []);
  });

  it('gives up within its budget when the transfer does not finish, without throwing', async () => {
    const stuck = host({ moveLeader: () => new Promise<void>(() => undefined) });
    assert.equal(await handOffLeadership(stuck, 50), undefined);
    const refused = host({ moveLeader: async () => { throw new Error('etcdserver: not leader'); } });
    assert.equal(await handOffLeadership(refused, 1000), undefined);
    assert.ok(lines.some((l) => l.includes('leadership transfer failed')), 'the failure is logged');
  });

  it('stops waiting as soon as the transferee becomes unreachable (every member stopping at once)', { timeout: 20_000 }, async () => {
    let calls = 0;
    const gone = host({ moveLeader: () => new Promise<void>(() => undefined), peerActive: () => calls++ === 0 });
    assert.equal(await handOffLeadership(gone, 600_000), undefined);
    assert.ok(lines.some((l) => l.includes('the transferee became unreachable')));
  });

  it('steps again only forwarded proposals and reads, while the proposer still waits', () => {
    const now = Date.now();
    assert.equal(redeliverable(msg(MessageType.Prop), now, 7000), true);
    assert.equal(redeliverable(msg(MessageType.ReadIndex), now, 7000), true);
    assert.equal(redeliverable(msg(MessageType.App), now, 7000), false, 'not a forwarded request');
    assert.equal(redeliverable(msg(MessageType.Prop), now - 8000, 7000), false, 'the proposer gave up');
  });
  it('RawNode.stepOrDropped reports a forwarded proposal dropped during a transfer; stepped again later it commits once', () => {
    const c = new Cluster(3);
    c.campaign(1);
    c.stabilize();
    const prop = (): Message => ({ ...emptyMessage(), type: MessageType.Prop, from: 2n, to: 1n, entries: [{ term: 0, index: 0, type: 0, data: new TextEncoder().encode('fwd') }] });
    c.dropTypes.add(MessageType.TimeoutNow); // freeze the transfer half-way
    c.node(1).rn.transferLeader(3n);
    c.stabilize();
    const held = prop();
    assert.equal(c.node(1).rn.stepOrDropped(held), false, 'dropped while the transfer is under way');
    assert.equal(c.node(1).rn.stepOrDropped({ ...emptyMessage(), type: MessageType.Heartbeat, from: 2n, to: 1n, term: 1 }), true, 'other messages: step()');
    c.dropTypes.delete(MessageType.TimeoutNow);
    c.tick(30); // the frozen transfer is abandoned after an election timeout; node 1 still leads
    c.stabilize();
    const lead = c.leader()!;
    assert.equal(lead.rn.stepOrDropped({ ...held, to: lead.id }), true);
    c.stabilize();
    const fwd = lead.applied.filter((e) => new TextDecoder().decode(e.data) === 'fwd');
    assert.equal(fwd.length, 1, 'committed exactly once');
  });
});
