/**
 * The peer transport: Raft messages between members over gRPC (http2) on --listen-peer-urls, mutual TLS when
 * the URL is https. Sending never blocks the node loop: `send` only queues. One ordered queue per peer, sent as
 * batches over a long-lived stream with several batches in flight (so a peer sees messages in send order); a
 * failed stream drops its unacknowledged batches (Raft retransmits), raft is told the peer is Unreachable, and
 * the peer is retried with exponential backoff (100 ms .. 1 s).
 */
import * as grpc from '@grpc/grpc-js';
import { raftPackage, serviceClient } from '../proto/load.js';
import type { Entry, Message, MessageType, Snapshot } from '../raft/types.js';
import type { TlsConfig } from './config.js';
import type { Logger } from './log.js';
import { peerFields } from './log_fields.js';
import { decodeAck, decodeBatch, encodeAck, encodeBatch, EMPTY_RESPONSE, type RaftBatch } from './raft_wire.js';
import { hostPort, peerChannelCredentials, serverCredentials } from './tls.js';
import { acquireTlsReloader, releaseTlsReloader, reloadingTlsServer, type TlsReloader } from './tls_reload.js';

/** What the transport needs from the node. */
export interface TransportHandler {
  /** Messages received from a peer, in order. */
  onMessages(msgs: Message[]): void;
  /** A send to this peer failed. */
  onUnreachable(peer: bigint): void;
  /** Answer to MemberInfo (members/bootstrapMembers/progress: see raftpb.proto MemberInfoResponse). */
  memberInfo(): MemberInfoAnswer;
  /** Whether `id` was removed from the cluster: its batches are refused (etcd answers 410 Gone). */
  isRemoved?(id: bigint): boolean;
  /** A peer refused our batch because this member was removed (etcd: the member stops). */
  onRemoved?(): void;
}

/** The refusal a removed member's batches get (etcd's rafthttp "the member has been permanently removed from the cluster"). */
export const REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';

/** One member as MemberInfo carries it. */
export interface PeerMember { id: bigint; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }

/** What a member answers on its peer URL: who it is, the membership it applied and (leader only) progress. */
export interface MemberInfoAnswer {
  name: string;
  clientUrls: string[];
  members?: PeerMember[];
  bootstrapMembers?: PeerMember[];
  /** Leader only: member ID -> raft match index. */
  progress?: Map<bigint, number>;
  leader?: bigint;
}

/** MemberInfo as received by fetchMemberInfo. */
export interface RemoteMemberInfo extends MemberInfoAnswer {
  clusterId: bigint;
  memberId: bigint;
  members: PeerMember[];
  bootstrapMembers: PeerMember[];
  progress: Map<bigint, number>;
  leader: bigint;
}

const memberToWire = (m: PeerMember) => ({ id: m.id.toString(), name: m.name, peer_urls: m.peerUrls, client_urls: m.clientUrls, is_learner: m.isLearner });
const memberFromWire = (w: any): PeerMember => ({
  id: BigInt(w.id), name: String(w.name ?? ''), peerUrls: (w.peer_urls ?? []).map(String), clientUrls: (w.client_urls ?? []).map(String), isLearner: !!w.is_learner,
});

/**
 * Ask the member answering on `url` (a peer URL) who it is and what membership it knows (raftpb MemberInfo).
 * Rejects with the gRPC error after `timeoutMs` (default 3000).
 */
export function fetchMemberInfo(url: string, tls: TlsConfig, timeoutMs = 3000): Promise<RemoteMemberInfo> {
  const Ctor = serviceClient(raftPackage(), 'Transport');
  const client = new Ctor(hostPort(url), peerChannelCredentials(url, tls)) as unknown as grpc.Client & { MemberInfo: Function };
  return new Promise<RemoteMemberInfo>((resolve, reject) => {
    client.MemberInfo({}, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, r: any) => {
      client.close();
      if (err) return reject(err);
      resolve({
        clusterId: BigInt(r.cluster_id), memberId: BigInt(r.member_id), name: r.name, clientUrls: r.client_urls ?? [],
        members: (r.members ?? []).map(memberFromWire), bootstrapMembers: (r.bootstrap_members ?? []).map(memberFromWire),
        progress: new Map((r.progress ?? []).map((p: any) => [BigInt(p.id), Number(p.match)] as [bigint, number])),
        leader: BigInt(r.leader ?? '0'),
      });
    });
  });
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
  onSent?: (peer: bigint, ok: boolean, seconds: number, bytes?: number) => void;
  /** Observer for etcd_network_peer_received_bytes_total: payload bytes of each batch received from a peer. */
  onReceived?: (peer: bigint, bytes: number) => void;
  /** More gRPC services served on the peer URLs (e.g. lease forwarding, lease_peer.ts). */
  services?: { definition: grpc.ServiceDefinition; impl: grpc.UntypedServiceImplementation }[];
}

