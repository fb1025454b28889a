/**
 * The benchmark's workloads, each against any etcd v3 endpoint list (quorumd or etcd). Connections are spread
 * over the endpoints in the order given (the runner puts the leader first, so one-connection workloads talk
 * to the leader of either system). Closed loop: `inflight` workers, each with one request outstanding.
 *
 * Workloads (issue 5): put-seq (latency, one request at a time); put-<inflight>x<conns> (throughput, 256-byte
 * values over a 100k-key space); range-lin / range-ser (one key, 1000 in flight over 10 connections);
 * range-1000 (a 1000-key range); txn-cas (compare-value-and-put, 1000 in flight over 10 connections);
 * watch-1 / watch-100 (event delivery rate and put-to-event latency with 1 and 100 watchers); fill (100k
 * distinct keys, then the database size every member reports and, with pids, every member's RSS).
 */
import { randomBytes } from 'node:crypto';
import { H2Conn } from './h2grpc.js';
import { casTxnRequest, putRequest, rangeRequest, statusFields, txnSucceeded, watchCreateRequest, watchReply } from './proto.js';
import { CLIENT_BOUND_CORES, CpuMeter, rssBytes, ServerCpuMeter, summarize, type ServerCpu, type WorkloadResult } from './stats.js';

export const PUT = '/etcdserverpb.KV/Put';
export const RANGE = '/etcdserverpb.KV/Range';
export const TXN = '/etcdserverpb.KV/Txn';
export const WATCH = '/etcdserverpb.Watch/Watch';
export const STATUS = '/etcdserverpb.Maintenance/Status';

/** Settings shared by every workload. */
export interface BenchOptions {
  endpoints: string[];
  /** Smaller counts (the CI-free quick mode); `long` uses 1M keys where the issue asks for them. */
  quick: boolean;
  long?: boolean;
  /** Override the operation count of the workload. */
  count?: number;
  /** Stop issuing requests after this many seconds (a slow server must not stall the run). */
  maxSeconds: number;
  /** Server process IDs (for RSS, and server CPU per op over each measured phase), when the caller started them. */
  pids?: number[];
}

const VALUE_BYTES = 256;
const KEY_SPACE = 100_000;
const enc = (s: string) => Buffer.from(s);
const pad = (n: number) => String(n).padStart(7, '0');

function openConns(endpoints: string[], n: number): H2Conn[] {
  return Array.from({ length: n }, (_, i) => new H2Conn(endpoints[i % endpoints.length]));
}

async function ready(conns: H2Conn[]): Promise<void> {
  await Promise.all(conns.map((c) => c.ready()));
}

interface LoopResult { lat: Float64Array; n: number; errors: number; firstError?: string; seconds: number; cpu: number; server?: ServerCpu }

/**
 * Run `total` calls with `inflight` workers over `conns` (worker w on conns[w % n]); latencies (ms) of successful
 * calls. With `pids` (a measured phase, not a setup), also the server processes' CPU per successful call.
 */
async function closedLoop(conns: H2Conn[], inflight: number, total: number, maxSeconds: number, call: (i: number, c: H2Conn, worker: number) => Promise<unknown>, pids?: number[]): Promise<LoopResult> {
  const lat = new Float64Array(total);
  let next = 0;
  let n = 0;
  let errors = 0;
  let firstError: string | undefined;
  const server = new ServerCpuMeter(pids ?? []);
  const cpu = new CpuMeter();
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  const worker = async (w: number) => {
    const c = conns[w % conns.length];
    for (;;) {
      const i = next++;
      if (i >= total || performance.now() > deadline) return;
      const s = performance.now();
      try {
        await call(i, c, w);
        lat[n++] = performance.now() - s;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, total) }, (_, w) => worker(w)));
  return { lat, n, errors, firstError, seconds: (performance.now() - t0) / 1000, cpu: cpu.cores(), server: server.perOp(n) };
}

function result(workload: string, r: LoopResult, extra?: Record<string, number | string>): WorkloadResult {
  return {
    workload, ops: r.n, errors: r.errors, firstError: r.firstError, seconds: Math.round(r.seconds * 1000) / 1000,
    opsPerSec: Math.round(r.n / r.seconds), latencyMs: summarize(r.lat, r.n), clientCpu: r.cpu,
    clientBound: r.cpu >= CLIENT_BOUND_CORES, extra, ...(r.server ? { serverCpu: r.server } : {}),
  };
}

const count = (o: BenchOptions, quick: number, full: number) => o.count ?? (o.quick ? quick : full);

/** Sequential put latency: one connection, one request at a time. */
async function putSeq(o: BenchOptions): Promise<WorkloadResult> {
  const conns = openConns(o.endpoints, 1);
  await ready(conns);
  const value = randomBytes(VALUE_BYTES);
  const r = await closedLoop(conns, 1, count(o, 300, 3000), o.maxSeconds, (i, c) => c.unary(PUT, putRequest(enc(`bench/seq/${pad(i % KEY_SPACE)}`), value)), o.pids);
  conns.forEach((c) => c.close());
  return result('put-seq', r);
}

