/**
 * CA bundles: several PEM certificates in one file, as etcd's `trusted-ca-file` accepts (and Node's `ca`
 * option). During a CA rotation the operator's `ca.pem` is such a bundle with the signing CA first, so
 * `ensureCa` (which reads the first certificate) keeps working and every reader of `ca.pem` trusts both CAs.
 */
import forge from 'node-forge';
import { PkiError } from './errors.js';
import { certInfo, type CertInfo } from './info.js';

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks of `pem`, in file order, each ending with a newline. */
export function splitPemBundle(pem: string): string[] {
  return (pem.match(BLOCK) ?? []).map((b) => `${b}\n`);
}

/**
 * A bundle of `certs` (PEM blocks or bundles) in the given order, duplicates (same DER) dropped.
 * @throws PkiError when a block does not parse.
 */
export function joinPemBundle(certs: string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of certs.flatMap(splitPemBundle)) {
    let der: string;
    try {
      der = forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(c))).getBytes();
    } catch (e) {
      throw new PkiError(`bad certificate in a CA bundle: ${(e as Error).message} (fix: restore ca.pem from backup)`);
    }
    if (seen.has(der)) continue;
    seen.add(der);
    out.push(c);
  }
  return out.join('');
}

/**
 * Facts of every certificate in a bundle, in file order.
 * @throws PkiError when a block does not parse.
 */
export function bundleInfo(pem: string): CertInfo[] {
  return splitPemBundle(pem).map((c) => {
    try {
      return certInfo(forge.pki.certificateFromPem(c));
    } catch (e) {
      throw new PkiError(`bad certificate in a bundle: ${(e as Error).message}`);
    }
  });
}

/** True when `cert` (PEM) is signed by `ca` (PEM): same issuer name and the signature verifies. */
export function signedBy(cert: string, ca: string): boolean {
  try {
    const c = forge.pki.certificateFromPem(cert);
    const a = forge.pki.certificateFromPem(ca);
    return c.isIssuer(a) && a.verify(c);
  } catch {
    return false;
  }
}