const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** How often an idle peer is probed with an empty batch (ms). */
const PROBE_INTERVAL_MS = 1000;
const MAX_QUEUE = 20000;
const MAX_MSG = 256 * 1024 * 1024;

interface WireEntry { term: string; index: string; type: number; data: Buffer }
interface WireMessage {
  type: number; from: string; to: string; term: string; log_term: string; index: string; entries: WireEntry[];
  commit: string; reject: boolean; reject_hint: string; context: Buffer;
  snapshot: { meta: { index: string; term: string; voters: string[]; learners?: string[] } | null; data: Buffer } | null;
}

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * gRPC metadata key a sender sets on `Stream` when it reads SendResponse.batches (one ack for several batches).
 * A receiver that sees it may acknowledge cumulatively; without it (an older sender) it answers one empty
 * SendResponse per batch. An older receiver ignores the key and answers one per batch, which a new sender reads
 * as batches = 1.
 */
export const CUMULATIVE_ACKS_KEY = 'quorum-raft-acks';

let transportDef: grpc.ServiceDefinition | undefined;
let transportCtor: grpc.ServiceClientConstructor | undefined;

/**
 * The Transport service with the hand-written MessageBatch/SendResponse codec (raft_wire.ts) on Send and Stream
 * (client and server side); MemberInfo keeps proto-loader's. Same bytes on the wire as raftpb.proto defines.
 */
export function transportDefinition(): grpc.ServiceDefinition {
  if (!transportDef) {
    const base = (raftPackage().Transport as grpc.ServiceClientConstructor).service;
    const codec = {
      requestSerialize: (b: RaftBatch) => encodeBatch(b.clusterId, b.from, b.to, b.messages),
      requestDeserialize: (bytes: Buffer) => decodeBatch(bytes),
      responseSerialize: (n: number | object) => (typeof n === 'number' ? encodeAck(n) : EMPTY_RESPONSE),
      responseDeserialize: (bytes: Buffer) => decodeAck(bytes),
    };
    transportDef = { ...base, Send: { ...base.Send, ...codec }, Stream: { ...base.Stream, ...codec } } as grpc.ServiceDefinition;
  }
  return transportDef;
}

function transportClient(): grpc.ServiceClientConstructor {
  transportCtor ??= grpc.makeGenericClientConstructor(transportDefinition(), 'Transport');
  return transportCtor;
}

/** Raft message -> proto-loader wire object (uint64 as decimal strings): the pre-raft_wire path, kept as reference. */
export function messageToWire(m: Message): Record<string, unknown> {
  return {
    type: m.type, from: m.from.toString(), to: m.to.toString(), term: String(m.term), log_term: String(m.logTerm),
    index: String(m.index), commit: String(m.commit), reject: m.reject, reject_hint: String(m.rejectHint),
    context: buf(m.context),
    entries: m.entries.map((e: Entry) => ({ term: String(e.term), index: String(e.index), type: e.type, data: buf(e.data) })),
    snapshot: m.snapshot
      ? {
          meta: {
            index: String(m.snapshot.meta.index), term: String(m.snapshot.meta.term), voters: m.snapshot.meta.voters.map(String),
            learners: (m.snapshot.meta.learners ?? []).map(String),
          },
          data: buf(m.snapshot.data),
        }
      : null,
  };
}

/** proto-loader wire object -> raft message (the pre-raft_wire path, kept as reference). */
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
    const learners = (w.snapshot.meta.learners ?? []).map((v) => BigInt(v));
    if (learners.length > 0) s.meta.learners = learners;
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

/** Unacknowledged batches on a peer stream before new messages wait (and coalesce) in the queue. */
const MAX_INFLIGHT_BATCHES = 64;
/** A stream whose oldest unacknowledged batch is older than this is cancelled (peer unreachable), ms. */
const STREAM_ACK_TIMEOUT_MS = 5000;

