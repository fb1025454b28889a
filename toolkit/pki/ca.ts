/**
 * The cluster CA on the operator's machine: `ca.pem` + `ca-key.pem` (cfssljson names), created once and
 * reused. The CA key never leaves this directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { readCaConfigJson, readCsrJson, durationToDays, type CfsslCsr, type SigningPolicy } from './cfssl.js';
import { PkiError } from './errors.js';
import { ensureDir, writeAtomic } from './files.js';
import { generateRsaKeyPair, keyMatchesCert, randomSerial } from './keys.js';

/** A loaded CA. */
export interface Ca {
  dir: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  /** From ca-config.json when given; otherwise empty (built-in usages, caller's days). */
  signing: SigningPolicy;
  /** True when this call created the CA. */
  created: boolean;
}

/** Options of `ensureCa`. */
export interface EnsureCaOptions {
  /** cfssl csr.json for the CA subject, key size and `ca.expiry` (used only when creating). */
  csrJsonPath?: string;
  /** cfssl ca-config.json: signing profiles and expiries used by `issueCert`. */
  caConfigPath?: string;
  /** CA lifetime in days when csr.json gives no `ca.expiry` (default 3650). */
  days?: number;
  /** CA common name when csr.json gives no CN (default `quorum CA`). */
  cn?: string;
}

/** Clock-skew allowance: certificates are valid from 5 minutes before issue. */
export const BACKDATE_MS = 5 * 60 * 1000;

function subjectFrom(csr: CfsslCsr, cn: string): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = [];
  const n = csr.names?.[0] ?? {};
  if (n.C) attrs.push({ shortName: 'C', value: n.C });
  if (n.ST) attrs.push({ shortName: 'ST', value: n.ST });
  if (n.L) attrs.push({ shortName: 'L', value: n.L });
  if (n.O) attrs.push({ shortName: 'O', value: n.O });
  if (n.OU) attrs.push({ shortName: 'OU', value: n.OU });
  attrs.push({ shortName: 'CN', value: csr.CN ?? cn });
  return attrs;
}

/**
 * Load the CA in `dir`, or create it when neither file exists.
 * Created: RSA (csr.json key.size, default 2048) self-signed, basicConstraints cA (critical),
 * keyUsage keyCertSign+cRLSign+digitalSignature, SHA-256; `ca-key.pem` mode 0600, `dir` mode 0700.
 * Lifetime: csr.json `ca.expiry`, else `opts.days`, else 3650 days.
 * @throws PkiError when only one of the two files exists, they do not match, the cert is not a CA or has
 *   expired, or csr.json/ca-config.json are invalid (including `key.algo: ecdsa`: RSA only).
 */
export async function ensureCa(dir: string, opts: EnsureCaOptions = {}): Promise<Ca> {
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca-key.pem');
  const signing: SigningPolicy = opts.caConfigPath ? readCaConfigJson(opts.caConfigPath) : { profiles: {} };
  const haveCert = existsSync(certPath);
  const haveKey = existsSync(keyPath);
  if (haveCert !== haveKey) {
    throw new PkiError(`${dir}: found ${haveCert ? 'ca.pem without ca-key.pem' : 'ca-key.pem without ca.pem'} (fix: restore the missing file from backup; delete both only if no member uses this CA yet)`);
  }
  if (haveCert) {
    const certPem = readFileSync(certPath, 'utf8');
    const keyPem = readFileSync(keyPath, 'utf8');
    let cert: forge.pki.Certificate;
    let key: forge.pki.rsa.PrivateKey;
    try {
      cert = forge.pki.certificateFromPem(certPem);
      key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    } catch (err) {
      throw new PkiError(`${dir}: cannot parse ca.pem/ca-key.pem: ${(err as Error).message} (fix: restore them from backup; only RSA keys are supported)`);
    }
    if (!keyMatchesCert(key, cert)) throw new PkiError(`${dir}: ca-key.pem does not belong to ca.pem (fix: restore the matching pair from backup)`);
    const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
    if (!bc?.cA) throw new PkiError(`${certPath}: not a CA certificate (basicConstraints cA is missing) (fix: point pki.dir at the CA directory)`);
    if (cert.validity.notAfter.getTime() <= Date.now()) {
      throw new PkiError(`${certPath}: the CA expired on ${cert.validity.notAfter.toISOString()} (fix: create a new CA and re-issue every certificate)`);
    }
    return { dir, certPath, keyPath, certPem, keyPem, cert, key, signing, created: false };
  }

  const csr: CfsslCsr = opts.csrJsonPath ? readCsrJson(opts.csrJsonPath) : {};
  const days = csr.ca?.expiry !== undefined ? durationToDays(csr.ca.expiry, 'ca.expiry') : opts.days ?? 3650;
  const pair = await generateRsaKeyPair(csr.key?.size ?? 2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = pair.publicKey;
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  cert.validity.notAfter = new Date(Math.floor((now + days * 86400000) / 1000) * 1000);
  const subject = subjectFrom(csr, opts.cn ?? 'quorum CA');
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(pair.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const keyPem = forge.pki.privateKeyToPem(pair.privateKey);
  ensureDir(dir);
  writeAtomic(dir, 'ca-key.pem', keyPem, 0o600);
  writeAtomic(dir, 'ca.pem', certPem, 0o644);
  return { dir, certPath, keyPath, certPem, keyPem, cert, key: pair.privateKey, signing, created: true };
}
