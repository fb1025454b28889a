/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): one key per line,
 * `[marker] hostpatterns keytype base64-key [comment]`. Host patterns are comma-separated names, `[host]:port`
 * for a non-default port, or one hashed entry `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`. `@revoked`
 * keys are always refused; `@cert-authority` lines are skipped (certificates are not supported). Wildcard
 * patterns (`*`, `?`) and negations (`!`) are honoured for plain entries.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** One usable line. */
interface Entry {
  marker?: 'revoked' | 'cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
  line: number;
}

/** The verdict on a presented host key. */
export type HostKeyVerdict =
  | { kind: 'match'; line: number }
  | { kind: 'unknown' }
  | { kind: 'changed'; known: { keyType: string; fingerprint: string; line: number }[] }
  | { kind: 'revoked'; line: number };

/** `SHA256:<unpadded base64>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, `rsa-sha2-512` keys say `ssh-rsa`). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return n > 0 && n < 64 && key.length >= 4 + n ? key.subarray(4, 4 + n).toString('ascii') : 'unknown';
}

/** The name a host is looked up by: `host` on port 22, `[host]:port` otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(s);
}

/** Whether a host-pattern field matches `token` (hashed or plain, with negations). */
function patternsMatch(patterns: string, token: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
    return mac === hash;
  }
  let hit = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) { if (globMatch(p.slice(1), token)) return false; } else if (globMatch(p, token)) hit = true;
  }
  return hit;
}

/** A parsed known_hosts file. */
export class KnownHosts {
  private constructor(readonly file: string, private readonly entries: Entry[]) {}

  /** Reads `file`; a missing file is an empty one. Throws Error on other read errors. Bad lines are skipped. */
  static async load(file: string): Promise<KnownHosts> {
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read known_hosts ${file}: ${(e as Error).message}`);
    }
    return KnownHosts.parse(file, text);
  }

  /** Parses known_hosts text (`file` only names it in messages). */
  static parse(file: string, text: string): KnownHosts {
    const entries: Entry[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const f = line.split(/\s+/);
      let marker: Entry['marker'];
      if (f[0] === '@revoked' || f[0] === '@cert-authority') marker = f.shift()!.slice(1) as Entry['marker'];
      const [patterns, keyType, b64] = f;
      if (!patterns || !keyType || !b64) return;
      entries.push({ ...(marker ? { marker } : {}), patterns, keyType, key: Buffer.from(b64, 'base64'), line: i + 1 });
    });
    return new KnownHosts(file, entries);
  }

  /**
   * The verdict for `key` presented by `host`:`port`: `match` when a line for the host has this key,
   * `revoked` when the key is marked @revoked, `changed` when the host is known with other keys only,
   * `unknown` when no line names the host. (Like OpenSSH, keys of another type still count as "known":
   * a host that used to present ed25519 and now presents rsa is refused as changed.)
   */
  verify(host: string, port: number, key: Buffer): HostKeyVerdict {
    const tokens = [hostToken(host, port)];
    const mine = this.entries.filter((e) => e.marker !== 'cert-authority' && tokens.some((t) => patternsMatch(e.patterns, t)));
    const revoked = this.entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
    if (revoked) return { kind: 'revoked', line: revoked.line };
    const hit = mine.find((e) => !e.marker && e.key.equals(key));
    if (hit) return { kind: 'match', line: hit.line };
    const known = mine.filter((e) => !e.marker);
    if (!known.length) return { kind: 'unknown' };
    return { kind: 'changed', known: known.map((e) => ({ keyType: e.keyType, fingerprint: fingerprintOf(e.key), line: e.line })) };
  }

  /**
   * Appends `host`:`port` with `key` (plain, or hashed when `hashed`) to the file (created 0600 with its
   * directory 0700 when missing) and to this object. Throws Error when the file cannot be written.
   */
  async add(host: string, port: number, key: Buffer, hashed = false): Promise<void> {
    const token = hostToken(host, port);
    let patterns = token;
    if (hashed) {
      const salt = randomBytes(20);
      patterns = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(token).digest('base64')}`;
    }
    const keyType = keyTypeOf(key);
    const line = `${patterns} ${keyType} ${key.toString('base64')}\n`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      let prefix = '';
      try {
        const cur = await fs.readFile(this.file, 'utf8');
        if (cur.length && !cur.endsWith('\n')) prefix = '\n';
      } catch { /* new file */ }
      await fs.appendFile(this.file, prefix + line, { mode: 0o600 });
    } catch (e) {
      throw new Error(`cannot record the host key of ${token} in ${this.file}: ${(e as Error).message}`);
    }
    this.entries.push({ patterns, keyType, key, line: this.entries.length + 1 });
  }
}