/** Put throughput: `inflight` requests outstanding over `nconns` connections, 256-byte values, 100k keys. */
async function putThroughput(o: BenchOptions, inflight: number, nconns: number): Promise<WorkloadResult> {
  const conns = openConns(o.endpoints, nconns);
  await ready(conns);
  const value = randomBytes(VALUE_BYTES);
  const base = Math.floor(Math.random() * KEY_SPACE);
  const r = await closedLoop(conns, inflight, count(o, 10_000, 100_000), o.maxSeconds,
    (i, c) => c.unary(PUT, putRequest(enc(`bench/put/${pad((base + i) % KEY_SPACE)}`), value)), o.pids);
  conns.forEach((c) => c.close());
  return result(`put-${inflight}x${nconns}`, r);
}

/** Single-key range throughput, linearizable or serializable: 1000 in flight over 10 connections. */
async function rangeOne(o: BenchOptions, serializable: boolean): Promise<WorkloadResult> {
  const conns = openConns(o.endpoints, 10);
  await ready(conns);
  const key = enc('bench/range/one');
  await conns[0].unary(PUT, putRequest(key, randomBytes(VALUE_BYTES)));
  const body = rangeRequest(key, { serializable });
  const r = await closedLoop(conns, 1000, count(o, 20_000, 200_000), o.maxSeconds, (_i, c) => c.unary(RANGE, body), o.pids);
  conns.forEach((c) => c.close());
  return result(serializable ? 'range-ser' : 'range-lin', r);
}

/** Range of 1000 keys (256-byte values): 10 in flight over 10 connections. */
async function range1000(o: BenchOptions): Promise<WorkloadResult> {
  const conns = openConns(o.endpoints, 10);
  await ready(conns);
  const value = randomBytes(VALUE_BYTES);
  const setup = await closedLoop(conns, 100, 1000, o.maxSeconds, (i, c) => c.unary(PUT, putRequest(enc(`bench/r1000/${pad(i)}`), value)));
  if (setup.errors) throw new Error(`range-1000 setup failed: ${setup.firstError}`);
  const body = rangeRequest(enc('bench/r1000/'), { rangeEnd: enc('bench/r10000') });
  let bytes = 0;
  const r = await closedLoop(conns, 10, count(o, 300, 3000), o.maxSeconds, async (_i, c) => { bytes = (await c.unary(RANGE, body)).length; }, o.pids);
  conns.forEach((c) => c.close());
  return result('range-1000', r, { responseBytes: bytes });
}

/** Compare-and-set txn throughput: each of 1000 workers owns a key and swaps its value (compare VALUE equal). */
async function txnCas(o: BenchOptions): Promise<WorkloadResult> {
  const conns = openConns(o.endpoints, 10);
  await ready(conns);
  const workers = 1000;
  const run = randomBytes(4).toString('hex');
  const current: Buffer[] = [];
  const setup = await closedLoop(conns, 100, workers, o.maxSeconds, (i, c) => {
    current[i] = Buffer.concat([enc(`${run}:init:`.padEnd(24, '.')), randomBytes(VALUE_BYTES - 24)]);
    return c.unary(PUT, putRequest(enc(`bench/cas/${pad(i)}`), current[i]));
  });
  if (setup.errors) throw new Error(`txn-cas setup failed: ${setup.firstError}`);
  let failed = 0;
  // worker w owns key w: it has one txn outstanding at a time, so its compare sees its own last value
  const r = await closedLoop(conns, workers, count(o, 10_000, 100_000), o.maxSeconds, async (i, c, w) => {
    const prev = current[w];
    const next = Buffer.from(prev);
    next.write(`${run}:${i}:`.padEnd(24, '.'), 0);
    const ok = txnSucceeded(await c.unary(TXN, casTxnRequest(enc(`bench/cas/${pad(w)}`), prev, next)));
    if (ok) current[w] = next;
    else failed++;
  }, o.pids);
  conns.forEach((c) => c.close());
  return result('txn-cas', r, { compareFailed: failed });
}

/**
 * Watch delivery: `watchers` watch streams on one prefix (over up to 10 connections), then `puts` puts (100 in
 * flight on one connection); rate = events received / (last event - first put), latency = event arrival - put
 * sent. Unreceived events after 30 s are reported as `missing`.
 */
