/**
 * A leadership transfer that never completes (the transferee is frozen with SIGSTOP) must not strand the requests
 * raft dropped meanwhile. While a transfer is under way the leader refuses proposals (etcd ErrProposalDropped,
 * Raft thesis §3.10); store/server/node.ts queues them (its own proposals, and MsgProp forwarded by followers:
 * leader_handoff.ts re-delivery) until a leader is known again. The transfer is abandoned after an election timeout
 * and the same member stays leader: the queued requests must then be stepped again, not wait for the next leader
 * change and fail with "etcdserver: request timed out" after the whole request timeout.
 * 3 real quorumd processes on loopback (test/fault/harness/cluster.ts), ports 34000-34011.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { StoreClient } from '../../../store/client/client.js';
import { FaultCluster } from '../harness/cluster.js';

const BASE_PORT = Number(process.env.QUORUM_TRANSFER_TEST_PORT ?? 34000);
const cluster = new FaultCluster(3, BASE_PORT, () => 0.5);
after(async () => {
  await cluster.stop();
});

const client = (i: number) => new StoreClient(cluster.members[i]!.clientUrl, undefined, { timeoutMs: 30_000 });

test('requests dropped during an abandoned leadership transfer are stepped again once it is abandoned', { timeout: 120_000 }, async () => {
  await cluster.start();
  let lead = -1;
  for (let i = 0; i < 40 && lead < 0; i++) {
    lead = await cluster.leader();
    if (lead < 0) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(lead >= 0, 'a leader');
  const target = (lead + 1) % 3;
  const other = (lead + 2) % 3;
  const cl = client(lead);
  const co = client(other);
  const targetId = (await client(target).status()).memberId;
  await cl.put('before', 'x');
  cluster.pause(target);
  try {
    // the leader starts the transfer; the frozen target never campaigns, so it is abandoned after an election timeout
    const move = cl.unary('Maintenance', 'MoveLeader', { targetID: targetId.toString() }).then(() => 'moved', (e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 30));
    const results = await Promise.all([
      cl.put('own', '1').then((r) => r.revision, (e: Error) => e.message), // proposed on the leader itself
      co.put('forwarded', '2').then((r) => r.revision, (e: Error) => e.message), // MsgProp forwarded by a follower
    ]);
    assert.equal(typeof results[0], 'number', `the leader's own put: ${results[0]}`);
    assert.equal(typeof results[1], 'number', `the forwarded put: ${results[1]}`);
    assert.notEqual(await move, 'moved', 'the transfer to a frozen member cannot succeed');
    assert.equal(await cluster.leader(), lead, 'the same member still leads');
    const got = await cl.range('forwarded');
    assert.equal(got.kvs.length, 1);
    assert.equal(got.kvs[0]!.version, 1, 'applied once');
  } finally {
    cluster.resume(target);
    cl.close();
    co.close();
  }
});
