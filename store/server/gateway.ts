/**
 * The etcd JSON gateway on the client port (etcd 3.4 embed/serve.go + grpc-gateway v1): HTTP/1.1 requests on a
 * client listener are served here, gRPC (HTTP/2) ones by grpc-js (the listener sniffs, see gateway_sniff.ts).
 *
 * - `POST /v3/<path>` and `POST /v3beta/<path>` (the same routes): the JSON form of every etcd v3 RPC that has an
 *   HTTP mapping in etcd 3.4's rpc.proto (HashKV has none). Requests and responses follow gateway_json.ts; the
 *   call goes to the very handler the gRPC server registered (gateway_calls.ts), auth checks included, with the
 *   token taken from the `Authorization` header (or `Grpc-Metadata-Token`).
 * - Unary answers: 200 + the JSON response; a failed call: the HTTP status of its gRPC code and
 *   `{"error": msg, "message": msg, "code": N}`; an undecodable body: 400, code 3, Go's decoder message.
 * - Streams (watch, lease/keepalive, maintenance/snapshot): 200, one `{"result": ...}` per chunk, each followed by
 *   "\n"; the request body of watch and keepalive is a sequence of JSON messages; a watch outlives the end of the
 *   request body (as etcd's), a keepalive stream ends with it. A failing stream ends with
 *   `{"error": {"grpc_code", "http_code", "message", "http_status"}}`.
 * - `GET /version` ({"etcdserver": SERVER_VERSION, "etcdcluster": "3.4.0"}), `GET /health` ({"health":"true"}
 *   or 503 {"health":"false"}: no alarm, a leader, a linearizable read within 1 s), `GET /metrics`.
 * - Anything else as etcd 3.4 answers: `/v3alpha/...` and other paths 404 "404 page not found", an unknown
 *   `/v3/...` path 404 "Not Found", a known path with another method 405; every answer carries etcd's CORS headers.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as grpc from '@grpc/grpc-js';
import { type CallError, type HandlerRegistry, type MethodEntry, callUnary, startStream, type GatewayCall } from './gateway_calls.js';
import { GatewayDecodeError, JsonReader, type JsonValue, messageFromJson, messageToJson } from './gateway_json.js';
import type { Metrics } from './metrics.js';
import type { QuorumNode } from './node.js';
import { SERVER_VERSION } from './version.js';

/** The cluster version /version reports (etcd 3.4's "etcdcluster"). */
export const CLUSTER_VERSION = '3.4.0';

/** Gateway routes under /v3/ (and /v3beta/) -> gRPC method paths, as etcd 3.4's rpc.proto annotations. */
export const GATEWAY_ROUTES: Readonly<Record<string, string>> = {
  'kv/range': '/etcdserverpb.KV/Range',
  'kv/put': '/etcdserverpb.KV/Put',
  'kv/deleterange': '/etcdserverpb.KV/DeleteRange',
  'kv/txn': '/etcdserverpb.KV/Txn',
  'kv/compaction': '/etcdserverpb.KV/Compact',
  watch: '/etcdserverpb.Watch/Watch',
  'lease/grant': '/etcdserverpb.Lease/LeaseGrant',
  'lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  'kv/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  'lease/keepalive': '/etcdserverpb.Lease/LeaseKeepAlive',
  'lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  'kv/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  'lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  'kv/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  'cluster/member/add': '/etcdserverpb.Cluster/MemberAdd',
  'cluster/member/remove': '/etcdserverpb.Cluster/MemberRemove',
  'cluster/member/update': '/etcdserverpb.Cluster/MemberUpdate',
  'cluster/member/list': '/etcdserverpb.Cluster/MemberList',
  'cluster/member/promote': '/etcdserverpb.Cluster/MemberPromote',
  'maintenance/alarm': '/etcdserverpb.Maintenance/Alarm',
  'maintenance/status': '/etcdserverpb.Maintenance/Status',
  'maintenance/defragment': '/etcdserverpb.Maintenance/Defragment',
  'maintenance/hash': '/etcdserverpb.Maintenance/Hash',
  'maintenance/snapshot': '/etcdserverpb.Maintenance/Snapshot',
  'maintenance/transfer-leadership': '/etcdserverpb.Maintenance/MoveLeader',
  'auth/enable': '/etcdserverpb.Auth/AuthEnable',
  'auth/disable': '/etcdserverpb.Auth/AuthDisable',
  'auth/authenticate': '/etcdserverpb.Auth/Authenticate',
  'auth/user/add': '/etcdserverpb.Auth/UserAdd',
  'auth/user/get': '/etcdserverpb.Auth/UserGet',
  'auth/user/list': '/etcdserverpb.Auth/UserList',
  'auth/user/delete': '/etcdserverpb.Auth/UserDelete',
  'auth/user/changepw': '/etcdserverpb.Auth/UserChangePassword',
  'auth/user/grant': '/etcdserverpb.Auth/UserGrantRole',
  'auth/user/revoke': '/etcdserverpb.Auth/UserRevokeRole',
  'auth/role/add': '/etcdserverpb.Auth/RoleAdd',
  'auth/role/get': '/etcdserverpb.Auth/RoleGet',
  'auth/role/list': '/etcdserverpb.Auth/RoleList',
  'auth/role/delete': '/etcdserverpb.Auth/RoleDelete',
  'auth/role/grant': '/etcdserverpb.Auth/RoleGrantPermission',
  'auth/role/revoke': '/etcdserverpb.Auth/RoleRevokePermission',
};

