/**
 * The client port's HTTP/2 connection hand-off (store/server/h2_handoff.ts) with real clients: Node's HTTP/2
 * client, etcdctl 3.4 (grpc-go), and raw node:net clients that behave like grpc-go (wait for the server's
 * SETTINGS), send a PING first, or stay silent. Each connection is served by a real Node HTTP/2 server; the test
 * records which route the hand-off chose (the native socket or the AuthorityFixStream wrapper). Ports 39010-39012.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { AuthorityFixStream } from '../../../store/server/authority_fix.js';
import { sniffConnection } from '../../../store/server/gateway_sniff.js';
import { FLAG, FRAME, encodeFrame, readFrame, type H2Frame } from '../../../store/server/h2_frame.js';
import { EMPTY_SETTINGS, handOffH2 } from '../../../store/server/h2_handoff.js';
import { HpackDecoder, encodeLiteralBlock } from '../../../store/server/hpack.js';

const PORT = 39010;
const TLS_PORT = 39011;
const ETCDCTL_PORT = 39012;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const IDLE_MS = 300;

type Route = 'native' | 'wrapped';
const routes: Route[] = [];
const http1: Buffer[] = [];
const servers: net.Server[] = [];
let ca: Buffer;

/**
 * A Node HTTP/2 server answering every request with 200 and the :authority it saw; gRPC requests get one message
 * with an empty field 1 (an etcd response with an empty `header`, every other field at its default).
 */
function h2Server(): http2.Http2Server {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    stream.respond({ ':status': 200, 'x-seen-authority': String(headers[':authority']), ...(grpc ? { 'content-type': 'application/grpc' } : {}) }, { waitForTrailers: grpc });
    if (grpc) stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.resume();
    stream.on('end', () => stream.end(grpc ? Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]) : undefined));
  });
  return h2;
}

function route(h2: http2.Http2Server, sock: net.Socket): void {
  sniffConnection(sock, (s) => handOffH2(s, (c) => {
    routes.push(c instanceof AuthorityFixStream ? 'wrapped' : 'native');
    h2.emit('connection', c);
  }, { idleMs: IDLE_MS }), (s) => {
    s.on('data', (d: Buffer) => {
      http1.push(d);
      s.end();
    });
  });
}

async function listen(srv: net.Server, port: number): Promise<void> {
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  servers.push(srv);
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'h1-handoff-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  ca = readFileSync(join(dir, 'cert.pem'));
  const h2 = h2Server();
  await listen(net.createServer((s) => route(h2, s)), PORT);
  await listen(net.createServer((s) => route(h2, s)), ETCDCTL_PORT);
  await listen(tls.createServer({ cert: ca, key: readFileSync(join(dir, 'key.pem')), ALPNProtocols: ['h2', 'http/1.1'] }, (s) => route(h2, s)), TLS_PORT);
});

after(() => {
  for (const s of servers) s.close();
});

/** `n` requests over one Node HTTP/2 client session; returns the :authority values the server saw. */
async function nodeClient(url: string, authority: string | undefined, n: number, opts: http2.SecureClientSessionOptions = {}): Promise<string[]> {
  const session = http2.connect(url, opts);
  session.on('error', () => {});
  const seen: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      seen.push(await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Range', ...(authority ? { ':authority': authority } : {}) });
        req.on('response', (h) => resolve(String(h['x-seen-authority'])));
        req.on('error', reject);
        req.end('x');
        req.resume();
      }));
    }
  } finally {
    session.destroy();
  }
  return seen;
}

/** A raw HTTP/2 client on node:net: frames in, frames out. */
class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => {});
  }
  static async connect(port: number): Promise<RawClient> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return new RawClient(s);
  }
  send(...frames: Buffer[]): void {
    this.sock.write(Buffer.concat(frames));
  }
  /** The next frame from the server (fails after 5 s or when the connection closes). */
  async frame(): Promise<H2Frame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const f = readFrame(this.buf);
      if (f) {
        this.buf = this.buf.subarray(f.raw.length);
        return f;
      }
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no frame within 5 s');
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 100);
      });
    }
  }
  /** Read frames until the response HEADERS of `stream`, ACKing server SETTINGS and failing on GOAWAY; returns its headers. */
  async response(stream: number, decoder: HpackDecoder): Promise<Map<string, string>> {
    for (;;) {
      const f = await this.frame();
      if (f.type === 0x7) throw new Error(`GOAWAY error code ${f.payload.readUInt32BE(4)}`);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) this.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0));
      if (f.type === FRAME.HEADERS && f.stream === stream) return new Map(decoder.decode(f.payload));
    }
  }
}

const clientSettings = () => encodeFrame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 0x2, 0, 0, 0, 0])); // ENABLE_PUSH = 0
const request = (stream: number, authority: string) => encodeFrame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream,
  encodeLiteralBlock([[':method', 'POST'], [':scheme', 'http'], [':path', '/etcdserverpb.KV/Range'], [':authority', authority]]));

test('a client with a plain :authority ends up on the native socket', { timeout: 20_000 }, async () => {
  routes.length = 0;
  assert.deepEqual(await nodeClient(`http://127.0.0.1:${PORT}`, undefined, 5), Array(5).fill(`127.0.0.1:${PORT}`));
  assert.deepEqual(routes, ['native']);
});

test('a URL-shaped :authority (etcdctl 3.4 passthrough) goes through the wrapper and is served, scheme stripped', { timeout: 20_000 }, async () => {
  routes.length = 0;
  assert.deepEqual(await nodeClient(`http://127.0.0.1:${PORT}`, `http://127.0.0.1:${PORT}`, 5), Array(5).fill(`127.0.0.1:${PORT}`));
  assert.deepEqual(routes, ['wrapped']);
});

