/**
 * gRPC server metrics with go-grpc-prometheus' names and labels, as etcd 3.4 exports them:
 * grpc_server_started_total, grpc_server_handled_total (by grpc_code), grpc_server_handling_seconds
 * (etcd only with --metrics=extensive; the etcdGRPCRequestsSlow alert reads it), grpc_server_msg_received_total
 * and grpc_server_msg_sent_total, all labelled {grpc_type, grpc_service, grpc_method}; plus etcd's
 * etcd_network_client_grpc_received_bytes_total / sent_bytes_total and etcd_debugging_mvcc_watch_stream_total.
 *
 * Calls are observed by a grpc-js server interceptor (`interceptor`, given in the Server's options); client
 * bytes are counted per connection (`trackSocket`: bytes on the client sockets, TLS and HTTP/2 framing
 * included, where etcd counts message bytes). As go-grpc-prometheus' InitializeMetrics, every etcd method's
 * started/handled series exist from the first scrape, at 0.
 */
import type { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { etcdPackage } from '../proto/load.js';

/** go-grpc-prometheus grpc_type values. */
export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** gRPC status code -> the Go name used as grpc_code (codes.Code.String()). */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];

/** The etcd v3 services whose series are initialized at 0 (the names etcd registers). */
const ETCD_SERVICES = ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth'];
/** Go's prometheus.DefBuckets (seconds), go-grpc-prometheus' default for handling time. */
const DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Split "/pkg.Service/Method" into go-grpc-prometheus' service and method labels. */
export function splitMethodPath(path: string): { grpc_service: string; grpc_method: string } {
  const parts = path.replace(/^\//, '').split('/');
  return { grpc_service: parts[0] ?? '', grpc_method: parts[1] ?? '' };
}

/** The grpc_type of a method from its streaming flags. */
export function grpcType(requestStream: boolean, responseStream: boolean): GrpcType {
  if (requestStream && responseStream) return 'bidi_stream';
  if (requestStream) return 'client_stream';
  return responseStream ? 'server_stream' : 'unary';
}

type Labels = { grpc_type: GrpcType; grpc_service: string; grpc_method: string };

/**
 * One method's figures since the last scrape: plain numbers bumped per call (no label hashing on the request
 * path), moved into the prom-client counters when a scrape collects them (GrpcMetrics.flush).
 */
class MethodStats {
  started = 0;
  received = 0;
  sent = 0;
  /** Calls handled since the last flush, by gRPC status code (index; codes beyond 16 counted as Unknown). */
  readonly handled = new Array<number>(GRPC_CODE_NAMES.length).fill(0);
  /** Label sets with grpc_code, by code (made on first use). */
  readonly handledLabels: (Labels & { grpc_code: string })[] = [];
  readonly isWatch: boolean;
  constructor(readonly labels: Labels) {
    this.isWatch = labels.grpc_service === 'etcdserverpb.Watch';
  }
}

/**
 * grpc_server_handling_seconds: a histogram with prom-client's exposition (series in first-observation order,
 * cumulative `le` buckets, then _sum and _count; the same value objects prom-client's Histogram returns), kept as
 * plain arrays per method so an observation is one bucket search and three additions. Registered directly on
 * the registry (Registry.registerMetric only needs name, help, type and get()).
 */
export class MethodHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<Labels, { buckets: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], registry: Registry) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Add one observation (seconds) to the series of `labels` (one object per label set, as cached by the caller). */
  observe(labels: Labels, value: number): void {
    let s = this.series.get(labels);
    if (!s) {
      s = { buckets: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(labels, s);
    }
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        s.buckets[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** The exposition values, as prom-client Histogram.getForPromString (labels {le}, the series' labels shared). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: object[]; aggregator: string }> {
    const values: object[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [labels, s] of this.series) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: labels, value: acc, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client Histogram.get: every value's labels include the series' labels. */
  async get(): Promise<{ name: string; help: string; type: string; values: object[]; aggregator: string }> {
    const d = await this.getForPromString();
    d.values = d.values.map((v) => {
      const { sharedLabels, labels, ...rest } = v as { sharedLabels: Record<string, unknown>; labels: Record<string, unknown> };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return d;
  }

  reset(): void {
    this.series = new Map();
  }
}

/** The gRPC metric family of one process, registered on `registry`. */
export class GrpcMetrics {
  readonly started: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly handled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  readonly handling: MethodHistogram;
  readonly msgReceived: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly msgSent: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly receivedBytes: Counter;
  readonly sentBytes: Counter;
  private readonly sockets = new Set<Socket>();
  /** Bytes of closed sockets, and what has been reported so far (counters only grow). */
  private closedRead = 0;
  private closedWritten = 0;
  private reportedRead = 0;
  private reportedWritten = 0;
  /** Open Watch calls (etcd_debugging_mvcc_watch_stream_total). */
  watchStreams = 0;
  private readonly stats = new Map<string, MethodStats>();

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    const self = this;
    const collect = () => self.flush();
    this.started = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames, registers, collect });
    this.handled = new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...labelNames, 'grpc_code'], registers, collect,
    });
    this.handling = new MethodHistogram('grpc_server_handling_seconds',
      'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.', DEF_BUCKETS, registry);
    this.msgReceived = new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames, registers, collect });
    this.msgSent = new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames, registers, collect });
    this.receivedBytes = new Counter({
      name: 'etcd_network_client_grpc_received_bytes_total', help: 'The total number of bytes received from grpc clients.', registers,
      collect() { self.sync(); },
    });
    this.sentBytes = new Counter({ name: 'etcd_network_client_grpc_sent_bytes_total', help: 'The total number of bytes sent to grpc clients.', registers, collect() { self.sync(); } });
    new Gauge({ name: 'etcd_debugging_mvcc_watch_stream_total', help: 'Total number of watch streams.', registers, collect() { this.set(self.watchStreams); } });
    this.initialize();
  }

  /** Every etcd method's started and handled series at 0, as go-grpc-prometheus' InitializeMetrics. */
  private initialize(): void {
    let pkg: grpc.GrpcObject;
    try {
      pkg = etcdPackage();
    } catch {
      return; // metrics without the protos (unit use): series appear on first call
    }
    for (const name of ETCD_SERVICES) {
      const ctor = pkg[name] as grpc.ServiceClientConstructor | undefined;
      if (!ctor?.service) continue;
      for (const m of Object.values(ctor.service)) {
        const st = this.statsOf(m.path, m.requestStream, m.responseStream);
        this.started.inc(st.labels, 0);
        for (let code = 0; code < GRPC_CODE_NAMES.length; code++) this.handled.inc(this.handledLabels(st, code), 0);
      }
    }
  }

  /** The figures of one method (made on its first call). */
  statsOf(path: string, requestStream: boolean, responseStream: boolean): MethodStats {
    let st = this.stats.get(path);
    if (!st) {
      st = new MethodStats({ grpc_type: grpcType(requestStream, responseStream), ...splitMethodPath(path) });
      this.stats.set(path, st);
    }
    return st;
  }

  private handledLabels(st: MethodStats, code: number): Labels & { grpc_code: string } {
    return (st.handledLabels[code] ??= { ...st.labels, grpc_code: GRPC_CODE_NAMES[code]! });
  }

  /** Move the per-method figures counted since the last scrape into the prom-client counters. */
  flush(): void {
    for (const st of this.stats.values()) {
      if (st.started) this.started.inc(st.labels, st.started);
      if (st.received) this.msgReceived.inc(st.labels, st.received);
      if (st.sent) this.msgSent.inc(st.labels, st.sent);
      st.started = st.received = st.sent = 0;
      for (let code = 0; code < st.handled.length; code++) {
        const n = st.handled[code]!;
        if (n === 0) continue;
        this.handled.inc(this.handledLabels(st, code), n);
        st.handled[code] = 0;
      }
    }
  }

  /** A grpc-js server interceptor recording every call (pass in `new grpc.Server({ interceptors: [...] })`). */
  readonly interceptor: grpc.ServerInterceptor = (desc, call) =>
    new MeteredCall(this, this.statsOf(desc.path, desc.requestStream, desc.responseStream), call) as unknown as grpc.ServerInterceptingCall;

  /** Count a client connection's bytes (read at scrape time, kept after it closes). */
  trackSocket(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => {
      this.closedRead += sock.bytesRead;
      this.closedWritten += sock.bytesWritten;
      this.sockets.delete(sock);
    });
  }

  private sync(): void {
    let read = this.closedRead;
    let written = this.closedWritten;
    for (const s of this.sockets) {
      read += s.bytesRead;
      written += s.bytesWritten;
    }
    if (read > this.reportedRead) this.receivedBytes.inc(read - this.reportedRead);
    if (written > this.reportedWritten) this.sentBytes.inc(written - this.reportedWritten);
    this.reportedRead = Math.max(read, this.reportedRead);
    this.reportedWritten = Math.max(written, this.reportedWritten);
  }
}

