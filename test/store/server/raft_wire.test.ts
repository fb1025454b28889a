/**
 * The hand-written peer wire codec (store/server/raft_wire.ts) against the proto-loader path older builds use
 * (raftpb.proto via @grpc/proto-loader + transport.ts messageToWire/messageFromWire): seeded random batches
 * decode to the same messages in both directions, and the cumulative stream acknowledgements stay compatible
 * with senders and receivers that predate them. Loopback ports 39400-39409.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { raftPackage } from '../../../store/proto/load.js';
import { Rand } from '../../../store/raft/rand.js';
import { EntryType, MessageType, type Entry, type Message, type Snapshot } from '../../../store/raft/types.js';
import type { TlsConfig } from '../../../store/server/config.js';
import { Logger } from '../../../store/server/log.js';
import { decodeAck, decodeBatch, encodeAck, encodeBatch, RaftWireError } from '../../../store/server/raft_wire.js';
import { CUMULATIVE_ACKS_KEY, Transport, messageFromWire, messageToWire, transportDefinition } from '../../../store/server/transport.js';

const oldSvc = (raftPackage().Transport as grpc.ServiceClientConstructor).service;
const U64_MAX = (1n << 64n) - 1n;

/** Interesting uint64 IDs: 0, small, around 2^53, 2^63 and above, the maximum, and random 64-bit ones. */
function randomId(r: Rand): bigint {
  switch (r.intn(8)) {
    case 0: return 0n;
    case 1: return BigInt(r.intn(1000) + 1);
    case 2: return (1n << 53n) + BigInt(r.intn(10)) - 5n;
    case 3: return (1n << 63n) + BigInt(r.intn(1000));
    case 4: return U64_MAX - BigInt(r.intn(3));
    default: return (BigInt(r.nextUint32()) << 32n) | BigInt(r.nextUint32());
  }
}

/** Non-negative integers below 2^53 with many zeros and every varint length. */
function randomNum(r: Rand): number {
  switch (r.intn(6)) {
    case 0: return 0;
    case 1: return r.intn(128);
    case 2: return r.intn(1 << 21);
    case 3: return r.nextUint32();
    case 4: return Number.MAX_SAFE_INTEGER - r.intn(1000);
    default: return r.nextUint32() * 2 ** r.intn(22) + r.intn(1000);
  }
}

function randomBytes(r: Rand, max: number): Uint8Array {
  const n = r.intn(4) === 0 ? 0 : r.intn(max + 1);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.intn(256);
  return b;
}

function randomEntry(r: Rand): Entry {
  return { term: randomNum(r), index: randomNum(r), type: r.intn(3) === 0 ? EntryType.ConfChange : EntryType.Normal, data: randomBytes(r, 300) };
}

function randomSnapshot(r: Rand): Snapshot {
  const voters = Array.from({ length: r.intn(6) }, () => randomId(r));
  const s: Snapshot = { meta: { index: randomNum(r), term: randomNum(r), voters }, data: randomBytes(r, 5000) };
  const k = r.intn(3);
  if (k === 1) s.meta.learners = [];
  if (k === 2) s.meta.learners = Array.from({ length: r.intn(3) + 1 }, () => randomId(r));
  return s;
}

function randomMessage(r: Rand): Message {
  const m: Message = {
    type: r.intn(19) as MessageType, from: randomId(r), to: randomId(r), term: randomNum(r), logTerm: randomNum(r),
    index: randomNum(r), entries: Array.from({ length: r.intn(4) === 0 ? r.intn(20) : r.intn(3) }, () => randomEntry(r)),
    commit: randomNum(r), reject: r.intn(2) === 1, rejectHint: randomNum(r), context: randomBytes(r, 40),
  };
  if (r.intn(5) === 0) m.snapshot = randomSnapshot(r);
  return m;
}

/** A comparable plain form (bytes as arrays, an empty learners list as absent: both paths read it so). */
function plain(m: Message): unknown {
  const s = m.snapshot;
  return {
    ...m,
    context: [...m.context],
    entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
    snapshot: s
      ? { meta: { index: s.meta.index, term: s.meta.term, voters: s.meta.voters, ...(s.meta.learners?.length ? { learners: s.meta.learners } : {}) }, data: [...s.data] }
      : undefined,
  };
}