interface Sent { started: bigint; at: number; bytes: number; batch: Message[] }

/**
 * The sending side for one peer (etcd's rafthttp stream writer, our own protocol): a long-lived gRPC bidi stream
 * `Transport.Stream` carries ordered batches, encoded by raft_wire.ts; the peer acknowledges them in order, one
 * SendResponse per batch or (when it sees CUMULATIVE_ACKS_KEY) one per event-loop turn carrying how many batches
 * it covers (SendResponse field 1 `batches`, read as 1 when absent). Messages queued while
 * `MAX_INFLIGHT_BATCHES` are unacknowledged, or while the stream's write buffer is full, go out as one batch.
 * A stream error drops the unacknowledged batches (Raft retransmits), reports the peer Unreachable and reconnects
 * with exponential backoff (100 ms .. 1 s). Peers without `Stream` (UNIMPLEMENTED) get one unary `Send` at a time.
 */
class PeerSender {
  private queue: Message[] = [];
  private failures = 0;
  private urlIndex = 0;
  private client: grpc.Client | undefined;
  /** The peer-certificate reload version `client` was dialed with (tls_reload.ts). */
  private clientTlsVersion = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stream: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  /** Batches written to `stream` and not yet acknowledged, oldest first. */
  private unacked: Sent[] = [];
  /** The stream's write buffer is full: wait for 'drain'. */
  private blocked = false;
  /** The peer does not implement Stream: fall back to unary Send, one batch in flight. */
  private unary = false;
  private unaryInflight = false;
  /** When a batch last reached this peer (ms since epoch; 0 = never). */
  lastOk = 0;

  constructor(
    private readonly id: bigint,
    private urls: string[],
    private readonly t: Transport,
  ) {}

  /** New peer URLs (MemberUpdate): reconnect on the next send. */
  setUrls(urls: string[]): void {
    this.urls = [...urls];
    this.dropStream();
    this.client?.close();
    this.client = undefined;
    this.urlIndex = 0;
  }

