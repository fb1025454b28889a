import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { AuthorityFixStream, fixAuthority } from '../../../store/server/authority_fix.js';
import { HpackDecoder, encodeLiteralBlock, huffmanDecode } from '../../../store/server/hpack.js';

test('HPACK: RFC 7541 C.4.1 request with Huffman-coded :authority', () => {
  const block = Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex');
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(block), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
  // C.4.2: the second request refers to the dynamic table entry the first one added (index 62)
  assert.deepEqual(d.decode(Buffer.from('828684be5886a8eb10649cbf', 'hex')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
  ]);
  assert.throws(() => huffmanDecode(Buffer.from([0x00])), /bad Huffman padding/);
});

test('HPACK: literal encoding round-trips through the decoder', () => {
  const h: [string, string][] = [[':authority', '127.0.0.1:2379'], ['te', 'trailers'], ['x-long', 'v'.repeat(300)]];
  assert.deepEqual(new HpackDecoder().decode(encodeLiteralBlock(h)), h);
});

test('fixAuthority strips a URL scheme only', () => {
  assert.equal(fixAuthority('http://127.0.0.1:2379'), '127.0.0.1:2379');
  assert.equal(fixAuthority('https://[::1]:2379/'), '[::1]:2379');
  assert.equal(fixAuthority('10.0.0.1:2379'), '10.0.0.1:2379');
});

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function roundTrips(wrap: boolean): Promise<{ ok: number; failed: number }> {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'x-seen-authority': String(headers[':authority']), 'x-echo': String(headers['x-value']) });
    stream.end();
  });
  const tcp = net.createServer((sock) => h2.emit('connection', wrap ? new AuthorityFixStream(sock) : sock));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as net.AddressInfo).port;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const rnd = seeded(42);
  let ok = 0;
  let failed = 0;
  for (let i = 0; i < 20; i++) {
    // printable ASCII values of varying length: exercises Huffman coding and the dynamic table
    const value = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => String.fromCharCode(0x20 + Math.floor(rnd() * 95))).join('').trim() || 'x';
    const res = await new Promise<http2.IncomingHttpHeaders | undefined>((resolve) => {
      const req = session.request({ ':path': '/etcdserverpb.Maintenance/Status', ':authority': `http://127.0.0.1:${port}`, 'x-value': value });
      req.on('response', (h) => resolve(h));
      req.on('error', () => resolve(undefined));
      req.end();
      req.resume();
    });
    if (res && res['x-seen-authority'] === `127.0.0.1:${port}` && res['x-echo'] === value) ok++;
    else failed++;
  }
  session.destroy();
  tcp.close();
  h2.close();
  return { ok, failed };
}

test('AuthorityFixStream lets URL-shaped :authority requests (etcdctl 3.4 passthrough) through to Node HTTP/2', async () => {
  assert.deepEqual(await roundTrips(true), { ok: 20, failed: 0 });
});

test('without the shim Node HTTP/2 refuses them (the shim is what makes them work)', async () => {
  const r = await roundTrips(false);
  assert.equal(r.ok, 0);
});
