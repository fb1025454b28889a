/**
 * The client-facing gRPC server: every etcd v3 service registered (methods we do not implement answer
 * UNIMPLEMENTED, grpc-js' default for a missing handler). We own the listeners (node:net, or node:tls for
 * https:// URLs with client-cert-auth requiring and verifying client certificates) and hand each connection,
 * through the etcdctl 3.4 :authority shim (authority_fix.ts), to grpc-js' connection injector.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../proto/load.js';
import { AuthorityFixStream } from './authority_fix.js';
import { ConfigError, type ServerConfig } from './config.js';
import { kvService } from './kv_service.js';
import { clusterService, maintenanceService } from './maintenance_service.js';
import type { QuorumNode } from './node.js';

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
export async function startClientServer(node: QuorumNode, cfg: ServerConfig): Promise<ClientServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
  });
  const pkg = etcdPackage();
  const svc = (name: string) => (pkg[name] as grpc.ServiceClientConstructor).service;
  server.addService(svc('KV'), kvService(node) as grpc.UntypedServiceImplementation);
  server.addService(svc('Maintenance'), maintenanceService(node) as grpc.UntypedServiceImplementation);
  server.addService(svc('Cluster'), clusterService(node) as grpc.UntypedServiceImplementation);
  for (const name of ['Watch', 'Lease', 'Auth']) server.addService(svc(name), {});
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const inject = (sock: net.Socket) => {
    sock.setNoDelay(true);
    injector.injectConnection(new AuthorityFixStream(sock));
  };
  const listeners: net.Server[] = [];
  const t = cfg.clientTls;
  try {
    for (const url of cfg.listenClientUrls) {
      const u = new URL(url);
      let listener: net.Server;
      if (u.protocol === 'https:') {
        listener = tls.createServer(
          {
            cert: readPem('--cert-file', t.certFile),
            key: readPem('--key-file', t.keyFile),
            ca: t.trustedCaFile ? readPem('--trusted-ca-file', t.trustedCaFile) : undefined,
            requestCert: t.clientCertAuth,
            rejectUnauthorized: t.clientCertAuth,
            ALPNProtocols: ['h2'],
          },
          inject,
        );
        listener.on('tlsClientError', () => { /* a failed handshake concerns only that client */ });
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
    injector.destroy();
    throw e;
  }
  return {
    async close(graceMs: number) {
      for (const l of listeners) l.close();
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
