/**
 * grpc-js passes the target host as the TLS ServerName, and Node warns (DEP0123, RFC 6066) when that is an
 * IP address, as it always is for members addressed by IP. The certificate is still verified against the
 * IP SAN, so the warning is noise on every CLI run; this drops exactly that warning and no other.
 * Imported for its side effect by store/client.
 */
const original = process.emitWarning.bind(process) as (...args: unknown[]) => void;
let installed = false;

/** Installs the filter once per process. */
export function quietIpServerNameWarning(): void {
  if (installed) return;
  installed = true;
  (process as { emitWarning: (...args: unknown[]) => void }).emitWarning = (warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    original(warning, ...rest);
  };
}

quietIpServerNameWarning();
