/**
 * A loopback SSH server for connector tests, built on ssh2's own Server (installed with node-ssh): public
 * key auth for one user, exec runs `/bin/sh -c` here with a fake `sudo` first on PATH, and `direct-tcpip`
 * channels are forwarded (so it can act as a bastion). Every executed command line is recorded.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

// ssh2 ships no TypeScript types in this tree: the few members used here, typed loosely.
/* eslint-disable @typescript-eslint/no-explicit-any */
const ssh2: any = createRequire(import.meta.url)('ssh2');

/** A key pair in OpenSSH format. */
export interface KeyPair { private: string; public: string }

/** A fresh ed25519 key pair (OpenSSH formats). */
export function newKey(): KeyPair {
  const k = ssh2.utils.generateKeyPairSync('ed25519');
  return { private: k.private, public: k.public };
}

/** The SSH wire blob of an OpenSSH public key line. */
export function publicBlob(pub: string): Buffer {
  return Buffer.from(pub.trim().split(/\s+/)[1]!, 'base64');
}

/** A scratch directory removed at exit. */
export function scratch(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'quorum-sshsrv-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
}

const FAKE_SUDO = `#!/bin/sh
# Fake sudo for tests: -n fails unless FAKE_SUDO_NOPASS=1; -S reads one password line from stdin.
n=0; S=0
while [ $# -gt 0 ]; do
  case "$1" in -n) n=1; shift;; -k) shift;; -S) S=1; shift;; -p) shift 2;; *) break;; esac
done
if [ "$FAKE_SUDO_NOPASS" != 1 ]; then
  if [ $n = 1 ] || [ $S = 0 ]; then echo "sudo: a password is required" >&2; exit 1; fi
  IFS= read -r pw || { echo "sudo: no password" >&2; exit 1; }
  if [ "$pw" != "$FAKE_SUDO_PASSWORD" ]; then echo "sudo: 1 incorrect password attempt" >&2; exit 1; fi
fi
FAKE_SUDO_USED=1 exec "$@"
`;

/** Options of `startServer`. */
export interface ServerOptions {
  port: number;
  hostKey: KeyPair;
  /** The user and the public key it may log in with. */
  user: string;
  clientKey: KeyPair;
  /** Fake sudo: the password it wants, or passwordless. */
  sudoPassword?: string;
  sudoNoPassword?: boolean;
  /** Printed by `echo $SERVER_NAME` (which server ran a command). */
  name: string;
}

/** A running server. */
export interface TestServer {
  commands: string[];
  /** Raw bytes received on exec stdin (to check what sudo -S was fed). */
  stdins: Buffer[];
  /** `direct-tcpip` forwards served (as a bastion). */
  forwards: string[];
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<TestServer> {
  const bin = scratch();
  writeFileSync(path.join(bin, 'sudo'), FAKE_SUDO, { mode: 0o755 });
  const allowed = publicBlob(o.clientKey.public);
  const st: TestServer = { commands: [], stdins: [], forwards: [], connections: 0, close: async () => undefined };
  const clients = new Set<any>();
  const server = new ssh2.Server({ hostKeys: [o.hostKey.private] }, (client: any) => {
    st.connections++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx: any) => {
      if (ctx.method !== 'publickey' || ctx.username !== o.user || !Buffer.from(ctx.key.data).equals(allowed)) return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept();
      const key = ssh2.utils.parseKey(o.clientKey.public);
      return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) ? ctx.accept() : ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('tcpip', (accept: any, _reject: any, info: any) => {
        st.forwards.push(`${info.destIP}:${info.destPort}`);
        const ch = accept();
        const sock = net.connect(info.destPort, info.destIP);
        sock.on('error', () => ch.close());
        ch.on('error', () => sock.destroy());
        ch.pipe(sock).pipe(ch);
      });
      client.on('session', (acceptSession: any) => {
        const session = acceptSession();
        session.on('exec', (accept: any, _reject: any, info: any) => {
          const stream = accept();
          st.commands.push(info.command);
          const child = spawn('/bin/sh', ['-c', info.command], {
            env: {
              ...process.env, PATH: `${bin}:${process.env.PATH}`, SERVER_NAME: o.name,
              FAKE_SUDO_PASSWORD: o.sudoPassword ?? '', FAKE_SUDO_NOPASS: o.sudoNoPassword ? '1' : '0',
            },
          });
          const chunks: Buffer[] = [];
          stream.on('data', (b: Buffer) => { chunks.push(b); child.stdin.write(b); });
          stream.on('end', () => { st.stdins.push(Buffer.concat(chunks)); child.stdin.end(); });
          child.stdin.on('error', () => undefined);
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr, { end: false });
          child.on('close', (code) => { stream.exit(code ?? 255); stream.end(); });
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(o.port, '127.0.0.1', r));
  st.close = () => new Promise<void>((r) => {
    for (const c of clients) c.end();
    server.close(() => r());
  });
  return st;
}
