/**
 * Rotation steps on the operator machine (the inventory's pki dir): the new CA, the CA bundle in `ca.pem`
 * (signing CA first, see toolkit/pki/bundle.ts), the switch of the signing CA, the operator's client
 * certificate and the operator copies of member certificates. Every function is idempotent: it looks at
 * the files and writes only what differs, so a resumed rotation can run it again.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type Ca, ensureCa, issueCert, joinPemBundle, readCertInfo, signedBy, splitPemBundle, type IssuedCert } from '../../toolkit/pki/index.js';
import { ensureDir, writeAtomic } from '../../toolkit/pki/files.js';
import { CLIENT_CERT, memberCertSpecs } from '../provision/pki.js';

/** Sub-directories of the pki dir used by a CA rotation. */
export const NEXT_CA_DIR = 'ca-next';
export const PREV_CA_DIR = 'ca-prev';

function caOptions(inv: Inventory) {
  return { ...(inv.pki.caCsr ? { csrJsonPath: inv.pki.caCsr } : {}), ...(inv.pki.caConfig ? { caConfigPath: inv.pki.caConfig } : {}) };
}

const read = (p: string) => readFileSync(p, 'utf8');

/** The signing CA (first certificate of ca.pem, with ca-key.pem). @throws PkiError when missing or broken. */
export async function signingCa(inv: Inventory): Promise<Ca> {
  if (!existsSync(join(inv.pki.dir, 'ca.pem'))) {
    throw new Error(`${inv.pki.dir}/ca.pem does not exist (fix: run \`quorum provision -i ${inv.file}\` first)`);
  }
  return ensureCa(inv.pki.dir, caOptions(inv));
}

/** The operator's ca.pem content (a bundle during a CA rotation). */
export function operatorCaPem(inv: Inventory): string {
  return read(join(inv.pki.dir, 'ca.pem'));
}

/** Creates (or loads, when a killed run already made it) the new CA in `ca-next/`. */
export async function ensureNextCa(inv: Inventory): Promise<Ca> {
  return ensureCa(join(inv.pki.dir, NEXT_CA_DIR), { ...caOptions(inv), cn: 'quorum CA' });
}

function writeIfDiffers(dir: string, name: string, content: string, mode: number): boolean {
  const p = join(dir, name);
  if (existsSync(p) && read(p) === content) return false;
  writeAtomic(dir, name, content, mode);
  return true;
}

/** First certificate (PEM) of the pki dir's ca.pem. */
function firstCa(inv: Inventory): string {
  const first = splitPemBundle(operatorCaPem(inv))[0];
  if (!first) throw new Error(`${inv.pki.dir}/ca.pem holds no certificate (fix: restore it from backup)`);
  return first;
}

/** Phase 1 on the operator: ca.pem = old CA + new CA (old first: it still signs). */
export function operatorTrust(inv: Inventory, next: Ca): string {
  const bundle = joinPemBundle([firstCa(inv), next.certPem]);
  writeIfDiffers(inv.pki.dir, 'ca.pem', bundle, 0o644);
  return bundle;
}

/**
 * Phase 2 on the operator: keep the old CA in `ca-prev/`, make the new CA the signing CA (ca-key.pem first,
 * then ca.pem = new + old) and re-issue the client certificate when it is not signed by the new CA.
 * Returns the new ca.pem content.
 */
export async function operatorSwitch(inv: Inventory, next: Ca, certDays: number): Promise<string> {
  const dir = inv.pki.dir;
  const first = firstCa(inv);
  if (readCertInfo(first).serial !== readCertInfo(next.certPem).serial) {
    const prev = join(dir, PREV_CA_DIR);
    ensureDir(prev);
    writeAtomic(prev, 'ca-key.pem', read(join(dir, 'ca-key.pem')), 0o600);
    writeAtomic(prev, 'ca.pem', first, 0o644);
    writeAtomic(dir, 'ca-key.pem', next.keyPem, 0o600);
  }
  const others = splitPemBundle(operatorCaPem(inv)).filter((c) => readCertInfo(c).serial !== readCertInfo(next.certPem).serial);
  const bundle = joinPemBundle([next.certPem, ...others]);
  writeIfDiffers(dir, 'ca.pem', bundle, 0o644);
  const client = join(dir, 'client.pem');
  if (!existsSync(client) || !signedBy(read(client), next.certPem)) await newClientCert(inv, certDays);
  return bundle;
}

/** Phase 3 on the operator: ca.pem = the signing CA only. Returns the content. */
export function operatorDrop(inv: Inventory): string {
  const only = joinPemBundle([firstCa(inv)]);
  writeIfDiffers(inv.pki.dir, 'ca.pem', only, 0o644);
  return only;
}

/** The old CA kept by phase 2 (for the phase 3 check that members refuse it), when present. */
export function previousCa(inv: Inventory): { certPem: string; keyPem: string } | undefined {
  const d = join(inv.pki.dir, PREV_CA_DIR);
  if (!existsSync(join(d, 'ca.pem')) || !existsSync(join(d, 'ca-key.pem'))) return undefined;
  return { certPem: read(join(d, 'ca.pem')), keyPem: read(join(d, 'ca-key.pem')) };
}

/** Removes `ca-next/` (its CA now lives in ca.pem / ca-key.pem). */
export function operatorFinish(inv: Inventory): void {
  rmSync(join(inv.pki.dir, NEXT_CA_DIR), { recursive: true, force: true });
}

/**
 * A new operator client certificate signed by the signing CA, written key first, then certificate (each
 * atomically). Readers that load the pair should check that they match and re-read otherwise.
 */
export async function newClientCert(inv: Inventory, certDays: number): Promise<IssuedCert> {
  const ca = await signingCa(inv);
  const c = await issueCert(ca, CLIENT_CERT, certDays);
  writeAtomic(inv.pki.dir, 'client-key.pem', c.keyPem, 0o600);
  writeAtomic(inv.pki.dir, 'client.pem', c.certPem, 0o644);
  return c;
}

/** New server and peer certificates of `host` signed by the signing CA; the operator copies are written. */
export async function newMemberCerts(inv: Inventory, host: HostSpec, certDays: number): Promise<{ server: IssuedCert; peer: IssuedCert }> {
  const ca = await signingCa(inv);
  const specs = memberCertSpecs(host);
  const server = await issueCert(ca, specs.server, certDays);
  const peer = await issueCert(ca, specs.peer, certDays);
  for (const [spec, c] of [[specs.server, server], [specs.peer, peer]] as const) {
    writeAtomic(inv.pki.dir, `${spec.name}-key.pem`, c.keyPem, 0o600);
    writeAtomic(inv.pki.dir, `${spec.name}.pem`, c.certPem, 0o644);
  }
  return { server, peer };
}

/** A short-lived client certificate signed by `ca` (in memory) for trust probes. */
export async function probeCert(ca: Ca): Promise<{ cert: string; key: string }> {
  const c = await issueCert(ca, { name: 'rotation-probe', cn: 'quorum-rotation-probe', hosts: [], profile: 'client' }, 1 / 24);
  return { cert: c.certPem, key: c.keyPem };
}
