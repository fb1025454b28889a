/**
 * The peer transport: Raft messages between members over gRPC (http2) on --listen-peer-urls, mutual TLS when
 * the URL is https. Sending never blocks the node loop: `send` only queues. One ordered queue per peer, one batch
 * in flight at a time (so a peer sees messages in send order); a failed batch is dropped (Raft retransmits),
 * raft is told the peer is Unreachable, and the peer is retried with exponential backoff (100 ms .. 1 s).
 */
import * as grpc from '@grpc/grpc-js';
import { raftPackage, serviceClient } from '../proto/load.js';
import type { Entry, Message, MessageType, Snapshot } from '../raft/types.js';
import type { TlsConfig } from './config.js';
import type { Logger } from './log.js';
import { hostPort, peerChannelCredentials, serverCredentials } from './tls.js';

/** What the transport needs from the node. */
export interface TransportHandler {
  /** Messages received from a peer, in order. */
  onMessages(msgs: Message[]): void;
  /** A send to this peer failed. */
  onUnreachable(peer: bigint): void;
  /** Answer to MemberInfo. */
  memberInfo(): { name: string; clientUrls: string[] };
}

export interface TransportOptions {
  selfId: bigint;
  clusterId: bigint;
  /** peer member ID -> its peer URLs */
  peers: Map<bigint, string[]>;
  tls: TlsConfig;
  log: Logger;
  handler: TransportHandler;
  /** Observer for etcd_network_* metrics: bytes sent per peer and failures. */
  onSent?: (peer: bigint, ok: boolean, seconds: number) => void;
}

const MAX_BATCH_BYTES = 16 * 1024 * 1024;
const MAX_QUEUE = 20000;
const MAX_MSG = 256 * 1024 * 1024;

interface WireEntry { term: string; index: string; type: number; data: Buffer }
interface WireMessage {
  type: number; from: string; to: string; term: string; log_term: string; index: string; entries: WireEntry[];
  commit: string; reject: boolean; reject_hint: string; context: Buffer;
  snapshot: { meta: { index: string; term: string; voters: string[] } | null; data: Buffer } | null;
}

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Raft message -> wire object (uint64 as decimal strings). */
export function messageToWire(m: Message): Record<string, unknown> {
  return {
    type: m.type, from: m.from.toString(), to: m.to.toString(), term: String(m.term), log_term: String(m.logTerm),
    index: String(m.index), commit: String(m.commit), reject: m.reject, reject_hint: String(m.rejectHint),
    context: buf(m.context),
    entries: m.entries.map((e: Entry) => ({ term: String(e.term), index: String(e.index), type: e.type, data: buf(e.data) })),
    snapshot: m.snapshot
      ? { meta: { index: String(m.snapshot.meta.index), term: String(m.snapshot.meta.term), voters: m.snapshot.meta.voters.map(String) }, data: buf(m.snapshot.data) }
      : null,
  };
}

/** Wire object -> raft message. */
export function messageFromWire(w: WireMessage): Message {
  const m: Message = {
    type: w.type as MessageType, from: BigInt(w.from), to: BigInt(w.to), term: Number(w.term), logTerm: Number(w.log_term),
    index: Number(w.index), commit: Number(w.commit), reject: w.reject, rejectHint: Number(w.reject_hint),
    context: new Uint8Array(w.context ?? Buffer.alloc(0)),
    entries: (w.entries ?? []).map((e) => ({ term: Number(e.term), index: Number(e.index), type: e.type, data: new Uint8Array(e.data ?? Buffer.alloc(0)) })),
  };
  if (w.snapshot && w.snapshot.meta) {
    const s: Snapshot = {
      meta: { index: Number(w.snapshot.meta.index), term: Number(w.snapshot.meta.term), voters: w.snapshot.meta.voters.map((v) => BigInt(v)) },
      data: new Uint8Array(w.snapshot.data ?? Buffer.alloc(0)),
    };
    m.snapshot = s;
  }
  return m;
}

function messageBytes(m: Message): number {
  let n = 64 + m.context.length;
  for (const e of m.entries) n += 24 + e.data.length;
  if (m.snapshot) n += m.snapshot.data.length;
  return n;
}

