/**
 * Certificate hot reload: quorumd re-reads its PEM files (cert, key, trusted CA bundle) every
 * `TLS_RELOAD_POLL_MS` and on SIGHUP, and swaps the secure context used for NEW handshakes (client and peer
 * listeners through `tls.Server.setSecureContext`, outgoing peer connections by replacing the channel between
 * batches). A connection that is already established keeps the certificate it was made with. Like etcd, which
 * reads the files on each handshake (etcd docs "Transport security model", certificate rotation), rotating a
 * certificate needs no restart.
 *
 * A half-written rotation (new cert with the old key, an unparsable file) is not applied: the previous context
 * stays in use and the files are tried again on the next poll, so pushing key and cert as two renames is safe.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { TlsConfig } from './config.js';

/** How often the files are re-read, ms. */
export const TLS_RELOAD_POLL_MS = 2_000;

/** The PEM material of one listener kind; `ca` is undefined when no trusted CA file is configured. */
export interface TlsMaterial { cert: Buffer; key: Buffer; ca: Buffer | undefined }

/** Where reload problems go (the node's logger fits). */
export interface ReloadLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

function readMaterial(t: TlsConfig): TlsMaterial {
  return {
    cert: readFileSync(t.certFile),
    key: readFileSync(t.keyFile),
    ca: t.trustedCaFile ? readFileSync(t.trustedCaFile) : undefined,
  };
}

const same = (a: Buffer | undefined, b: Buffer | undefined) => (a === undefined ? b === undefined : b !== undefined && a.equals(b));

/**
 * Watches one TlsConfig's files. `version` increases on every applied change; listeners registered with
 * `onChange` get the new material. Construct through `acquireTlsReloader` (shared per file set).
 * @throws Error from the constructor when the files cannot be read or do not form a valid context.
 */
export class TlsReloader {
  private material: TlsMaterial;
  private listeners = new Set<(m: TlsMaterial) => void>();
  private lastBad = '';
  /** Number of reloads applied since start. */
  version = 0;

  constructor(readonly config: TlsConfig, private readonly log?: ReloadLog) {
    this.material = readMaterial(config);
    tls.createSecureContext(this.material);
  }

  /** The material in use. */
  current(): TlsMaterial {
    return this.material;
  }

  /** Calls `cb` after every applied change; returns the unsubscribe function. */
  onChange(cb: (m: TlsMaterial) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Re-reads the files now; applies them when they differ and form a valid context. True when applied. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = readMaterial(this.config);
    } catch (e) {
      this.complain(`cannot read certificate files: ${(e as Error).message}`);
      return false;
    }
    if (same(next.cert, this.material.cert) && same(next.key, this.material.key) && same(next.ca, this.material.ca)) return false;
    try {
      tls.createSecureContext(next);
    } catch (e) {
      this.complain(`new certificate files are not usable yet (keeping the current ones): ${(e as Error).message}`);
      return false;
    }
    this.material = next;
    this.version++;
    this.lastBad = '';
    this.log?.info('reloaded TLS certificate files', { 'cert-file': this.config.certFile, 'trusted-ca-file': this.config.trustedCaFile, version: this.version });
    for (const l of this.listeners) {
      try {
        l(next);
      } catch (e) {
        this.log?.warn('applying reloaded certificates failed', { error: (e as Error).message });
      }
    }
    return true;
  }

  private complain(msg: string): void {
    if (msg === this.lastBad) return;
    this.lastBad = msg;
    this.log?.warn(msg, { 'cert-file': this.config.certFile });
  }
}

interface Entry { reloader: TlsReloader; refs: number }
const registry = new Map<string, Entry>();
let timer: NodeJS.Timeout | undefined;
let sighup: (() => void) | undefined;

function checkAll(): void {
  for (const e of registry.values()) e.reloader.check();
}

const keyOf = (t: TlsConfig) => JSON.stringify([t.certFile, t.keyFile, t.trustedCaFile]);

/**
 * The shared reloader of `t`'s files (one per distinct cert/key/CA triple), polling every
 * `TLS_RELOAD_POLL_MS` and on SIGHUP while any is held. Pair with `releaseTlsReloader`.
 * @throws Error when the files cannot be read or do not match (key vs cert).
 */
export function acquireTlsReloader(t: TlsConfig, log?: ReloadLog): TlsReloader {
  const k = keyOf(t);
  let e = registry.get(k);
  if (!e) {
    e = { reloader: new TlsReloader(t, log), refs: 0 };
    registry.set(k, e);
  }
  e.refs++;
  if (!timer) {
    timer = setInterval(checkAll, TLS_RELOAD_POLL_MS);
    timer.unref();
  }
  if (!sighup) {
    sighup = () => checkAll();
    process.on('SIGHUP', sighup);
  }
  return e.reloader;
}

/** Drops one hold on `r`; the last release of the last reloader stops polling and the SIGHUP handler. */
export function releaseTlsReloader(r: TlsReloader): void {
  const k = keyOf(r.config);
  const e = registry.get(k);
  if (!e || e.reloader !== r) return;
  if (--e.refs > 0) return;
  registry.delete(k);
  if (registry.size === 0) {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (sighup) process.off('SIGHUP', sighup);
    sighup = undefined;
  }
}

/**
 * A TLS listener (ALPN h2, and http/1.1 for the JSON gateway on client ports) whose certificate, key and trusted CAs follow `r`: `tls.Server.setSecureContext`
 * on every reload, so new handshakes use the new files and open connections keep theirs.
 * `verifyClients` requires and verifies client certificates (client-cert-auth / peer-client-cert-auth).
 * Returns the server and a function that detaches it from the reloader.
 */
export function reloadingTlsServer(r: TlsReloader, verifyClients: boolean, onConnection: (s: net.Socket) => void): { server: tls.Server; detach: () => void } {
  const m = r.current();
  const server = tls.createServer(
    { cert: m.cert, key: m.key, ca: m.ca, requestCert: verifyClients, rejectUnauthorized: verifyClients, ALPNProtocols: ['h2', 'http/1.1'] },
    onConnection,
  );
  server.on('tlsClientError', () => { /* a failed handshake concerns only that client */ });
  const detach = r.onChange((n) => server.setSecureContext({ cert: n.cert, key: n.key, ca: n.ca }));
  return { server, detach };
}