type Listener = Parameters<grpc.ServerInterceptingCallInterface['start']>[0];

/**
 * One observed call: forwards every call operation to the next layer and every inbound event to the handler's
 * listener (it is the listener the next layer sees), counting on the way. One object per call instead of
 * grpc-js' ResponderBuilder/ServerListenerBuilder closures and its pending-message bookkeeping (nothing here
 * is asynchronous, so events pass straight through in order).
 */
class MeteredCall implements grpc.ServerInterceptingCallInterface {
  private listener: Listener | undefined;
  private done = false;
  private readonly t0 = performance.now();

  constructor(private readonly m: GrpcMetrics, private readonly st: MethodStats, private readonly next: grpc.ServerInterceptingCallInterface) {
    st.started++;
    if (st.isWatch) m.watchStreams++;
  }

  private finish(code: number): void {
    if (this.done) return;
    this.done = true;
    const st = this.st;
    if (st.isWatch) this.m.watchStreams--;
    st.handled[code >= 0 && code < st.handled.length ? code : grpc.status.UNKNOWN]!++;
    this.m.handling.observe(st.labels, (performance.now() - this.t0) / 1000);
  }

  // the call, towards the client
  start(listener: Listener): void {
    this.listener = listener;
    this.next.start(this);
  }
  sendMetadata(metadata: grpc.Metadata): void { this.next.sendMetadata(metadata); }
  sendMessage(message: unknown, callback: () => void): void {
    this.st.sent++;
    this.next.sendMessage(message, callback);
  }
  sendStatus(status: Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.finish(status.code ?? grpc.status.UNKNOWN);
    this.next.sendStatus(status);
  }
  startRead(): void { this.next.startRead(); }
  getPeer(): string { return this.next.getPeer(); }
  getDeadline(): grpc.Deadline { return this.next.getDeadline(); }
  getHost(): string { return this.next.getHost(); }
  getAuthContext(): ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']> { return this.next.getAuthContext(); }
  getConnectionInfo(): ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']> { return this.next.getConnectionInfo(); }
  getMetricsRecorder(): ReturnType<grpc.ServerInterceptingCallInterface['getMetricsRecorder']> { return this.next.getMetricsRecorder(); }

  // the listener, towards the handler
  onReceiveMetadata(metadata: grpc.Metadata): void { this.listener!.onReceiveMetadata(metadata); }
  onReceiveMessage(message: unknown): void {
    this.st.received++;
    this.listener!.onReceiveMessage(message);
  }
  onReceiveHalfClose(): void { this.listener!.onReceiveHalfClose(); }
  onCancel(): void {
    this.finish(grpc.status.CANCELLED);
    this.listener!.onCancel();
  }
}