/** HTTP status of a gRPC code (grpc-gateway v1 HTTPStatusFromCode, as etcd 3.4 answers). */
export function httpStatusOf(code: number): number {
  const table: Record<number, number> = {
    0: 200, 1: 408, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 412, 10: 409, 11: 400, 12: 501,
    13: 500, 14: 503, 15: 500, 16: 401,
  };
  return table[code] ?? 500;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
};

/** Upper bound of a buffered unary request body, bytes (beyond it the connection is dropped). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

function typeOf(e: MethodEntry, side: 'request' | 'response'): string {
  const d = e.def as unknown as { requestType?: { type?: { name?: string } }; responseType?: { type?: { name?: string } } };
  const t = side === 'request' ? d.requestType : d.responseType;
  // proto-loader's MethodDefinition carries the message descriptors; map its short name to the full name
  const name = t?.type?.name;
  if (!name) throw new Error(`gateway: no ${side} type for ${e.def.path}`);
  return `etcdserverpb.${name}`;
}

function plainError(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(`${text}\n`);
}

function errorBody(err: CallError): string {
  return JSON.stringify({ error: err.message, message: err.message, code: err.code });
}

/** A failed call (the handler answered an error): status from the code, etcd's body, the gRPC trailer. */
function callFailed(res: ServerResponse, err: CallError): void {
  res.writeHead(httpStatusOf(err.code), { ...CORS, 'Content-Type': 'application/json', Trailer: 'Grpc-Trailer-Content-Type' });
  res.write(errorBody(err));
  res.addTrailers({ 'Grpc-Trailer-Content-Type': 'application/grpc' });
  res.end();
}

/** A request that never reached a handler (undecodable body): code `code` (3 for unary, 2 for a stream's first message). */
function requestFailed(res: ServerResponse, message: string, code: number): void {
  const body = errorBody({ code, message });
  res.writeHead(httpStatusOf(code), { ...CORS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function metadataOf(req: IncomingMessage): grpc.Metadata {
  const md = new grpc.Metadata();
  const auth = req.headers.authorization;
  if (auth !== undefined) md.set('authorization', auth);
  for (const [k, v] of Object.entries(req.headers)) {
    if (!k.startsWith('grpc-metadata-') || v === undefined) continue;
    const key = k.slice('grpc-metadata-'.length);
    if (key.length === 0 || key.endsWith('-bin')) continue;
    for (const x of Array.isArray(v) ? v : [v]) md.add(key, x);
  }
  return md;
}

function peerOf(req: IncomingMessage): string {
  const s = req.socket as { remoteAddress?: string; remotePort?: number } | undefined;
  return s?.remoteAddress ? `ipv4:${s.remoteAddress}:${s.remotePort ?? 0}` : 'gateway';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const dec = new StringDecoder('utf8');
    let text = '';
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error('request body too large'));
        return;
      }
      text += dec.write(d);
    });
    req.on('end', () => resolve(text + dec.end()));
    req.on('error', reject);
  });
}