  push(m: Message): void {
    if (this.closed) return;
    this.queue.push(m);
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (!this.scheduled) {
      // messages pushed in the same turn (one Ready) leave as one batch
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  private getClient(): grpc.Client {
    if (!this.client) {
      this.clientTlsVersion = this.t.peerTlsReloader()?.version ?? 0;
      const url = this.urls[this.urlIndex % this.urls.length];
      const Ctor = transportClient();
      this.client = new Ctor(hostPort(url), this.t.dialCredentials(url), {
        'grpc.max_send_message_length': MAX_MSG,
        'grpc.max_receive_message_length': MAX_MSG,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
    }
    return this.client;
  }

  /** Rotated peer certificate files (tls_reload.ts): true when the client must be redialed before sending more. */
  private tlsStale(): boolean {
    const reloader = this.t.peerTlsReloader();
    return this.client !== undefined && reloader !== undefined && reloader.version !== this.clientTlsVersion;
  }

  /**
   * Liveness probe (etcd's peer prober), called every second: an empty batch when idle, so `lastOk` tracks
   * reachability; cancels a stream whose oldest batch has waited for its acknowledgement too long.
   */
  probe(): void {
    if (this.closed || this.timer) return;
    const oldest = this.unacked[0];
    if (oldest && Date.now() - oldest.at > STREAM_ACK_TIMEOUT_MS) {
      this.streamFailed({ code: grpc.status.DEADLINE_EXCEEDED, details: 'no acknowledgement from peer', message: 'peer stream: no acknowledgement within 5 s' } as grpc.ServiceError);
      return;
    }
    if (this.queue.length > 0 || this.unacked.length > 0 || this.unaryInflight) return;
    this.pump(true);
  }

  private pump(probe = false): void {
    if (this.closed || this.timer || (this.queue.length === 0 && !probe)) return;
    if (this.unary) return this.pumpUnary(probe);
    if (this.blocked || this.unacked.length >= MAX_INFLIGHT_BATCHES) return;
    if (this.tlsStale()) {
      // switch connections only between batches, so the peer still sees messages in order
      if (this.unacked.length > 0) return;
      this.dropStream();
      this.client?.close();
      this.client = undefined;
    }
    const stream = this.stream ?? this.openStream();
    const { batch, bytes } = this.takeBatch();
    this.unacked.push({ started: process.hrtime.bigint(), at: Date.now(), bytes, batch });
    if (!stream.write(this.request(batch))) this.blocked = true;
  }

  private takeBatch(): { batch: Message[]; bytes: number } {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + messageBytes(this.queue[n]) <= MAX_BATCH_BYTES)) {
      bytes += messageBytes(this.queue[n]);
      n++;
    }
    return { batch: this.queue.splice(0, n), bytes };
  }

  private request(batch: Message[]): RaftBatch {
    return { clusterId: this.t.opts.clusterId, from: this.t.opts.selfId, to: this.id, messages: batch };
  }

  private openStream(): grpc.ClientDuplexStream<unknown, unknown> {
    const client = this.getClient() as grpc.Client & { Stream: (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown> };
    const md = new grpc.Metadata();
    md.set(CUMULATIVE_ACKS_KEY, 'cumulative');
    const stream = client.Stream(md);
    this.stream = stream;
    this.blocked = false;
    stream.on('data', (acked: number) => {
      if (this.stream !== stream) return;
      const now = process.hrtime.bigint();
      for (let i = 0; i < acked; i++) {
        const sent = this.unacked.shift();
        if (!sent) break;
        this.t.opts.onSent?.(this.id, true, Number(now - sent.started) / 1e9, sent.bytes);
      }
      this.reachable();
      this.pump();
    });
    stream.on('drain', () => {
      if (this.stream !== stream) return;
      this.blocked = false;
      this.pump();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (this.stream === stream) this.streamFailed(err);
    });
    stream.on('end', () => {
      // the peer closed the stream without an error status (e.g. shutting down): reconnect on the next send
      setImmediate(() => {
        if (this.stream === stream) this.streamFailed({ code: grpc.status.UNAVAILABLE, details: 'stream ended', message: 'peer stream ended' } as grpc.ServiceError);
      });
    });
    return stream;
  }

  /** Forget the current stream (its unacknowledged batches are dropped: Raft retransmits). */
  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    this.unacked = [];
    this.blocked = false;
    if (s) {
      s.on('error', () => undefined);
      s.cancel();
    }
  }

  private reachable(): void {
    if (this.failures > 0) this.t.opts.log.info('peer became reachable', peerFields(this.t.opts.selfId, this.id));
    this.failures = 0;
    this.lastOk = Date.now();
  }

  private streamFailed(err: grpc.ServiceError): void {
    const lost = this.unacked;
    this.dropStream();
    if (err.code === grpc.status.UNIMPLEMENTED) {
      this.t.opts.log.info('peer has no stream transport; sending one batch at a time', { 'remote-peer-id': this.id.toString(16) });
      this.unary = true;
      this.queue.unshift(...lost.flatMap((s) => s.batch)); // never delivered: send them again, in order
      this.pump();
      return;
    }
    for (const s of lost) this.t.opts.onSent?.(this.id, false, 0);
    if (lost.length === 0) this.t.opts.onSent?.(this.id, false, 0);
    this.failed(err);
  }

  /** A send failed: tell raft, log (first and every 50th), rotate URLs, retry after a backoff. */
  private failed(err: grpc.ServiceError): void {
    if (err.details === REMOVED_MESSAGE) this.t.opts.handler.onRemoved?.();
    this.failures++;
    if (this.failures === 1 || this.failures % 50 === 0) {
      this.t.opts.log.warn('failed to send to peer', { ...peerFields(this.t.opts.selfId, this.id), error: err.message, failures: this.failures });
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
  }

  /** The fallback for peers without Stream: one unary Send in flight. */
  private pumpUnary(probe: boolean): void {
    if (this.unaryInflight) return;
    if (this.tlsStale()) {
      this.client?.close();
      this.client = undefined;
    }
    const { batch, bytes } = this.takeBatch();
    if (batch.length === 0 && !probe) return;
    this.unaryInflight = true;
    const started = process.hrtime.bigint();
    const client = this.getClient() as grpc.Client & { Send: Function };
    client.Send(this.request(batch), { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null) => {
      this.unaryInflight = false;
      this.t.opts.onSent?.(this.id, !err, Number(process.hrtime.bigint() - started) / 1e9, bytes);
      if (this.closed) return;
      if (err) return this.failed(err);
      this.reachable();
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.dropStream();
    this.client?.close();
    this.queue = [];
  }
}

/** Peer transport: a gRPC server on the peer URLs and one sender per peer. */
export class Transport {
  private readonly senders = new Map<bigint, PeerSender>();
  /** Peers' open Stream calls (ended on close). */
  private readonly streams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  private server: grpc.Server | undefined;
  private reloader: TlsReloader | undefined;
  private readonly tlsListeners: Array<{ server: import('node:tls').Server; detach: () => void }> = [];
  private injector: ReturnType<grpc.Server['createConnectionInjector']> | undefined;

  /** The reloader of the peer-* certificate files (https peers only), created on first use. */
  peerTlsReloader(): TlsReloader | undefined {
    const t = this.opts.tls;
    if (!this.reloader && t.certFile && t.keyFile) {
      try {
        this.reloader = acquireTlsReloader(t, this.opts.log);
      } catch {
        return undefined; // serverCredentials / peerChannelCredentials report the unreadable file
      }
    }
    return this.reloader;
  }

  /**
   * Credentials for dialing peer `url`: for https, the peer-* material the reloader last validated (a rotation
   * half-written on disk, new key with old cert, would make the dial throw "key values mismatch"); the files
   * themselves when there is no reloader. Throws ConfigError naming the flag when a file is unreadable.
   */
  dialCredentials(url: string): grpc.ChannelCredentials {
    const r = url.startsWith('https:') ? this.peerTlsReloader() : undefined;
    if (!r) return peerChannelCredentials(url, this.opts.tls);
    const m = r.current();
    return grpc.credentials.createSsl(m.ca ?? null, m.key, m.cert);
  }

  private readonly prober: NodeJS.Timeout;

  constructor(readonly opts: TransportOptions) {
    for (const [id, urls] of opts.peers) if (id !== opts.selfId) this.senders.set(id, new PeerSender(id, urls, this));
    this.prober = setInterval(() => { for (const s of this.senders.values()) s.probe(); }, PROBE_INTERVAL_MS);
    this.prober.unref();
  }

  /** Listen on the peer URLs. Rejects when a port cannot be bound. */
  async listen(urls: string[]): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MSG, 'grpc.max_send_message_length': MAX_MSG });
    server.addService(transportDefinition(), {
      Send: (call: grpc.ServerUnaryCall<RaftBatch, number>, cb: grpc.sendUnaryData<number>) => {
        const refused = this.deliver(call.request);
        if (refused) cb(refused);
        else cb(null, 1);
      },
      Stream: (call: grpc.ServerDuplexStream<RaftBatch, number>) => {
        let done = false;
        // a sender that reads SendResponse.batches gets one ack per event-loop turn for the batches delivered
        // in it; an older sender one per batch
        const cumulative = call.metadata.get(CUMULATIVE_ACKS_KEY)[0] === 'cumulative';
        let owed = 0;
        const flush = () => {
          if (owed === 0 || done || call.cancelled) return;
          const n = owed;
          owed = 0;
          call.write(n);
        };
        this.streams.add(call);
        call.on('close', () => this.streams.delete(call));
        call.on('data', (b: RaftBatch) => {
          if (done) return;
          const refused = this.deliver(b);
          if (refused) {
            done = true;
            call.emit('error', refused);
            return;
          }
          if (!cumulative) call.write(1);
          else if (owed++ === 0) setImmediate(flush);
        });
        call.on('end', () => {
          this.streams.delete(call);
          flush();
          if (!done) call.end();
        });
        call.on('error', () => this.streams.delete(call)); // the sender went away: it reconnects
        call.on('cancelled', () => this.streams.delete(call));
      },
      MemberInfo: (_call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
        const info = this.opts.handler.memberInfo();
        cb(null, {
          cluster_id: this.opts.clusterId.toString(), member_id: this.opts.selfId.toString(), name: info.name, client_urls: info.clientUrls,
          members: (info.members ?? []).map(memberToWire), bootstrap_members: (info.bootstrapMembers ?? []).map(memberToWire),
          progress: [...(info.progress ?? new Map<bigint, number>())].map(([id, match]) => ({ id: id.toString(), match: String(match) })),
          leader: (info.leader ?? 0n).toString(),
        });
      },
    });
    for (const s of this.opts.services ?? []) server.addService(s.definition, s.impl);
    for (const url of urls) {
      if (url.startsWith('https:')) {
        serverCredentials(url, this.opts.tls, 'peer-'); // ConfigError naming the flag when a file is unreadable
        const reloader = this.peerTlsReloader()!;
        this.injector ??= server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
        const injector = this.injector;
        const l = reloadingTlsServer(reloader, this.opts.tls.clientCertAuth, (sock) => {
          sock.setNoDelay(true);
          injector.injectConnection(sock);
        });
        this.tlsListeners.push(l);
        const u = new URL(url);
        await new Promise<void>((resolve, reject) => {
          l.server.once('error', (e) => reject(new Error(`cannot listen on peer URL ${url}: ${e.message}`)));
          l.server.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => resolve());
        });
        continue;
      }
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(hostPort(url), serverCredentials(url, this.opts.tls, 'peer-'), (err) =>
          err ? reject(new Error(`cannot listen on peer URL ${url}: ${err.message}`)) : resolve(),
        ),
      );
    }
    this.server = server;
  }