class PeerSender {
  private queue: Message[] = [];
  private inflight = false;
  private failures = 0;
  private urlIndex = 0;
  private client: grpc.Client | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: bigint,
    private readonly urls: string[],
    private readonly t: Transport,
  ) {}

  push(m: Message): void {
    if (this.closed) return;
    this.queue.push(m);
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    this.pump();
  }

  private getClient(): grpc.Client {
    if (!this.client) {
      const url = this.urls[this.urlIndex % this.urls.length];
      const Ctor = serviceClient(raftPackage(), 'Transport');
      this.client = new Ctor(hostPort(url), peerChannelCredentials(url, this.t.opts.tls), {
        'grpc.max_send_message_length': MAX_MSG,
        'grpc.max_receive_message_length': MAX_MSG,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
    }
    return this.client;
  }

  private pump(): void {
    if (this.inflight || this.closed || this.timer || this.queue.length === 0) return;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + messageBytes(this.queue[n]) <= MAX_BATCH_BYTES)) {
      bytes += messageBytes(this.queue[n]);
      n++;
    }
    const batch = this.queue.splice(0, n);
    this.inflight = true;
    const started = process.hrtime.bigint();
    const req = {
      cluster_id: this.t.opts.clusterId.toString(), from: this.t.opts.selfId.toString(), to: this.id.toString(),
      messages: batch.map(messageToWire),
    };
    const client = this.getClient() as grpc.Client & { Send: Function };
    client.Send(req, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null) => {
      this.inflight = false;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.t.opts.onSent?.(this.id, !err, seconds);
      if (err) {
        this.failures++;
        if (this.failures === 1 || this.failures % 50 === 0) {
          this.t.opts.log.warn('failed to send to peer', { 'remote-peer-id': this.id.toString(16), error: err.message, failures: this.failures });
        }
        this.t.opts.handler.onUnreachable(this.id);
        if (this.urls.length > 1) {
          this.client?.close();
          this.client = undefined;
          this.urlIndex++;
        }
        const delay = Math.min(1000, 100 * 2 ** Math.min(this.failures - 1, 4));
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, delay);
        return;
      }
      if (this.failures > 0) this.t.opts.log.info('peer became reachable', { 'remote-peer-id': this.id.toString(16) });
      this.failures = 0;
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.client?.close();
    this.queue = [];
  }
}

/** Peer transport: a gRPC server on the peer URLs and one sender per peer. */
export class Transport {
  private readonly senders = new Map<bigint, PeerSender>();
  private server: grpc.Server | undefined;

  constructor(readonly opts: TransportOptions) {
    for (const [id, urls] of opts.peers) if (id !== opts.selfId) this.senders.set(id, new PeerSender(id, urls, this));
  }

  /** Listen on the peer URLs. Rejects when a port cannot be bound. */
  async listen(urls: string[]): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MSG, 'grpc.max_send_message_length': MAX_MSG });
    const svc = (raftPackage().Transport as grpc.ServiceClientConstructor).service;
    server.addService(svc, {
      Send: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
        const b = call.request as { cluster_id: string; from: string; to: string; messages: WireMessage[] };
        if (BigInt(b.cluster_id) !== this.opts.clusterId || BigInt(b.to) !== this.opts.selfId) {
          cb({ code: grpc.status.FAILED_PRECONDITION, details: `cluster ID mismatch or wrong member (got cluster ${BigInt(b.cluster_id).toString(16)} to ${BigInt(b.to).toString(16)})` });
          return;
        }
        try {
          this.opts.handler.onMessages(b.messages.map(messageFromWire));
        } catch (e) {
          cb({ code: grpc.status.INTERNAL, details: (e as Error).message });
          return;
        }
        cb(null, {});
      },
      MemberInfo: (_call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
        const info = this.opts.handler.memberInfo();
        cb(null, { cluster_id: this.opts.clusterId.toString(), member_id: this.opts.selfId.toString(), name: info.name, client_urls: info.clientUrls });
      },
    });
    for (const url of urls) {
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(hostPort(url), serverCredentials(url, this.opts.tls, 'peer-'), (err) =>
          err ? reject(new Error(`cannot listen on peer URL ${url}: ${err.message}`)) : resolve(),
        ),
      );
    }
    this.server = server;
  }

  /** Queue messages for their destinations; never blocks. Messages to unknown members are dropped. */
  send(msgs: Message[]): void {
    for (const m of msgs) this.senders.get(m.to)?.push(m);
  }

  /** Stop sending and listening. */
  async close(): Promise<void> {
    for (const s of this.senders.values()) s.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    server?.forceShutdown();
  }
}
