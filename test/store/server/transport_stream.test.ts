/**
 * The peer transport's sending path (transport.ts): ordered delivery over the long-lived Stream with several
 * batches in flight, Unreachable + reconnect when the peer goes away and comes back, and the unary Send
 * fallback for a peer without Stream. Loopback ports 36010-36019; no timing assertions (generous waits).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { raftPackage } from '../../../store/proto/load.js';
import { MessageType, type Message } from '../../../store/raft/types.js';
import type { TlsConfig } from '../../../store/server/config.js';
import { Logger } from '../../../store/server/log.js';
import { Transport, messageFromWire, type TransportHandler } from '../../../store/server/transport.js';

const TLS: TlsConfig = { certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false };
const CLUSTER = 0x77n;
const A = 0xan;
const B = 0xbn;
const url = (port: number) => `http://127.0.0.1:${port}`;
const quiet = new Logger('error', 'test', () => undefined);
const open: Transport[] = [];
after(async () => { for (const t of open) await t.close(); });

function msg(i: number): Message {
  return {
    type: MessageType.App, from: A, to: B, term: 1, logTerm: 1, index: i, commit: 0, reject: false, rejectHint: 0,
    context: new Uint8Array(0), entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array([i & 0xff]) }],
  } as Message;
}

function transport(self: bigint, peerPort: number, handler: Partial<TransportHandler>): Transport {
  const peer = self === A ? B : A;
  const t = new Transport({
    selfId: self, clusterId: CLUSTER, peers: new Map([[peer, [url(peerPort)]]]), tls: TLS, log: quiet,
    handler: { onMessages: () => undefined, onUnreachable: () => undefined, memberInfo: () => ({ name: 'x', clientUrls: [] }), ...handler },
  });
  open.push(t);
  return t;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('peer transport stream', () => {
  it('delivers every message in send order, many batches in flight; reconnects after the peer restarts', async () => {
    const got: number[] = [];
    let unreachable = 0;
    const a = transport(A, 36011, { onUnreachable: () => unreachable++ });
    await a.listen([url(36010)]);
    let b = transport(B, 36010, { onMessages: (ms) => { for (const m of ms) got.push(m.index); } });
    await b.listen([url(36011)]);
    for (let i = 0; i < 3000; i++) {
      a.send([msg(i)]);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await until('3000 messages', () => got.length >= 3000);
    assert.deepEqual(got, Array.from({ length: 3000 }, (_, i) => i));

    await b.close();
    a.send([msg(5000)]);
    await until('Unreachable', () => unreachable > 0);
    got.length = 0;
    b = transport(B, 36010, { onMessages: (ms) => { for (const m of ms) got.push(m.index); } });
    await b.listen([url(36011)]);
    for (let i = 0; i < 200 && !got.includes(6000); i++) {
      a.send([msg(6000)]);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(got.includes(6000), 'delivered after the peer came back');
  });

  it('falls back to unary Send for a peer without Stream', async () => {
    const got: number[] = [];
    const server = new grpc.Server();
    const svc = (raftPackage().Transport as grpc.ServiceClientConstructor).service;
    server.addService(svc, {
      Send: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
        for (const w of call.request.messages ?? []) got.push(messageFromWire(w).index);
        cb(null, {});
      },
    });
    await new Promise<void>((res, rej) => server.bindAsync('127.0.0.1:36012', grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    try {
      const a = transport(A, 36012, {});
      for (let i = 0; i < 500; i++) a.send([msg(i)]);
      await until('500 messages over unary Send', () => got.length >= 500);
      assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i));
    } finally {
      server.forceShutdown();
    }
  });
});