describe('raft wire codec vs the proto-loader path', () => {
  it('new bytes decode with proto-loader, old bytes decode with raft_wire, to the same messages (seeded)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = new Rand(seed);
      const cluster = randomId(r);
      const from = randomId(r);
      const to = randomId(r);
      const msgs = Array.from({ length: r.intn(8) }, () => randomMessage(r));
      const want = msgs.map(plain);

      // new -> old
      const bytes = encodeBatch(cluster, from, to, msgs);
      const old = oldSvc.Send.requestDeserialize(bytes) as { cluster_id: string; from: string; to: string; messages: any[] };
      assert.equal(BigInt(old.cluster_id), cluster, `seed ${seed}: cluster_id`);
      assert.equal(BigInt(old.from), from, `seed ${seed}: from`);
      assert.equal(BigInt(old.to), to, `seed ${seed}: to`);
      assert.deepEqual(old.messages.map(messageFromWire).map(plain), want, `seed ${seed}: new -> old`);

      // old -> new
      const oldBytes = oldSvc.Send.requestSerialize({ cluster_id: cluster.toString(), from: from.toString(), to: to.toString(), messages: msgs.map(messageToWire) });
      const got = decodeBatch(oldBytes);
      assert.equal(got.clusterId, cluster, `seed ${seed}: clusterId`);
      assert.equal(got.from, from);
      assert.equal(got.to, to);
      assert.deepEqual(got.messages.map(plain), want, `seed ${seed}: old -> new`);

      // and our own round trip
      assert.deepEqual(decodeBatch(bytes).messages.map(plain), want, `seed ${seed}: new -> new`);
    }
  });

  it('copies entry data and contexts into one block per batch, not views of the receive buffer', () => {
    const r = new Rand(7);
    const msgs = Array.from({ length: 5 }, () => ({ ...randomMessage(r), snapshot: undefined, context: new Uint8Array([1, 2, 3]) }));
    msgs[0].entries = [{ term: 1, index: 2, type: 0, data: new Uint8Array(100).fill(9) }];
    const bytes = encodeBatch(1n, 2n, 3n, msgs);
    const got = decodeBatch(bytes);
    const datas = got.messages.flatMap((m) => [m.context, ...m.entries.map((e) => e.data)]).filter((d) => d.length > 0);
    const total = datas.reduce((n, d) => n + d.length, 0);
    assert.ok(datas.length > 1);
    for (const d of datas) {
      assert.notEqual(d.buffer, bytes.buffer, 'not a view of the received bytes');
      assert.equal(d.buffer, datas[0].buffer, 'one block per batch');
      assert.equal(d.buffer.byteLength, total, 'the block holds exactly the batch payload');
    }
    bytes.fill(0); // the receive buffer is reused: decoded data must not change
    assert.deepEqual(got.messages.map(plain), msgs.map(plain));
  });

  it('reads unpacked repeated IDs and skips unknown fields; rejects truncated bytes', () => {
    const snap: Snapshot = { meta: { index: 5, term: 2, voters: [1n, U64_MAX], learners: [1n << 63n] }, data: new Uint8Array([7]) };
    const m: Message = { type: MessageType.Snap, from: 1n, to: 2n, term: 2, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(0), snapshot: snap };
    // unpacked voters/learners, as a proto2-style encoder may write them, plus unknown fields 15 (varint) and 16 (bytes)
    const id = (b: bigint) => { const o: number[] = []; while (b > 0x7fn) { o.push(Number(b & 0x7fn) | 0x80); b >>= 7n; } o.push(Number(b)); return o; };
    const meta = [0x08, 5, 0x10, 2, 0x18, ...id(1n), 0x18, ...id(U64_MAX), 0x20, ...id(1n << 63n), 0x78, 0x01];
    const snapshot = [0x0a, meta.length, ...meta, 0x12, 1, 7];
    const msg = [0x08, MessageType.Snap, 0x10, 1, 0x18, 2, 0x20, 2, 0x62, snapshot.length, ...snapshot, 0x82, 0x01, 2, 0xaa, 0xbb];
    const batch = Uint8Array.from([0x08, 9, 0x22, msg.length, ...msg, 0x78, 0x05]);
    const got = decodeBatch(batch);
    assert.equal(got.clusterId, 9n);
    assert.deepEqual(got.messages.map(plain), [plain(m)]);
    const good = encodeBatch(9n, 1n, 2n, [m]);
    for (const cut of [good.length - 1, good.length - 3, 5]) {
      assert.throws(() => decodeBatch(good.subarray(0, cut)), RaftWireError, `cut at ${cut}`);
    }
    assert.throws(() => encodeBatch(1n << 64n, 1n, 2n, []), RangeError);
  });

  it('SendResponse: an ack for one batch is the empty message; a count is field 1, which the old path ignores', () => {
    assert.equal(encodeAck(1).length, 0);
    assert.equal(decodeAck(Buffer.alloc(0)), 1);
    assert.equal(decodeAck(encodeAck(300)), 300);
    assert.deepEqual(oldSvc.Stream.responseDeserialize(encodeAck(300)), {});
    assert.equal(decodeAck(oldSvc.Stream.responseSerialize({})), 1);
  });
});

