/**
 * Read what matters about a certificate: subject, issuer, SANs, serial, validity, usages.
 */
import forge from 'node-forge';
import { PkiError } from './errors.js';

/** Extended key usages the toolkit distinguishes. */
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** A certificate's facts. Distinguished names are rendered `CN=..,O=..` in certificate order. */
export interface CertInfo {
  subject: string;
  /** Subject common name, '' when absent. */
  cn: string;
  issuer: string;
  /** DNS names in the subjectAltName extension, in certificate order. */
  dnsNames: string[];
  /** IP addresses in the subjectAltName extension, in certificate order. */
  ips: string[];
  /** Serial number, lowercase hex as encoded. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Extended key usages present (serverAuth, clientAuth), sorted. */
  extKeyUsage: ExtKeyUsage[];
  /** basicConstraints cA. */
  isCa: boolean;
}

/** Render a forge distinguished name as `CN=x,O=y`. */
export function dnString(attrs: forge.pki.CertificateField[]): string {
  return attrs.map((a) => `${a.shortName ?? a.name ?? a.type}=${String(a.value)}`).join(',');
}

/** Parse a PEM certificate. @throws PkiError when it is not one. */
export function parseCertPem(pem: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw new PkiError(`not a PEM certificate: ${(err as Error).message} (fix: pass the content of a NAME.pem file)`);
  }
}

/** Facts of a forge certificate (see `readCertInfo`). */
export function certInfo(cert: forge.pki.Certificate): CertInfo {
  const san = cert.getExtension('subjectAltName') as { altNames?: Array<{ type: number; value?: string; ip?: string }> } | null;
  const eku = cert.getExtension('extKeyUsage') as Record<string, unknown> | null;
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  const cnField = cert.subject.getField('CN') as forge.pki.CertificateField | null;
  const usages: ExtKeyUsage[] = [];
  if (eku?.serverAuth) usages.push('serverAuth');
  if (eku?.clientAuth) usages.push('clientAuth');
  return {
    subject: dnString(cert.subject.attributes),
    cn: cnField ? String(cnField.value) : '',
    issuer: dnString(cert.issuer.attributes),
    dnsNames: (san?.altNames ?? []).filter((a) => a.type === 2).map((a) => String(a.value)),
    ips: (san?.altNames ?? []).filter((a) => a.type === 7).map((a) => String(a.ip)),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    extKeyUsage: usages.sort(),
    isCa: bc?.cA === true,
  };
}

/**
 * Read a PEM certificate's subject, issuer, SANs, serial, validity and usages.
 * @throws PkiError when `pem` is not a certificate.
 */
export function readCertInfo(pem: string): CertInfo {
  return certInfo(parseCertPem(pem));
}
