/**
 * Leaf certificates signed by the cluster CA: issue, and ensure (reuse when still right, so re-runs change
 * nothing). Files use cfssljson names: NAME.pem (0644) and NAME-key.pem (0600).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import type { Ca } from './ca.js';
import { BACKDATE_MS } from './ca.js';
import type { Profile } from './cfssl.js';
import { PkiError } from './errors.js';
import { ensureDir, writeAtomic } from './files.js';
import { certInfo, type ExtKeyUsage } from './info.js';
import { generateRsaKeyPair, keyMatchesCert, randomSerial } from './keys.js';

/** What to issue. */
export interface CertSpec {
  /** File base name: NAME.pem / NAME-key.pem (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** Subject CN (etcd uses a client cert's CN as the user name when auth is on). */
  cn: string;
  /** subjectAltName entries: IPv4/IPv6 addresses become IP SANs, everything else DNS SANs. */
  hosts: string[];
  profile: Profile;
}

/** An issued certificate. `serial` is lowercase hex. */
export interface IssuedCert { certPem: string; keyPem: string; serial: string; notAfter: Date }

/** Result of `ensureCert`: the files' content, whether they were (re)written and why. */
export interface EnsuredCert extends IssuedCert {
  certPath: string;
  keyPath: string;
  changed: boolean;
  reason: string;
}

/** Built-in usages (cfssl names) per profile; server certs also get client auth (etcd's gateway/proxy dial with them). */
export const DEFAULT_USAGES: Record<Profile, string[]> = {
  server: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  peer: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  client: ['digital signature', 'key encipherment', 'client auth'],
};

/** Default leaf lifetime, days, when neither the caller nor ca-config.json says. */
export const DEFAULT_CERT_DAYS = 365;

/** Certificates store times in whole seconds: round down so returned dates equal the encoded ones. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function usagesFor(ca: Ca, profile: Profile): string[] {
  return ca.signing.profiles[profile]?.usages ?? DEFAULT_USAGES[profile];
}

function expectedEku(usages: string[]): ExtKeyUsage[] {
  const out: ExtKeyUsage[] = [];
  if (usages.includes('server auth')) out.push('serverAuth');
  if (usages.includes('client auth')) out.push('clientAuth');
  return out.sort();
}

function splitHosts(hosts: string[]): { dns: string[]; ips: string[] } {
  const uniq = [...new Set(hosts)];
  return { dns: uniq.filter((h) => isIP(h) === 0), ips: uniq.filter((h) => isIP(h) !== 0) };
}

function checkSpec(spec: CertSpec): void {
  if (!/^[A-Za-z0-9._-]+$/.test(spec.name)) throw new PkiError(`certificate name ${JSON.stringify(spec.name)} is not a safe file name (fix: use letters, digits, . _ -)`);
  if (!['server', 'peer', 'client'].includes(spec.profile)) throw new PkiError(`unknown profile ${JSON.stringify(spec.profile)} (fix: use server, peer or client)`);
  if (spec.cn === '') throw new PkiError(`certificate ${spec.name}: empty CN (fix: give a common name)`);
}

/**
 * Issue a certificate signed by `ca`: a fresh RSA 2048 key, SHA-256, random 128-bit serial,
 * valid from 5 minutes ago for `days` days (default: the ca-config.json profile's expiry, then its
 * default expiry, then 365), keyUsage digitalSignature+keyEncipherment, extKeyUsage per profile
 * (server: serverAuth+clientAuth, peer: serverAuth+clientAuth, client: clientAuth; ca-config.json
 * profile usages override), SANs from `spec.hosts`, authorityKeyIdentifier of the CA.
 * Async because the key is generated with node-forge's callback API (native, off the event loop).
 * @throws PkiError for a bad spec.
 */
