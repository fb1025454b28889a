/**
 * The operator side of the provision playbook's PKI: the cluster CA in `inv.pki.dir`, a server and a
 * peer certificate per member and one client certificate (`client`) for the operator, with cfssljson
 * names. The CA key never leaves the operator machine: only certificates and member keys are pushed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type Ca, type CertSpec, ensureCa, ensureCert, reuseBlocker } from '../../toolkit/pki/index.js';

/** The PEM files one member needs; `undefined` content = would be issued on apply (dry run). */
export interface MemberPki {
  ca: Buffer | undefined;
  server: Buffer | undefined;
  serverKey: Buffer | undefined;
  peer: Buffer | undefined;
  peerKey: Buffer | undefined;
}

/** Certificate specs of one member: server (client URLs) and peer (peer URLs). */
export function memberCertSpecs(h: HostSpec): { server: CertSpec; peer: CertSpec } {
  const hosts = [h.name, h.address, '127.0.0.1', 'localhost'];
  return {
    server: { name: `${h.name}-server`, cn: h.name, hosts, profile: 'server' },
    peer: { name: `${h.name}-peer`, cn: h.name, hosts, profile: 'peer' },
  };
}

/** The operator's client certificate spec (`client.pem`, `client-key.pem`). */
export const CLIENT_CERT: CertSpec = { name: 'client', cn: 'client', hosts: [], profile: 'client' };

/** Operator-side paths of the client TLS files (for `quorum env` and the health gate). */
export function clientTlsPaths(inv: Inventory): { ca: string; cert: string; key: string } {
  return { ca: join(inv.pki.dir, 'ca.pem'), cert: join(inv.pki.dir, 'client.pem'), key: join(inv.pki.dir, 'client-key.pem') };
}

function caOptions(inv: Inventory) {
  return { ...(inv.pki.caCsr ? { csrJsonPath: inv.pki.caCsr } : {}), ...(inv.pki.caConfig ? { caConfigPath: inv.pki.caConfig } : {}) };
}

/**
 * Makes sure the CA and every certificate exist and are valid (creating / re-issuing as needed) and
 * returns each member's files. Throws PkiError (its message names the file and the fix).
 */
export async function ensureClusterPki(inv: Inventory): Promise<Map<string, MemberPki>> {
  const dir = inv.pki.dir;
  const ca = await ensureCa(dir, caOptions(inv));
  await ensureCert(dir, ca, CLIENT_CERT, inv.pki.certDays);
  const out = new Map<string, MemberPki>();
  for (const h of inv.hosts) {
    const specs = memberCertSpecs(h);
    const server = await ensureCert(dir, ca, specs.server, inv.pki.certDays);
    const peer = await ensureCert(dir, ca, specs.peer, inv.pki.certDays);
    out.set(h.name, {
      ca: Buffer.from(ca.certPem), server: Buffer.from(server.certPem), serverKey: Buffer.from(server.keyPem),
      peer: Buffer.from(peer.certPem), peerKey: Buffer.from(peer.keyPem),
    });
  }
  return out;
}

/**
 * Read-only variant for dry runs: loads what exists and is still valid, and leaves `undefined` where
 * `ensureClusterPki` would create or re-issue. Writes nothing.
 */
export async function readClusterPki(inv: Inventory): Promise<Map<string, MemberPki>> {
  const dir = inv.pki.dir;
  let ca: Ca | undefined;
  if (existsSync(join(dir, 'ca.pem')) && existsSync(join(dir, 'ca-key.pem'))) ca = await ensureCa(dir, caOptions(inv));
  const read = (spec: CertSpec): [Buffer | undefined, Buffer | undefined] => {
    if (!ca || reuseBlocker(dir, ca, spec) !== undefined) return [undefined, undefined];
    return [readFileSync(join(dir, `${spec.name}.pem`)), readFileSync(join(dir, `${spec.name}-key.pem`))];
  };
  const out = new Map<string, MemberPki>();
  for (const h of inv.hosts) {
    const specs = memberCertSpecs(h);
    const [server, serverKey] = read(specs.server);
    const [peer, peerKey] = read(specs.peer);
    out.set(h.name, { ca: ca ? Buffer.from(ca.certPem) : undefined, server, serverKey, peer, peerKey });
  }
  return out;
}
