/**
 * The peer transport across certificate hot reloads (transport.ts + tls_reload.ts) over mutual TLS on loopback
 * ports 27900-27909: the sender's peer certificate is replaced several times while numbered messages stream,
 * some with batches still unacknowledged; one reload is followed by a half-written rotation (new key file, old
 * certificate) on disk. Every message must arrive once, in order, without the peer ever being reported
 * unreachable, and the receiver must see new TLS connections presenting each new certificate (the sender redials
 * with the material the reloader validated, never with a half-written pair read straight from disk).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { MessageType, type Message } from '../../../store/raft/types.js';
import type { TlsConfig } from '../../../store/server/config.js';
import { Logger } from '../../../store/server/log.js';
import { Transport, type TransportHandler } from '../../../store/server/transport.js';
import { type Ca, ensureCa, issueCert, joinPemBundle } from '../../../toolkit/pki/index.js';

const CLUSTER = 0x5eedn;
const A = 0xan;
const B = 0xbn;
const PORT_A = 27900;
const PORT_B = 27901;
const url = (port: number) => `https://127.0.0.1:${port}`;
const quiet = new Logger('error', 'test', () => undefined);
const base = mkdtempSync(join(tmpdir(), 'transport-tls-'));
const open: Transport[] = [];
let ca1: Ca;
let ca2: Ca;

function put(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

function tlsFor(name: string): TlsConfig {
  const dir = join(base, name);
  return { certFile: join(dir, 'peer.pem'), keyFile: join(dir, 'peer-key.pem'), trustedCaFile: join(dir, 'ca.pem'), clientCertAuth: true };
}

interface Pair { serial: string; keyPem: string; certPem: string }

async function issuePeer(name: string, ca: Ca): Promise<Pair> {
  return issueCert(ca, { name: 'peer', cn: name, hosts: ['127.0.0.1', 'localhost'], profile: 'peer' }, 1);
}

/** Installs a peer key and certificate for `name` (key first, then cert, as the rotation tool does). */
function install(name: string, c: Pair, opts: { keyOnly?: boolean } = {}): string {
  const t = tlsFor(name);
  put(t.keyFile, c.keyPem);
  if (!opts.keyOnly) put(t.certFile, c.certPem);
  return c.serial;
}

function msg(i: number): Message {
  return {
    type: MessageType.App, from: A, to: B, term: 1, logTerm: 1, index: i, commit: 0, reject: false, rejectHint: 0,
    context: new Uint8Array(0), entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array(64).fill(i & 0xff) }],
  } as Message;
}

function transport(self: bigint, peerPort: number, handler: Partial<TransportHandler>): Transport {
  const peer = self === A ? B : A;
  const t = new Transport({
    selfId: self, clusterId: CLUSTER, peers: new Map([[peer, [url(peerPort)]]]), tls: tlsFor(self === A ? 'a' : 'b'), log: quiet,
    handler: { onMessages: () => undefined, onUnreachable: () => undefined, memberInfo: () => ({ name: 'x', clientUrls: [] }), ...handler },
  });
  open.push(t);
  return t;
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Normalised serial (hex, no leading zeros, upper case) for comparing issueCert's and node:tls's spellings. */
const serialKey = (s: string) => s.replace(/^0+/, '').toUpperCase();

before(async () => {
  ca1 = await ensureCa(join(base, 'ca1'), { days: 2 });
  ca2 = await ensureCa(join(base, 'ca2'), { days: 2, cn: 'transport test CA 2' });
  for (const n of ['a', 'b']) {
    mkdirSync(join(base, n), { recursive: true });
    put(tlsFor(n).trustedCaFile, joinPemBundle([ca1.certPem, ca2.certPem]));
    install(n, await issuePeer(n, ca1));
  }
});

after(async () => {
  for (const t of open) await t.close();
});

describe('peer transport across certificate reloads', () => {
  it('loses no message and redials with each validated certificate, even with a half-written rotation on disk', async () => {
    const got: number[] = [];
    let unreachable = 0;
    const a = transport(A, PORT_B, { onUnreachable: () => unreachable++ });
    await a.listen([url(PORT_A)]);
    const b = transport(B, PORT_A, { onMessages: (ms) => { for (const m of ms) got.push(m.index); } });
    await b.listen([url(PORT_B)]);
    // the serials A presents on the connections B accepts (one per dial)
    const seen: string[] = [];
    const listener = (b as unknown as { tlsListeners: { server: import('node:tls').Server }[] }).tlsListeners[0]!.server;
    listener.on('secureConnection', (s: TLSSocket) => seen.push(serialKey(s.getPeerCertificate().serialNumber ?? '')));

    let next = 0;
    const sendSome = async (n: number) => {
      for (let i = 0; i < n; i++) {
        a.send([msg(next++)]);
        if (i % 25 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await sendSome(200);
    await until('the first messages', () => got.length >= 100);
    const reloader = a.peerTlsReloader()!;
    const installed: string[] = [];
    for (let round = 0; round < 4; round++) {
      const pair = await issuePeer('a', round % 2 === 0 ? ca2 : ca1);
      if (round === 2) {
        // nothing in flight, then a reload immediately followed by a rotation caught halfway (new key, old
        // cert): the sender's next dial must use the pair the reloader validated, not the files on disk
        await until('an idle stream', () => got.length >= next);
        await new Promise((r) => setTimeout(r, 200));
        const half = await issuePeer('a', ca2);
        install('a', pair);
        assert.equal(reloader.check(), true, `round ${round}: the new certificate is applied`);
        install('a', half, { keyOnly: true });
        assert.equal(reloader.check(), false, 'a half-written rotation is not applied');
        installed.push(serialKey(pair.serial));
        await sendSome(300);
      } else {
        // rotate while batches are in flight: the sender switches connections only between batches
        install('a', pair);
        await sendSome(150);
        assert.equal(reloader.check(), true, `round ${round}: the new certificate is applied`);
        installed.push(serialKey(pair.serial));
        await sendSome(150);
      }
      await until(`round ${round}: a connection with the new certificate`, () => seen.includes(installed[round]!));
    }
    await until('every message', () => got.length >= next);
    assert.deepEqual(got, Array.from({ length: next }, (_, i) => i), 'every message once, in send order');
    assert.equal(unreachable, 0, 'the peer was never reported unreachable');
    assert.deepEqual(installed.filter((s) => !seen.includes(s)), [], 'each reloaded certificate was presented on a new connection');
  });
});
