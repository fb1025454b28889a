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

/** The gRPC metric family of one process, registered on `registry`. */
export class GrpcMetrics {
  readonly started: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly handled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  readonly handling: Histogram<'grpc_type' | 'grpc_service' | 'grpc_method'>;
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
  private watchStreams = 0;
  private readonly labelCache = new Map<string, Labels>();

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    this.started = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames, registers });
    this.handled = new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...labelNames, 'grpc_code'], registers,
    });
    this.handling = new Histogram({
      name: 'grpc_server_handling_seconds', help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames, buckets: DEF_BUCKETS, registers,
    });
    this.msgReceived = new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames, registers });
    this.msgSent = new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames, registers });
    const self = this;
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
        const l = this.labels(m.path, m.requestStream, m.responseStream);
        this.started.inc(l, 0);
        for (const code of GRPC_CODE_NAMES) this.handled.inc({ ...l, grpc_code: code }, 0);
      }
    }
  }

  private labels(path: string, requestStream: boolean, responseStream: boolean): Labels {
    let l = this.labelCache.get(path);
    if (!l) {
      l = { grpc_type: grpcType(requestStream, responseStream), ...splitMethodPath(path) };
      this.labelCache.set(path, l);
    }
    return l;
  }

  /** A grpc-js server interceptor recording every call (pass in `new grpc.Server({ interceptors: [...] })`). */
  readonly interceptor: grpc.ServerInterceptor = (desc, call) => {
    const l = this.labels(desc.path, desc.requestStream, desc.responseStream);
    const isWatch = l.grpc_service === 'etcdserverpb.Watch';
    const started = process.hrtime.bigint();
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      if (isWatch) this.watchStreams--;
      this.handled.inc({ ...l, grpc_code: GRPC_CODE_NAMES[code] ?? 'Unknown' });
      this.handling.observe(l, Number(process.hrtime.bigint() - started) / 1e9);
    };
    this.started.inc(l);
    if (isWatch) this.watchStreams++;
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => {
        next(new grpc.ServerListenerBuilder()
          .withOnReceiveMessage((msg, nextMsg) => { this.msgReceived.inc(l); nextMsg(msg); })
          .withOnCancel(() => finish(grpc.status.CANCELLED))
          .build());
      })
      .withSendMessage((msg, nextMsg) => { this.msgSent.inc(l); nextMsg(msg); })
      .withSendStatus((status, nextStatus) => { finish(status.code ?? grpc.status.UNKNOWN); nextStatus(status); })
      .build();
    return new grpc.ServerInterceptingCall(call, responder);
  };

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