export async function issueCert(ca: Ca, spec: CertSpec, days?: number): Promise<IssuedCert> {
  checkSpec(spec);
  const policy = ca.signing.profiles[spec.profile];
  const lifetimeDays = days ?? policy?.days ?? ca.signing.defaultDays ?? DEFAULT_CERT_DAYS;
  const usages = usagesFor(ca, spec.profile);
  const pair = await generateRsaKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = pair.publicKey;
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = wholeSeconds(now - BACKDATE_MS);
  // never outlive the CA; certificates carry whole seconds
  const notAfter = wholeSeconds(Math.min(now + lifetimeDays * 86400000, ca.cert.validity.notAfter.getTime()));
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ shortName: 'CN', value: spec.cn }]);
  cert.setIssuer(ca.cert.subject.attributes);
  const { dns, ips } = splitHosts(spec.hosts);
  const eku = expectedEku(usages);
  const exts: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    {
      name: 'keyUsage', critical: true,
      digitalSignature: usages.includes('digital signature') || usages.includes('signing'),
      keyEncipherment: usages.includes('key encipherment'),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (eku.length > 0) exts.push({ name: 'extKeyUsage', serverAuth: eku.includes('serverAuth'), clientAuth: eku.includes('clientAuth') });
  if (dns.length + ips.length > 0) {
    exts.push({ name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] });
  }
  cert.setExtensions(exts);
  cert.sign(ca.key, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(pair.privateKey),
    serial: cert.serialNumber.toLowerCase(),
    notAfter,
  };
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Why the existing NAME.pem/NAME-key.pem in `dir` cannot be reused for `spec`, or undefined when they
 * can: both readable, key matches cert, signed by `ca` (same issuer and signature verifies), same CN,
 * same SAN set, same extended key usages as the profile, and more than min(30 days, 1/3 of its
 * lifetime) left.
 */
export function reuseBlocker(dir: string, ca: Ca, spec: CertSpec, now = Date.now()): string | undefined {
  const certPath = join(dir, `${spec.name}.pem`);
  const keyPath = join(dir, `${spec.name}-key.pem`);
  if (!existsSync(certPath) || !existsSync(keyPath)) return 'no certificate yet';
  let cert: forge.pki.Certificate;
  let key: forge.pki.rsa.PrivateKey;
  try {
    cert = forge.pki.certificateFromPem(readFileSync(certPath, 'utf8'));
    key = forge.pki.privateKeyFromPem(readFileSync(keyPath, 'utf8')) as forge.pki.rsa.PrivateKey;
  } catch {
    return 'existing files do not parse';
  }
  if (!keyMatchesCert(key, cert)) return 'key does not match certificate';
  let signed = false;
  try {
    signed = cert.isIssuer(ca.cert) && ca.cert.verify(cert);
  } catch {
    signed = false;
  }
  if (!signed) return 'signed by another CA';
  const info = certInfo(cert);
  if (info.cn !== spec.cn) return `CN changed (${info.cn} -> ${spec.cn})`;
  const want = splitHosts(spec.hosts);
  if (!sameSet(info.dnsNames, want.dns) || !sameSet(info.ips, want.ips)) return 'SANs changed';
  if (!sameSet(info.extKeyUsage, expectedEku(usagesFor(ca, spec.profile)))) return 'profile changed';
  const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
  const left = info.notAfter.getTime() - now;
  if (left <= Math.min(30 * 86400000, lifetime / 3)) return `expires ${info.notAfter.toISOString()}`;
  return undefined;
}

/**
 * Make sure `dir` holds a valid NAME.pem / NAME-key.pem for `spec`: reuse the existing pair when
 * `reuseBlocker` finds nothing wrong (then `changed` is false and nothing is written), otherwise
 * issue a new one (`issueCert`) and write it (key 0600 first, then cert 0644; atomic renames).
 * @throws PkiError for a bad spec.
 */
export async function ensureCert(dir: string, ca: Ca, spec: CertSpec, days?: number): Promise<EnsuredCert> {
  checkSpec(spec);
  const certPath = join(dir, `${spec.name}.pem`);
  const keyPath = join(dir, `${spec.name}-key.pem`);
  const blocker = reuseBlocker(dir, ca, spec);
  if (blocker === undefined) {
    const certPem = readFileSync(certPath, 'utf8');
    const info = certInfo(forge.pki.certificateFromPem(certPem));
    return { certPem, keyPem: readFileSync(keyPath, 'utf8'), serial: info.serial, notAfter: info.notAfter,
      certPath, keyPath, changed: false, reason: 'valid certificate with the same CN, SANs, profile and issuer' };
  }
  const issued = await issueCert(ca, spec, days);
  ensureDir(dir);
  writeAtomic(dir, `${spec.name}-key.pem`, issued.keyPem, 0o600);
  writeAtomic(dir, `${spec.name}.pem`, issued.certPem, 0o644);
  return { ...issued, certPath, keyPath, changed: true, reason: blocker };
}
