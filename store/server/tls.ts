/**
 * gRPC credentials from the configured PEM files (client listeners, peer listeners, peer dialing).
 * http:// URLs serve plaintext; https:// URLs serve TLS, requiring and verifying client certificates when
 * client-cert-auth (or peer-client-cert-auth) is on, as etcd does.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, type TlsConfig } from './config.js';

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Server credentials for a listener URL. `prefix` is '' (client) or 'peer-' and only names flags in errors. */
export function serverCredentials(url: string, t: TlsConfig, prefix: '' | 'peer-'): grpc.ServerCredentials {
  if (url.startsWith('http:')) return grpc.ServerCredentials.createInsecure();
  const ca = t.trustedCaFile ? read(`--${prefix}trusted-ca-file`, t.trustedCaFile) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ private_key: read(`--${prefix}key-file`, t.keyFile), cert_chain: read(`--${prefix}cert-file`, t.certFile) }],
    t.clientCertAuth,
  );
}

/** Channel credentials for dialing a peer URL with the peer-* certificate (mutual TLS). */
export function peerChannelCredentials(url: string, t: TlsConfig): grpc.ChannelCredentials {
  if (url.startsWith('http:')) return grpc.credentials.createInsecure();
  const ca = t.trustedCaFile ? read('--peer-trusted-ca-file', t.trustedCaFile) : null;
  const key = t.keyFile ? read('--peer-key-file', t.keyFile) : null;
  const cert = t.certFile ? read('--peer-cert-file', t.certFile) : null;
  return grpc.credentials.createSsl(ca, key, cert);
}

/** "https://10.0.0.1:2380" -> "10.0.0.1:2380" (the gRPC target / bind address). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return u.host;
}
