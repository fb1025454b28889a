/**
 * Rotation steps on a member: reading the installed certificates over SSH, pushing new files atomically
 * (the connector writes a temp file beside the target and renames it) and the operator's TLS probes of
 * what a member presents and accepts on its client and peer ports.
 */
import tls from 'node:tls';
import type { Connector } from '../../toolkit/connectors/types.js';
import type { Inventory } from '../../toolkit/inventory/types.js';
import { memberPaths } from '../provision/files.js';

/** The PEM files of a member's pki dir, as installed (undefined = missing). */
export interface InstalledPki { ca?: string; server?: string; peer?: string }

/** Reads ca.pem, server.pem and peer.pem from the member's pki dir. @throws ConnectorError when unreachable. */
export async function readInstalled(conn: Connector, inv: Inventory): Promise<InstalledPki> {
  const dir = memberPaths(inv).pkiDir;
  const get = async (f: string) => (await conn.getFile(`${dir}/${f}`))?.toString('utf8');
  return { ca: await get('ca.pem'), server: await get('server.pem'), peer: await get('peer.pem') };
}

/** One file to install in the member's pki dir. Keys get mode 0600, certificates 0644. */
export interface PkiFile { name: 'ca.pem' | 'server.pem' | 'server-key.pem' | 'peer.pem' | 'peer-key.pem'; content: string }

/**
 * Installs `files` in order, each atomically, owned by the store user. Push a key before its certificate:
 * quorumd ignores a certificate/key pair that does not match and re-reads on its next poll.
 */
export async function pushPki(conn: Connector, inv: Inventory, files: PkiFile[]): Promise<void> {
  const dir = memberPaths(inv).pkiDir;
  const owner = `${inv.cluster.user}:${inv.cluster.user}`;
  for (const f of files) {
    await conn.putFile(`${dir}/${f.name}`, Buffer.from(f.content), { mode: f.name.endsWith('-key.pem') ? 0o600 : 0o644, owner });
  }
}

/** Client TLS material for probes (PEM). */
export interface ProbeTls { ca: string; cert: string; key: string }

/** How long one probe handshake may take, ms. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * TLS handshake with `address:port` using `t`; resolves to the serial (lowercase hex) of the certificate the
 * member presents, or rejects with the handshake error. TLS 1.2 so that the server has verified our
 * certificate before the handshake completes (with TLS 1.3 a refusal arrives only after it).
 */
export function presentedSerial(address: string, port: number, t: ProbeTls, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: address, port, ca: t.ca, cert: t.cert, key: t.key, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'], servername: undefined });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TLS handshake with ${address}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const serial = sock.getPeerCertificate().serialNumber?.toLowerCase() ?? '';
      sock.destroy();
      resolve(serial.replace(/^0+(?=.)/, ''));
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    });
  });
}

/** True when a handshake with `t` succeeds (the member accepts the client certificate), false when it fails. */
export async function handshakeAccepted(address: string, port: number, t: ProbeTls): Promise<boolean> {
  try {
    await presentedSerial(address, port, t);
    return true;
  } catch {
    return false;
  }
}

/** Polls `fn` every `everyMs` until it returns true or `timeoutMs` passes; resolves to the last result. */
export async function pollUntil(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
