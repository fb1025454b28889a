/**
 * The client-facing gRPC server: every etcd v3 service registered (methods we do not implement answer
 * UNIMPLEMENTED, grpc-js' default for a missing handler). We own the listeners (node:net, or node:tls for
 * https:// URLs with client-cert-auth requiring and verifying client certificates) and hand each connection,
 * on the native socket or through the etcdctl 3.4 :authority shim (h2_handoff.ts), to grpc-js' connection injector.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../proto/load.js';
import { ConfigError, type ServerConfig } from './config.js';
import { kvService } from './kv_service.js';
import { maintenanceService } from './maintenance_service.js';
import { clusterService, moveLeaderHandler } from './cluster_service.js';
import { learnerGuard } from './cluster_learner_guard.js';
import type { QuorumNode } from './node.js';
import { acquireTlsReloader, releaseTlsReloader, reloadingTlsServer, type TlsReloader } from './tls_reload.js';
import { leaseService } from './lease_service.js';
import { watchService } from './watch_service.js';
import { KV_CODECS, withCodecs } from './kv_wire.js';
import { WATCH_CODECS } from './watch_wire.js';
import { guardServer } from './auth_guard.js';
import { authService } from './auth_service.js';
import { captureHandlers } from './gateway_calls.js';
import { Gateway } from './gateway.js';
import { sniffConnection } from './gateway_sniff.js';
import { handOffH2 } from './h2_handoff.js';
import type { Metrics } from './metrics.js';

/** etcd's allowance for gRPC framing on top of --max-request-bytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** The client listeners and the gRPC server behind them. */
export interface ClientServer {
  /** Stop accepting, let calls finish for up to `graceMs`, then close everything. */
  close(graceMs: number): Promise<void>;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Build the gRPC server and listen on every --listen-client-urls URL. Rejects naming the URL on bind errors. */
export async function startClientServer(node: QuorumNode, cfg: ServerConfig, metrics?: Metrics): Promise<ClientServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    ...(metrics ? { interceptors: [metrics.grpc.interceptor] } : {}), // grpc_server_* metrics (metrics_grpc.ts)
  });
  const handlers = captureHandlers(server); // for the JSON gateway (gateway.ts): the guarded handlers, as registered
  guardServer(server, node); // auth: token + permission checks on every service added below (auth_guard.ts)
  // learners serve only Status and serializable Range (cluster_learner_guard.ts)
  const addService = server.addService.bind(server);
  server.addService = (def, impl) => addService(def, learnerGuard(node, def, impl));
  const pkg = etcdPackage();
  const svc = (name: string) => (pkg[name] as grpc.ServiceClientConstructor).service;
  // KV and Watch: hand-written codecs for the hot messages (kv_wire.ts, watch_wire.ts)
  server.addService(withCodecs(svc('KV'), KV_CODECS), kvService(node) as grpc.UntypedServiceImplementation);
  server.addService(svc('Maintenance'), { ...maintenanceService(node), ...moveLeaderHandler(node) } as grpc.UntypedServiceImplementation);
  server.addService(svc('Cluster'), clusterService(node) as grpc.UntypedServiceImplementation);
  server.addService(withCodecs(svc('Watch'), WATCH_CODECS), watchService(node) as grpc.UntypedServiceImplementation);
  server.addService(svc('Lease'), leaseService(node) as grpc.UntypedServiceImplementation);
  server.addService(svc('Auth'), authService(node) as grpc.UntypedServiceImplementation);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const gateway = new Gateway(node, handlers, metrics);
  // HTTP/2 (gRPC) and HTTP/1.1 (the JSON gateway) share each client listener (gateway_sniff.ts)
  const inject = (sock: net.Socket) => {
    sock.setNoDelay(true);
    metrics?.grpc.trackSocket(sock); // etcd_network_client_grpc_{received,sent}_bytes_total
    sniffConnection(sock, (s) => handOffH2(s, (c) => injector.injectConnection(c)), (s) => gateway.accept(s));
  };
  const listeners: net.Server[] = [];
  const t = cfg.clientTls;
  // https listeners follow the certificate files (tls_reload.ts): new handshakes use rotated certificates.
  let reloader: TlsReloader | undefined;
  const detachers: Array<() => void> = [];
  try {
    for (const url of cfg.listenClientUrls) {
      const u = new URL(url);
      let listener: net.Server;
      if (u.protocol === 'https:') {
        if (!reloader) {
          readPem('--cert-file', t.certFile);
          readPem('--key-file', t.keyFile);
          if (t.trustedCaFile) readPem('--trusted-ca-file', t.trustedCaFile);
          reloader = acquireTlsReloader(t);
        }
        const r = reloadingTlsServer(reloader, t.clientCertAuth, inject);
        listener = r.server;
        detachers.push(r.detach);
      } else {
        listener = net.createServer(inject);
      }
      await new Promise<void>((resolve, reject) => {
        listener.once('error', (e) => reject(new Error(`cannot listen on client URL ${url}: ${e.message}`)));
        listener.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      listeners.push(listener);
    }
  } catch (e) {
    for (const l of listeners) l.close();
    for (const d of detachers) d();
    if (reloader) releaseTlsReloader(reloader);
    injector.destroy();
    gateway.close();
    throw e;
  }
  return {
    async close(graceMs: number) {
      for (const l of listeners) l.close();
      for (const d of detachers) d();
      if (reloader) releaseTlsReloader(reloader);
      reloader = undefined;
      gateway.close();
      injector.drain(graceMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      injector.destroy();
    },
  };
}