test('TLS with ALPN h2: plain :authority native, URL-shaped wrapped', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const url = `https://127.0.0.1:${TLS_PORT}`;
  assert.deepEqual(await nodeClient(url, undefined, 3, { ca }), Array(3).fill(`127.0.0.1:${TLS_PORT}`));
  assert.deepEqual(await nodeClient(url, url, 3, { ca }), Array(3).fill(`127.0.0.1:${TLS_PORT}`));
  assert.deepEqual(routes, ['native', 'wrapped']);
});

test('a client that waits for the server SETTINGS (grpc-go) gets an empty SETTINGS frame and is served natively', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(PREFACE, clientSettings());
  const first = await c.frame(); // nothing else was sent: this frame comes before any request
  assert.deepEqual(first.raw, EMPTY_SETTINGS);
  c.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0), request(1, `127.0.0.1:${PORT}`));
  const decoder = new HpackDecoder();
  const h = await c.response(1, decoder);
  assert.equal(h.get(':status'), '200');
  assert.equal(h.get('x-seen-authority'), `127.0.0.1:${PORT}`);
  // a second request on the same connection: the session accepted both SETTINGS ACKs' remains without error
  c.send(request(3, `127.0.0.1:${PORT}`));
  assert.equal((await c.response(3, decoder)).get(':status'), '200');
  c.sock.destroy();
  assert.deepEqual(routes, ['native']);
});

test('a grpc-go style client with a URL-shaped :authority is rewritten and served', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(PREFACE, clientSettings());
  assert.deepEqual((await c.frame()).raw, EMPTY_SETTINGS);
  c.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0), request(1, `http://127.0.0.1:${PORT}`));
  const decoder = new HpackDecoder();
  assert.equal((await c.response(1, decoder)).get('x-seen-authority'), `127.0.0.1:${PORT}`);
  c.send(request(3, `http://127.0.0.1:${PORT}`));
  assert.equal((await c.response(3, decoder)).get('x-seen-authority'), `127.0.0.1:${PORT}`);
  c.sock.destroy();
  assert.deepEqual(routes, ['wrapped']);
});

test('a PING before the first request falls back to the wrapper, which still drops the ACK of the empty SETTINGS', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(PREFACE, clientSettings(), encodeFrame(FRAME.PING, 0, 0, Buffer.from('12345678')));
  const decoder = new HpackDecoder();
  let pong: H2Frame | undefined;
  let settings = 0;
  while (!pong) {
    const f = await c.frame();
    if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) settings++;
    if (f.type === FRAME.PING && f.flags & FLAG.ACK) pong = f;
  }
  assert.equal(pong.payload.toString(), '12345678');
  assert.deepEqual(routes, ['wrapped']);
  // ACK both server SETTINGS frames seen so far (ours and nghttp2's), then a request
  for (let i = 0; i < settings; i++) c.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0));
  c.send(request(1, `127.0.0.1:${PORT}`));
  assert.equal((await c.response(1, decoder)).get(':status'), '200');
  c.send(request(3, `127.0.0.1:${PORT}`));
  assert.equal((await c.response(3, decoder)).get(':status'), '200');
  c.sock.destroy();
});

test('a client silent after its SETTINGS falls back to the wrapper after the idle time and is served later', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(PREFACE, clientSettings());
  assert.deepEqual((await c.frame()).raw, EMPTY_SETTINGS);
  const nghttp2Settings = await c.frame(); // sent by Node's session once the hand-off gave up waiting
  assert.equal(nghttp2Settings.type, FRAME.SETTINGS);
  assert.deepEqual(routes, ['wrapped']);
  c.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0), encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0), request(1, `127.0.0.1:${PORT}`));
  assert.equal((await c.response(1, new HpackDecoder())).get(':status'), '200');
  c.sock.destroy();
});

test('a connection closed while being read is destroyed without a hand-off', { timeout: 20_000 }, async () => {
  routes.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(PREFACE, clientSettings());
  assert.deepEqual((await c.frame()).raw, EMPTY_SETTINGS);
  c.sock.end();
  await new Promise((r) => c.sock.once('close', r));
  await new Promise((r) => setTimeout(r, IDLE_MS * 2)); // past the idle timer: it must not fire a hand-off
  assert.deepEqual(routes, []);
  const open = () => new Promise<number>((r) => servers[0].getConnections((_e, n) => r(n)));
  for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await open(), 0);
});

test('an HTTP/1.1 connection gets nothing written before the gateway sees its bytes', { timeout: 20_000 }, async () => {
  routes.length = 0;
  http1.length = 0;
  const c = await RawClient.connect(PORT);
  c.send(Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
  await new Promise((r) => c.sock.once('close', r));
  assert.equal(Buffer.concat(http1).toString(), 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(c.sock.bytesRead, 0);
  assert.deepEqual(routes, []);
});

test('etcdctl 3.4: endpoint status (URL-shaped :authority) is wrapped, get is native', { timeout: 60_000 }, async () => {
  // asynchronous: the servers run in this process
  const ctl = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('etcdctl', ['--endpoints', `http://127.0.0.1:${ETCDCTL_PORT}`, '--command-timeout', '10s', ...args],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
      (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }));
  });
  routes.length = 0;
  const st = await ctl(['endpoint', 'status']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`^http://127.0.0.1:${ETCDCTL_PORT}, 0, `));
  assert.ok(routes.includes('wrapped'), `routes ${routes.join(',')}`);
  routes.length = 0;
  const g = await ctl(['get', 'k']);
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual(routes, ['native']);
});