// ---- mixed builds on a real stream ----

const TLS: TlsConfig = { certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false };
const quiet = new Logger('error', 'test', () => undefined);
const url = (port: number) => `http://127.0.0.1:${port}`;
const cleanup: Array<() => Promise<void> | void> = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function app(i: number, from: bigint, to: bigint): Message {
  return {
    type: MessageType.App, from, to, term: 1, logTerm: 1, index: i, commit: 0, reject: false, rejectHint: 0,
    context: new Uint8Array(0), entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array([i & 0xff, 1, 2]) }],
  };
}

describe('stream acknowledgements in a mixed cluster', () => {
  const CLUSTER = 0xfeedn;
  const A = (1n << 63n) + 0xan;
  const B = 0xbn;

  it('an old sender (proto-loader, no capability) gets one ack per batch; a new sender gets cumulative acks', async () => {
    const got: number[] = [];
    const b = new Transport({
      selfId: B, clusterId: CLUSTER, peers: new Map([[A, [url(39409)]]]), tls: TLS, log: quiet,
      handler: { onMessages: (ms) => { for (const m of ms) got.push(m.index); }, onUnreachable: () => undefined, memberInfo: () => ({ name: 'b', clientUrls: [] }) },
    });
    cleanup.push(() => b.close());
    await b.listen([url(39400)]);

    // old sender: proto-loader objects, no metadata
    const OldClient = raftPackage().Transport as grpc.ServiceClientConstructor;
    const oc = new OldClient('127.0.0.1:39400', grpc.credentials.createInsecure()) as unknown as grpc.Client & { Stream: () => grpc.ClientDuplexStream<unknown, unknown> };
    cleanup.push(() => oc.close());
    const os = oc.Stream();
    let oldAcks = 0;
    os.on('data', () => oldAcks++);
    os.on('error', () => undefined);
    const N = 200;
    for (let i = 0; i < N; i++) os.write({ cluster_id: CLUSTER.toString(), from: A.toString(), to: B.toString(), messages: [messageToWire(app(i, A, B))] });
    await until('old sender acks', () => oldAcks >= N);
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(oldAcks, N, 'exactly one ack per batch for an old sender');
    os.end();

    // new sender (our codec, capability in metadata): the acks count every batch, in fewer messages
    got.length = 0;
    const NewClient = grpc.makeGenericClientConstructor(transportDefinition(), 'Transport');
    const nc = new NewClient('127.0.0.1:39400', grpc.credentials.createInsecure()) as unknown as grpc.Client & { Stream: (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown> };
    cleanup.push(() => nc.close());
    const md = new grpc.Metadata();
    md.set(CUMULATIVE_ACKS_KEY, 'cumulative');
    const ns = nc.Stream(md);
    let acked = 0;
    let ackMsgs = 0;
    ns.on('data', (n: number) => { acked += n; ackMsgs++; });
    ns.on('error', () => undefined);
    for (let i = 0; i < N; i++) ns.write({ clusterId: CLUSTER, from: A, to: B, messages: [app(i, A, B)] });
    await until('new sender acks', () => acked >= N);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(acked, N, 'every batch acknowledged exactly once');
    assert.ok(ackMsgs < N, `fewer ack messages than batches (${ackMsgs} for ${N})`);
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
    ns.end();
  });

  it('a new sender keeps every batch in order against an old receiver (one empty ack per batch)', async () => {
    const got: number[] = [];
    const server = new grpc.Server();
    server.addService(oldSvc, {
      Stream: (call: grpc.ServerDuplexStream<any, any>) => {
        call.on('data', (w: { messages: any[] }) => {
          for (const m of w.messages) got.push(messageFromWire(m).index);
          call.write({});
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    await new Promise<void>((res, rej) => server.bindAsync('127.0.0.1:39401', grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    cleanup.push(() => server.forceShutdown());
    let sentOk = 0;
    const a = new Transport({
      selfId: A, clusterId: CLUSTER, peers: new Map([[B, [url(39401)]]]), tls: TLS, log: quiet,
      handler: { onMessages: () => undefined, onUnreachable: () => undefined, memberInfo: () => ({ name: 'a', clientUrls: [] }) },
      onSent: (_p, ok) => { if (ok) sentOk++; },
    });
    cleanup.push(() => a.close());
    for (let i = 0; i < 3000; i++) {
      a.send([app(i, A, B)]);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await until('3000 messages', () => got.length >= 3000);
    assert.deepEqual(got, Array.from({ length: 3000 }, (_, i) => i));
    await until('acks', () => sentOk > 0);
  });
});
