/**
 * HTTP helpers for the JSON gateway tests: one-shot requests (`post`, `get`) and a raw HTTP/1.1 streaming
 * client (`openStream`) that sends its request body in chunks over time and reports the response body chunk by
 * chunk, exactly as the server framed it (Transfer-Encoding: chunked), so "one JSON message per chunk" can be
 * checked. Plus `normalizeGw`, which removes what legitimately differs between etcd and quorumd.
 */
import http from 'node:http';
import net from 'node:net';

/** A complete HTTP answer. */
export interface HttpAnswer { status: number; headers: http.IncomingHttpHeaders; trailers: NodeJS.Dict<string>; body: string }

/** Send one request and read the whole answer. */
export function request(url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout on ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** POST `body` (a string, sent as is) to `path`. */
export const post = (url: string, path: string, body: string, headers: Record<string, string> = {}) => request(url, 'POST', path, body, headers);

/** A streaming request in progress. */
export interface RawStream {
  /** Response status (after `head()` resolved). */
  status: number;
  /** Resolves once the status line and headers arrived. */
  head(): Promise<void>;
  /** Send one more piece of the request body (one chunk). */
  send(text: string): void;
  /** End the request body. */
  endBody(): void;
  /** The next response body chunk (as framed by the server); undefined once the response ended. */
  nextChunk(timeoutMs?: number): Promise<string | undefined>;
  /** Drop the connection. */
  close(): void;
}

/**
 * Open a POST whose request body is sent with chunked encoding, piece by piece. It sends
 * `Expect: 100-continue` as curl does: etcd 3.4 (Go 1.19 net/http) answers a streamed body mid-request only then.
 */
export function openStream(url: string, path: string, headers: Record<string, string> = {}): RawStream {
  const u = new URL(url);
  const sock = net.connect(Number(u.port), u.hostname);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  sock.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n${extra}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n`);
  let buf = Buffer.alloc(0);
  let headDone = false;
  let ended = false;
  const chunks: string[] = [];
  const waiters: Array<() => void> = [];
  let headResolve: () => void = () => undefined;
  let headReject: (e: Error) => void = () => undefined;
  const headP = new Promise<void>((res, rej) => {
    headResolve = res;
    headReject = rej;
  });
  headP.catch(() => undefined); // awaited through head() only when the caller wants it
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const s: RawStream = {
    status: 0,
    head: () => headP,
    send(text) {
      const b = Buffer.from(text);
      sock.write(`${b.length.toString(16)}\r\n`);
      sock.write(b);
      sock.write('\r\n');
    },
    endBody() {
      sock.write('0\r\n\r\n');
    },
    async nextChunk(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (chunks.length === 0 && !ended) {
        if (Date.now() > deadline) throw new Error(`no chunk within ${timeoutMs} ms on ${path}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return chunks.shift();
    },
    close() {
      sock.destroy();
    },
  };
  const parse = () => {
    if (!headDone) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = buf.subarray(0, i).toString('latin1');
      if (/^HTTP\/1\.1 100 /.test(head)) {
        buf = buf.subarray(i + 4);
        parse();
        return;
      }
      s.status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      buf = buf.subarray(i + 4);
      headDone = true;
      if (!/transfer-encoding: chunked/i.test(head)) {
        // a non-streamed answer (an error before the stream started): the rest is the body
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
        const take = () => {
          if (len >= 0 && buf.length >= len) {
            chunks.push(buf.subarray(0, len).toString());
            ended = true;
            wake();
          }
        };
        headResolve();
        take();
        sock.on('data', take);
        return;
      }
      headResolve();
    }
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      const size = parseInt(buf.subarray(0, i).toString('latin1'), 16);
      if (size === 0) {
        ended = true;
        wake();
        return;
      }
      if (buf.length < i + 2 + size + 2) return;
      chunks.push(buf.subarray(i + 2, i + 2 + size).toString());
      buf = buf.subarray(i + 2 + size + 2);
      wake();
    }
  };
  sock.on('data', (d: Buffer) => {
    if (ended) return;
    buf = Buffer.concat([buf, d]);
    if (!headDone || !ended) parse();
  });
  sock.on('error', (e) => headReject(e));
  sock.on('close', () => {
    ended = true;
    headReject(new Error('connection closed before the response head'));
    wake();
  });
  return s;
}

/**
 * Remove what differs by design between etcd and quorumd from a parsed gateway JSON body: in every `header`
 * only `revision` is kept; keys named in `drop` are removed wherever they appear.
 */
export function normalizeGw(v: unknown, drop: string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => normalizeGw(x, drop));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (drop.includes(k)) continue;
      if (k === 'header' && x && typeof x === 'object') {
        const r = (x as Record<string, unknown>).revision;
        out[k] = r === undefined ? {} : { revision: r };
      } else out[k] = normalizeGw(x, drop);
    }
    return out;
  }
  return v;
}

/** base64 of a latin1 string (gateway bytes fields). */
export const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