  /** Check and hand a received batch to the node; the refusal to answer with, if any. */
  private deliver(b: RaftBatch): Partial<grpc.StatusObject> | undefined {
    if (b.clusterId !== this.opts.clusterId || b.to !== this.opts.selfId) {
      return { code: grpc.status.FAILED_PRECONDITION, details: `cluster ID mismatch or wrong member (got cluster ${b.clusterId.toString(16)} to ${b.to.toString(16)})` };
    }
    if (this.opts.handler.isRemoved?.(b.from)) return { code: grpc.status.FAILED_PRECONDITION, details: REMOVED_MESSAGE };
    try {
      const msgs = b.messages;
      this.opts.onReceived?.(b.from, msgs.reduce((n, m) => n + messageBytes(m), 0));
      if (msgs.length > 0) this.opts.handler.onMessages(msgs);
    } catch (e) {
      return { code: grpc.status.INTERNAL, details: (e as Error).message };
    }
    return undefined;
  }

  /** Queue messages for their destinations; never blocks. Messages to unknown members are dropped. */
  send(msgs: Message[]): void {
    for (const m of msgs) this.senders.get(m.to)?.push(m);
  }

  /** Start sending to a member added at runtime (no-op for itself or a known peer). */
  addPeer(id: bigint, urls: string[]): void {
    if (id === this.opts.selfId || this.senders.has(id)) return;
    this.senders.set(id, new PeerSender(id, [...urls], this));
    this.opts.log.info('added remote peer', { ...peerFields(this.opts.selfId, id), 'remote-peer-urls': urls });
  }

