/** RSA key generation and key/certificate matching. */
import forge from 'node-forge';

/**
 * Generate an RSA key pair asynchronously. node-forge delegates to Node's native
 * `crypto.generateKeyPair` when given a callback (no workers, does not block the event loop).
 * @param bits modulus size (default 2048).
 */
export function generateRsaKeyPair(bits = 2048): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, pair) => (err ? reject(err) : resolve(pair)));
  });
}

/** True when `key` is the private half of the certificate's public key. */
export function keyMatchesCert(key: forge.pki.rsa.PrivateKey, cert: forge.pki.Certificate): boolean {
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  return pub.n !== undefined && pub.n.equals(key.n) && pub.e.equals(key.e);
}

/** A random positive 128-bit serial (hex), first byte in 0x40..0x7f so DER needs no padding. */
export function randomSerial(): string {
  const b = forge.random.getBytesSync(16);
  const first = (b.charCodeAt(0) & 0x3f) | 0x40;
  return forge.util.bytesToHex(String.fromCharCode(first) + b.slice(1));
}