async function watchDelivery(o: BenchOptions, watchers: number): Promise<WorkloadResult> {
  const puts = count(o, watchers > 1 ? 1000 : 5000, watchers > 1 ? 10_000 : 50_000);
  const prefix = `bench/watch/${randomBytes(4).toString('hex')}/`;
  const wconns = openConns(o.endpoints, Math.min(watchers, 10));
  const [writer] = openConns(o.endpoints, 1);
  await ready([...wconns, writer]);
  const expected = puts * watchers;
  const sent = new Float64Array(puts);
  const lat = new Float64Array(expected);
  let received = 0;
  let created = 0;
  let lastEvent = 0;
  let streamError: string | undefined;
  let onAll: () => void = () => undefined;
  const all = new Promise<void>((r) => { onAll = r; });
  let onCreated: () => void = () => undefined;
  const allCreated = new Promise<void>((r) => { onCreated = r; });
  const plen = prefix.length;
  const streams = Array.from({ length: watchers }, (_, w) => wconns[w % wconns.length].stream(WATCH, (msg) => {
    const rep = watchReply(msg);
    if (rep.created && ++created === watchers) onCreated();
    if (rep.canceled) streamError ??= 'watch canceled by the server';
    if (rep.keys.length === 0) return;
    const now = performance.now();
    for (const k of rep.keys) {
      let i = 0;
      for (let p = plen; p < k.length; p++) i = i * 10 + (k[p] - 48);
      lat[received++] = now - sent[i];
    }
    lastEvent = now;
    if (received >= expected) onAll();
  }, (e) => { if (e) streamError ??= e.message; }));
  const end = enc(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
  for (const s of streams) s.send(watchCreateRequest(enc(prefix), end));
  await Promise.race([allCreated, new Promise((r) => setTimeout(r, 15_000))]);
  if (created < watchers) throw new Error(`only ${created} of ${watchers} watchers created${streamError ? `: ${streamError}` : ''}`);
  const value = randomBytes(VALUE_BYTES);
  const server = new ServerCpuMeter(o.pids ?? []);
  const cpu = new CpuMeter();
  const t0 = performance.now();
  const w = await closedLoop([writer], 100, puts, o.maxSeconds, (i, c) => {
    sent[i] = performance.now();
    return c.unary(PUT, putRequest(enc(prefix + String(i)), value));
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
  clearTimeout(timer);
  const cores = cpu.cores();
  const serverCpu = server.perOp(received); // per event delivered (the puts' CPU included)
  for (const s of streams) s.close();
  [...wconns, writer].forEach((c) => c.close());
  const seconds = Math.max(0.001, (lastEvent - t0) / 1000);
  return {
    workload: `watch-${watchers}`, ops: received, errors: w.errors, firstError: w.firstError ?? streamError, seconds: Math.round(seconds * 1000) / 1000,
    opsPerSec: Math.round(received / seconds), latencyMs: summarize(lat, received), clientCpu: cores, clientBound: cores >= CLIENT_BOUND_CORES,
    extra: { watchers, puts: w.n, putsPerSec: Math.round(w.n / w.seconds), missing: w.n * watchers - received },
    ...(serverCpu ? { serverCpu } : {}),
  };
}

/** Status of every endpoint: db size, db size in use, member ID, leader. */
export async function statusAll(endpoints: string[]): Promise<ReturnType<typeof statusFields>[]> {
  const out = [];
  for (const ep of endpoints) {
    const c = new H2Conn(ep);
    try {
      await c.ready();
      out.push(statusFields(await c.unary(STATUS, Buffer.alloc(0))));
    } finally {
      c.close();
    }
  }
  return out;
}

/** Write `keys` distinct keys (1000 in flight over 10 connections), then every member's db size and RSS. */
async function fill(o: BenchOptions): Promise<WorkloadResult> {
  const keys = o.count ?? (o.long ? 1_000_000 : KEY_SPACE);
  const conns = openConns(o.endpoints, 10);
  await ready(conns);
  const value = randomBytes(VALUE_BYTES);
  const r = await closedLoop(conns, 1000, keys, Math.max(o.maxSeconds, 600), (i, c) => c.unary(PUT, putRequest(enc(`bench/fill/${pad(i)}`), value)), o.pids);
  conns.forEach((c) => c.close());
  const st = await statusAll(o.endpoints);
  const extra: Record<string, number | string> = { keys: r.n, dbSizeMax: Math.max(...st.map((s) => s.dbSize)), dbSizeInUseMax: Math.max(...st.map((s) => s.dbSizeInUse)) };
  const rss = (o.pids ?? []).map(rssBytes).filter((x): x is number => x !== undefined);
  if (rss.length) {
    extra.rssMax = Math.max(...rss);
    extra.rssSum = rss.reduce((a, b) => a + b, 0);
  }
  return result('fill', r, extra);
}

/** Every workload name, in the order `all` runs them. */
export const WORKLOADS = [
  'put-seq', 'put-100x1', 'put-1000x1', 'put-100x10', 'put-1000x10', 'range-lin', 'range-ser', 'range-1000', 'txn-cas',
  'watch-1', 'watch-100', 'fill',
] as const;

/** Run one workload by name. Throws on an unknown name or a failed setup. */
export async function runWorkload(name: string, o: BenchOptions): Promise<WorkloadResult> {
  const m = /^put-(\d+)x(\d+)$/.exec(name);
  if (m) return putThroughput(o, Number(m[1]), Number(m[2]));
  switch (name) {
    case 'put-seq': return putSeq(o);
    case 'range-lin': return rangeOne(o, false);
    case 'range-ser': return rangeOne(o, true);
    case 'range-1000': return range1000(o);
    case 'txn-cas': return txnCas(o);
    case 'watch-1': return watchDelivery(o, 1);
    case 'watch-100': return watchDelivery(o, 100);
    case 'fill': return fill(o);
    default: throw new Error(`unknown workload ${name} (known: ${WORKLOADS.join(', ')})`);
  }
}
