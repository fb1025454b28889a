/**
 * cfssl's input shapes: `csr.json` (the CA's subject and key) and `ca-config.json` (signing profiles),
 * as documented by cloudflare/cfssl (`cfssl print-defaults csr|config`). Only what the toolkit uses is read.
 */
import { readFileSync } from 'node:fs';
import { PkiError } from './errors.js';

/** The certificate profiles the toolkit issues. */
export type Profile = 'server' | 'peer' | 'client';

/** One entry of csr.json `names`. */
export interface CsrName { C?: string; ST?: string; L?: string; O?: string; OU?: string }

/** cfssl csr.json. `ca.expiry` is a Go duration such as `87600h`. */
export interface CfsslCsr {
  CN?: string;
  key?: { algo?: string; size?: number };
  names?: CsrName[];
  ca?: { expiry?: string };
}

/** cfssl ca-config.json. Usages are cfssl's names (`signing`, `key encipherment`, `server auth`, ...). */
export interface CfsslCaConfig {
  signing?: {
    default?: { expiry?: string; usages?: string[] };
    profiles?: Record<string, { expiry?: string; usages?: string[] }>;
  };
}

/** Signing policy derived from ca-config.json: lifetimes in days, usages in cfssl's names. */
export interface SigningPolicy {
  defaultDays?: number;
  profiles: Partial<Record<Profile, { usages?: string[]; days?: number }>>;
}

/**
 * Parse a cfssl/Go duration (`8760h`, `43800h0m0s`, `90m`, `3600s`) into days (fractional).
 * @throws PkiError on anything else.
 */
export function durationToDays(d: string, where: string): number {
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== d.length || total <= 0) {
    throw new PkiError(`${where}: expiry ${JSON.stringify(d)} is not a duration (fix: write hours like "8760h" for one year)`);
  }
  return total / 86400;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PkiError(`${path}: cannot read JSON: ${(err as Error).message.split('\n')[0]} (fix: check the path and the JSON syntax)`);
  }
}

/**
 * Read a cfssl csr.json. Only RSA keys are supported (node-forge has no ECDSA certificate signing):
 * `key.algo: ecdsa` is rejected rather than silently replaced.
 * @throws PkiError for unreadable JSON, an ecdsa/unknown algo, or an RSA size outside 2048..8192.
 */
export function readCsrJson(path: string): CfsslCsr {
  const csr = readJson(path) as CfsslCsr;
  if (typeof csr !== 'object' || csr === null) throw new PkiError(`${path}: expected a JSON object (fix: use cfssl's csr.json shape)`);
  const algo = csr.key?.algo ?? 'rsa';
  if (algo !== 'rsa') {
    throw new PkiError(`${path}: key.algo ${JSON.stringify(algo)} is not supported, only rsa (node-forge cannot sign with ECDSA) (fix: set "key": {"algo": "rsa", "size": 2048})`);
  }
  const size = csr.key?.size ?? 2048;
  if (!Number.isInteger(size) || size < 2048 || size > 8192) {
    throw new PkiError(`${path}: key.size ${size} is out of range (fix: use 2048, 3072 or 4096)`);
  }
  if (csr.ca?.expiry !== undefined) durationToDays(csr.ca.expiry, `${path}: ca.expiry`);
  return csr;
}

/**
 * Read a cfssl ca-config.json into a signing policy (profiles `server`, `peer`, `client`; other
 * profiles are ignored).
 * @throws PkiError for unreadable JSON or a bad expiry.
 */
export function readCaConfigJson(path: string): SigningPolicy {
  const cfg = readJson(path) as CfsslCaConfig;
  const policy: SigningPolicy = { profiles: {} };
  const def = cfg?.signing?.default;
  if (def?.expiry !== undefined) policy.defaultDays = durationToDays(def.expiry, `${path}: signing.default.expiry`);
  for (const name of ['server', 'peer', 'client'] as const) {
    const p = cfg?.signing?.profiles?.[name];
    if (!p) continue;
    policy.profiles[name] = {
      usages: p.usages ?? def?.usages,
      days: p.expiry !== undefined ? durationToDays(p.expiry, `${path}: signing.profiles.${name}.expiry`) : undefined,
    };
  }
  return policy;
}