/** Decode a whole body as one request message (Go: the first JSON value; an empty body is the empty message). */
function decodeOne(e: MethodEntry, text: string): Record<string, unknown> {
  const v = new JsonReader(text).next();
  return v === undefined ? {} : messageFromJson(typeOf(e, 'request'), v);
}

/** The gateway: an HTTP/1.1 server fed with connections by the client listeners. */
export class Gateway {
  readonly http: http.Server;
  private readonly calls = new Set<GatewayCall>();
  private readonly sockets = new Set<Duplex>();
  private closed = false;

  constructor(private readonly node: QuorumNode, private readonly handlers: HandlerRegistry, private readonly metrics?: Metrics) {
    // requestTimeout 0: a watch's request body may stay open for as long as the client watches
    this.http = http.createServer({ requestTimeout: 0 }, (req, res) => this.serve(req, res));
    this.http.on('clientError', (_e, sock: Duplex) => sock.destroy());
  }

  /** Serve one HTTP/1.x connection (a socket, or any Duplex carrying the already-read first bytes). */
  accept(sock: Duplex): void {
    if (this.closed) {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    this.http.emit('connection', sock);
  }

  /** Cancel open streams and drop every connection. */
  close(): void {
    this.closed = true;
    for (const c of this.calls) c.cancel();
    this.calls.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.http.close();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'OPTIONS') {
      res.writeHead(200, { ...CORS, 'Content-Length': 0 });
      res.end();
      return;
    }
    const m = /^\/v3(?:beta)?\/(.*)$/.exec(path);
    if (m) {
      const target = GATEWAY_ROUTES[m[1]!];
      const entry = target ? this.handlers.get(target) : undefined;
      if (!entry) return plainError(res, 404, 'Not Found');
      if (req.method !== 'POST') return plainError(res, 405, 'Method Not Allowed');
      this.rpc(entry, req, res).catch((e: Error) => {
        if (!res.headersSent) requestFailed(res, e.message, grpc.status.UNKNOWN);
        else res.destroy();
      });
      return;
    }
    if (path === '/version' || path === '/health' || path === '/metrics') {
      if (req.method !== 'GET') return plainError(res, 405, 'Method Not Allowed', { Allow: 'GET' });
      if (path === '/version') {
        const body = JSON.stringify({ etcdserver: SERVER_VERSION, etcdcluster: CLUSTER_VERSION });
        res.writeHead(200, { ...CORS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else if (path === '/health') {
        void this.health().then((ok) => {
          res.writeHead(ok ? 200 : 503, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8' });
          // etcd 3.4 ends the unhealthy answer with a newline, not the healthy one
          res.end(ok ? '{"health":"true"}' : '{"health":"false"}\n');
        });
      } else if (!this.metrics) {
        plainError(res, 404, '404 page not found');
      } else {
        this.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { ...CORS, 'Content-Type': this.metrics!.registry.contentType });
            res.end(text);
          },
          (e: Error) => plainError(res, 500, e.message),
        );
      }
      return;
    }
    plainError(res, 404, '404 page not found');
  }

  /** etcd 3.4 checkHealth: no alarm raised, a leader known, and a linearizable read answered within 1 s. */
  private async health(): Promise<boolean> {
    if (this.node.maintenance.alarms.get().length > 0) return false;
    if (this.node.info().leader === 0n) return false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 1000);
    });
    const read = this.node.readBarrier().then(() => true, () => false);
    const ok = await Promise.race([read, deadline]);
    clearTimeout(timer);
    return ok;
  }

  private async rpc(entry: MethodEntry, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const md = metadataOf(req);
    const peer = peerOf(req);
    const { requestStream, responseStream } = entry.def;
    if (requestStream) return this.bidi(entry, req, res, md, peer);
    const text = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = decodeOne(entry, text);
    } catch (e) {
      if (!(e instanceof GatewayDecodeError)) throw e;
      return requestFailed(res, e.message, grpc.status.INVALID_ARGUMENT);
    }
    if (responseStream) {
      this.stream(entry, res, md, peer, body);
      return;
    }
    try {
      const out = await callUnary(entry, body, md, peer);
      const json = JSON.stringify(messageToJson(typeOf(entry, 'response'), out));
      res.writeHead(200, { ...CORS, 'Content-Type': 'application/json', 'Grpc-Metadata-Content-Type': 'application/grpc', 'Content-Length': Buffer.byteLength(json) });
      res.end(json);
    } catch (e) {
      if (e instanceof Error) throw e;
      callFailed(res, e as CallError);
    }
  }

  /** Start a streaming call whose responses go to `res` as chunks. */
  private stream(entry: MethodEntry, res: ServerResponse, md: grpc.Metadata, peer: string, request?: Record<string, unknown>): GatewayCall {
    const resType = typeOf(entry, 'response');
    let started = false;
    const head = (status: number, withMd: boolean) => {
      if (started) return;
      started = true;
      res.writeHead(status, { ...CORS, 'Content-Type': 'application/json', ...(withMd ? { 'Grpc-Metadata-Content-Type': 'application/grpc' } : {}) });
    };
    let call: GatewayCall | undefined = undefined;
    call = startStream(entry, md, peer, {
      message: (m) => {
        head(200, true);
        return res.write(`${JSON.stringify({ result: messageToJson(resType, m) })}\n`);
      },
      end: (err) => {
        if (call) this.calls.delete(call);
        if (res.writableEnded || res.destroyed) return;
        if (err) {
          const http_code = httpStatusOf(err.code);
          head(http_code, false);
          const e: Record<string, unknown> = {};
          if (err.code !== 0) e.grpc_code = err.code;
          e.http_code = http_code;
          if (err.message) e.message = err.message;
          e.http_status = http.STATUS_CODES[http_code] ?? '';
          res.write(JSON.stringify({ error: e }));
        } else head(200, false);
        res.end();
      },
    }, request);
    if (!res.writableEnded) this.calls.add(call);
    res.on('drain', () => call?.drained());
    res.on('close', () => {
      if (call && !res.writableFinished) call.cancel();
      if (call) this.calls.delete(call);
    });
    return call;
  }

  /** A bidi stream: the request body is a sequence of JSON messages, fed to the call as they complete. */
  private bidi(entry: MethodEntry, req: IncomingMessage, res: ServerResponse, md: grpc.Metadata, peer: string): Promise<void> {
    const reqType = typeOf(entry, 'request');
    const dec = new StringDecoder('utf8');
    let buf = '';
    let call: GatewayCall | undefined;
    let done = false; // no more messages are read (end of body or a decode error after the first)
    const first: Record<string, unknown>[] = [];
    return new Promise<void>((resolve) => {
      const pump = (final: boolean) => {
        while (!done) {
          const r = new JsonReader(buf);
          let v: JsonValue | undefined;
          try {
            v = r.next();
            if (v === undefined) {
              buf = '';
              break;
            }
            buf = buf.slice(r.offset());
            const msg = messageFromJson(reqType, v);
            if (call) call.send(msg);
            else first.push(msg);
          } catch (e) {
            if (!(e instanceof GatewayDecodeError)) throw e;
            if (e.message === 'unexpected EOF' && !final) break; // wait for the rest of the message
            done = true;
            if (!call && first.length === 0) {
              req.resume();
              requestFailed(res, e.message, grpc.status.UNKNOWN);
              resolve();
              return;
            }
          }
          if (!call && first.length > 0) {
            call = this.stream(entry, res, md, peer);
            for (const f of first.splice(0)) call.send(f);
          }
        }
        if (final || done) {
          if (!call && !res.headersSent) call = this.stream(entry, res, md, peer);
          call?.closeSend();
          resolve();
        }
      };
      req.on('data', (d: Buffer) => {
        if (done) return;
        buf += dec.write(d);
        pump(false);
      });
      req.on('end', () => {
        if (done) return;
        buf += dec.end();
        pump(true);
        done = true;
      });
      req.on('error', () => {
        call?.cancel();
        resolve();
      });
    });
  }
}