  /** Stop sending to a removed member; its queued messages are dropped. */
  removePeer(id: bigint): void {
    const s = this.senders.get(id);
    if (!s) return;
    s.close();
    this.senders.delete(id);
    this.opts.log.info('removed remote peer', peerFields(this.opts.selfId, id));
  }

  /** Switch a peer to new URLs (MemberUpdate). */
  updatePeer(id: bigint, urls: string[]): void {
    this.senders.get(id)?.setUrls(urls);
  }

  /** Whether a batch reached `id` within the last `withinMs` ms (etcd's "active" peer). Itself is always active. */
  isActive(id: bigint, withinMs: number): boolean {
    if (id === this.opts.selfId) return true;
    const s = this.senders.get(id);
    return s !== undefined && s.lastOk > 0 && Date.now() - s.lastOk <= withinMs;
  }

  /** The cluster ID to stamp and check (a joining member learns it before it starts sending). */
  setClusterId(id: bigint): void {
    (this.opts as { clusterId: bigint }).clusterId = id;
  }

  /** Stop sending and listening. */
  async close(): Promise<void> {
    clearInterval(this.prober);
    for (const s of this.senders.values()) s.close();
    for (const l of this.tlsListeners.splice(0)) {
      l.server.close();
      l.detach();
    }
    // peers' long-lived streams would keep tryShutdown waiting: end them (the peers reconnect or give up)
    for (const call of this.streams) {
      call.on('error', () => undefined);
      call.end();
    }
    this.streams.clear();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    server?.forceShutdown();
    this.injector?.destroy();
    if (this.reloader) releaseTlsReloader(this.reloader);
    this.reloader = undefined;
  }
}
