/**
 * Shared pieces of the SSH connector: host key checking against known_hosts, the bastion (jump host)
 * connection pool (one connection per bastion, shared by every target behind it, closed with the last user)
 * and the `--forks` limiter.
 */
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { ConnectorError } from './types.js';
import { type HostKeyVerdict, KnownHosts, fingerprintOf, hostToken, keyTypeOf } from './known_hosts.js';

/**
 * How host keys are checked: against `file` (OpenSSH known_hosts, plain and hashed entries). An unknown key
 * is refused unless `acceptNew` (`--accept-new-host-keys`), which records it (hashed when `hashNew`). A changed
 * key is always refused. One instance is shared by all connectors of a run (the file is read once, writes are
 * serialized).
 */
export class HostKeyCheck {
  private kh?: Promise<KnownHosts>;
  private writes: Promise<void> = Promise.resolve();

  constructor(readonly file: string, readonly acceptNew = false, readonly hashNew = false) {}

  /** The parsed file (read once). */
  known(): Promise<KnownHosts> {
    this.kh ??= KnownHosts.load(this.file);
    return this.kh;
  }

  /** Records an accepted unknown key (no-op when it is known by now). Throws Error when the file cannot be written. */
  record(address: string, port: number, key: Buffer): Promise<void> {
    const next = this.writes.then(async () => {
      const kh = await this.known();
      if (kh.verify(address, port, key).kind === 'unknown') await kh.add(address, port, key, this.hashNew);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }
}

/**
 * The ssh2 connect options that verify the server key of `address`:`port`; `onVerdict` receives the verdict
 * and the presented key blob (before ssh2 accepts or rejects the handshake).
 */
export async function hostKeyOptions(check: HostKeyCheck, address: string, port: number,
  onVerdict: (v: HostKeyVerdict, key: Buffer) => void): Promise<{ hostVerifier: (key: Buffer) => boolean }> {
  const kh = await check.known();
  return {
    hostVerifier: (key: Buffer) => {
      const v = kh.verify(address, port, key);
      onVerdict(v, key);
      return v.kind === 'match' || (v.kind === 'unknown' && check.acceptNew);
    },
  };
}

/** A bastion: where the first connection goes. */
export interface JumpTarget {
  address: string;
  port: number;
  user: string;
  /** Key file; undefined = the SSH agent. */
  privateKey?: string;
  useAgent?: boolean;
}

/** A share of a bastion connection. */
export interface JumpLease {
  /** Opens a TCP channel from the bastion to `address`:`port` (ssh2 `forwardOut`). */
  forward(address: string, port: number): Promise<Duplex>;
  /** Gives the share back; the connection closes with the last one. */
  release(): void;
}

const pool = new Map<string, { ssh: Promise<NodeSSH>; refs: number }>();

function describeJump(j: JumpTarget): string {
  return `bastion ${j.user}@${hostToken(j.address, j.port)}`;
}

async function openJump(j: JumpTarget, hostKeys: HostKeyCheck | undefined, timeoutMs: number): Promise<NodeSSH> {
  const ssh = new NodeSSH();
  let seen: { v: HostKeyVerdict; key: Buffer } | undefined;
  const check = hostKeys ? await hostKeyOptions(hostKeys, j.address, j.port, (v, key) => { seen = { v, key }; }) : {};
  const agent = process.env.SSH_AUTH_SOCK;
  try {
    await ssh.connect({
      host: j.address, port: j.port, username: j.user,
      ...(j.privateKey ? { privateKeyPath: j.privateKey } : {}),
      ...(!j.privateKey || j.useAgent ? (agent ? { agent } : {}) : {}),
      readyTimeout: timeoutMs, keepaliveInterval: 10_000, ...check,
    });
  } catch (e) {
    ssh.dispose();
    const name = describeJump(j);
    const msg = (e as Error).message;
    if (seen && seen.v.kind !== 'match' && /verification failed|Host denied/i.test(msg)) {
      const token = hostToken(j.address, j.port);
      const presented = `${keyTypeOf(seen.key)} ${fingerprintOf(seen.key)}`;
      if (seen.v.kind === 'changed') {
        throw new ConnectorError(name, `HOST KEY CHANGED for ${token}: presented ${presented}, expected ${seen.v.known.map((k) => `${k.keyType} ${k.fingerprint}`).join(', ')}; refusing to connect`,
          `verify the new fingerprint out of band, then: ssh-keygen -f ${hostKeys!.file} -R '${token}'`);
      }
      throw new ConnectorError(name, `host key of ${token} is not in ${hostKeys!.file} (presented ${presented})`,
        'verify the fingerprint out of band, then rerun with --accept-new-host-keys');
    }
    throw new ConnectorError(name, `cannot connect: ${msg}`, 'check ssh.jump-host in the inventory and that the bastion is reachable');
  }
  if (seen?.v.kind === 'unknown' && hostKeys?.acceptNew) await hostKeys.record(j.address, j.port, seen.key);
  return ssh;
}

/**
 * A share of the (pooled) connection to bastion `j`. Throws ConnectorError naming the bastion when it
 * cannot be reached, authenticates no key, or presents a host key that is not pinned.
 */
export async function acquireJump(j: JumpTarget, hostKeys: HostKeyCheck | undefined, timeoutMs: number): Promise<JumpLease> {
  const key = `${j.user}@${j.address}:${j.port}:${j.privateKey ?? 'agent'}`;
  let e = pool.get(key);
  if (!e) {
    e = { ssh: openJump(j, hostKeys, timeoutMs), refs: 0 };
    pool.set(key, e);
    e.ssh.catch(() => { if (pool.get(key) === e) pool.delete(key); });
  }
  const entry = e;
  entry.refs++;
  let ssh: NodeSSH;
  try {
    ssh = await entry.ssh;
  } catch (err) {
    entry.refs--;
    throw err;
  }
  let released = false;
  return {
    forward: (address, port) => new Promise<Duplex>((resolve, reject) => {
      ssh.connection!.forwardOut('127.0.0.1', 0, address, port, (err: Error | undefined, stream: Duplex) => (err ? reject(err) : resolve(stream)));
    }),
    release: () => {
      if (released) return;
      released = true;
      if (--entry.refs <= 0 && pool.get(key) === entry) {
        pool.delete(key);
        ssh.dispose();
      }
    },
  };
}

/** Number of pooled bastion connections (tests). */
export function jumpPoolSize(): number {
  return pool.size;
}

/** At most `forks` SSH operations (connects, commands, uploads) at once across the connectors sharing it. */
export class SshLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Highest concurrency seen (tests). */
  peak = 0;

  constructor(readonly forks: number) {
    if (!Number.isInteger(forks) || forks < 1) throw new Error(`--forks must be a positive integer, got ${forks}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing operation hands its slot straight to the first waiter, so `active` never exceeds `forks`.
    if (this.active >= this.forks) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); else this.active--;
    }
  }
}
