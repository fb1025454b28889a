/**
 * The toolkit's PKI (node-forge, RSA only): a cluster CA kept on the operator machine and leaf
 * certificates per member and client, with cfssl's input shapes and cfssljson's file names.
 */
export { ensureCa, type Ca, type EnsureCaOptions } from './ca.js';
export { ensureCert, issueCert, reuseBlocker, DEFAULT_USAGES, DEFAULT_CERT_DAYS, type CertSpec, type IssuedCert, type EnsuredCert } from './cert.js';
export { readCertInfo, type CertInfo, type ExtKeyUsage } from './info.js';
export { readCsrJson, readCaConfigJson, durationToDays, type Profile, type CfsslCsr, type CfsslCaConfig, type SigningPolicy } from './cfssl.js';
export { PkiError } from './errors.js';
export { splitPemBundle, joinPemBundle, bundleInfo, signedBy } from './bundle.js';
