/**
 * gRPC server metrics (store/server/metrics_grpc.ts): figures counted per call as plain numbers and handed to
 * prom-client at scrape time must expose exactly what per-call prom-client updates did.
 * - MethodHistogram: the same exposition text and JSON as a prom-client Histogram fed the same observations;
 * - GrpcMetrics through a real grpc-js server (loopback, port 39410) and client: started/handled by code,
 *   messages received/sent, handling-time counts and the watch-stream gauge after unary OK and error calls and
 *   a cancelled bidi stream.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Histogram, Registry } from 'prom-client';
import { etcdPackage } from '../../../store/proto/load.js';
import { GrpcMetrics, MethodHistogram } from '../../../store/server/metrics_grpc.js';
import { prng } from '../../helpers/prng.js';

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PORT = 39410;

describe('MethodHistogram', () => {
  it('exposes what a prom-client Histogram fed the same observations exposes', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const h = new MethodHistogram('x_seconds', 'Help text.', BOUNDS, ours);
    const p = new Histogram({ name: 'x_seconds', help: 'Help text.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method'], buckets: BOUNDS, registers: [theirs] });
    const a = { grpc_type: 'unary' as const, grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' };
    const b = { grpc_type: 'bidi_stream' as const, grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };
    const rnd = prng(7);
    for (let i = 0; i < 500; i++) {
      const l = rnd() < 0.7 ? a : b;
      const v = i % 50 === 0 ? BOUNDS[i % BOUNDS.length]! : rnd() < 0.05 ? 20 * rnd() + 10 : rnd() * rnd();
      h.observe(l, v);
      p.observe(l, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    h.reset();
    p.reset();
    assert.equal(await ours.metrics(), await theirs.metrics());
  });
});

type W = Record<string, any>;

describe('GrpcMetrics interceptor', () => {
  const registry = new Registry();
  const m = new GrpcMetrics(registry);
  const server = new grpc.Server({ interceptors: [m.interceptor] });
  const pkg = etcdPackage();
  const KV = pkg.KV as grpc.ServiceClientConstructor;
  const Watch = pkg.Watch as grpc.ServiceClientConstructor;
  let kv: grpc.Client & W;
  let watch: grpc.Client & W;

  before(async () => {
    server.addService(KV.service, {
      Put: (_c: unknown, cb: grpc.sendUnaryData<W>) => cb(null, { header: { revision: '2' } }),
      Range: (_c: unknown, cb: grpc.sendUnaryData<W>) => cb({ code: grpc.status.NOT_FOUND, details: 'nope' }),
    });
    server.addService(Watch.service, {
      Watch: (call: grpc.ServerDuplexStream<W, W>) => {
        call.on('data', () => call.write({ header: { revision: '1' }, watch_id: '0', created: true, events: [] }));
        call.on('error', () => undefined);
      },
    });
    await new Promise<void>((res, rej) => server.bindAsync(`127.0.0.1:${PORT}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    kv = new KV(`127.0.0.1:${PORT}`, grpc.credentials.createInsecure()) as grpc.Client & W;
    watch = new Watch(`127.0.0.1:${PORT}`, grpc.credentials.createInsecure()) as grpc.Client & W;
  });
  after(() => {
    kv.close();
    watch.close();
    server.forceShutdown();
  });

  const value = async (name: string, labels: Record<string, string>): Promise<number> => {
    const metric = (await registry.getMetricsAsJSON()).find((x) => x.name === name.replace(/_(bucket|count|sum)$/, ''));
    assert.ok(metric, `no metric ${name}`);
    const hits = (metric.values as { labels: Record<string, unknown>; value: number; metricName?: string }[])
      .filter((v) => (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x));
    assert.equal(hits.length, 1, `${name} ${JSON.stringify(labels)}: ${hits.length} series`);
    return hits[0]!.value;
  };
  const put = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' };
  const range = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' };
  const wl = { grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };

  it('counts every call, message, code and handling time, initialized at 0', async () => {
    assert.equal(await value('grpc_server_started_total', put), 0);
    assert.equal(await value('grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 0);
    const call = (method: string) => new Promise<grpc.ServiceError | null>((r) => kv[method]({ key: Buffer.from('k') }, (e: grpc.ServiceError | null) => r(e)));
    for (let i = 0; i < 7; i++) assert.equal(await call('Put'), null);
    for (let i = 0; i < 3; i++) assert.equal((await call('Range'))?.code, grpc.status.NOT_FOUND);
    assert.equal(await value('grpc_server_started_total', put), 7);
    assert.equal(await value('grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 7);
    assert.equal(await value('grpc_server_msg_received_total', put), 7);
    assert.equal(await value('grpc_server_msg_sent_total', put), 7);
    assert.equal(await value('grpc_server_handling_seconds_count', put), 7);
    assert.equal(await value('grpc_server_handling_seconds_bucket', { ...put, le: '+Inf' }), 7);
    assert.equal(await value('grpc_server_started_total', range), 3);
    assert.equal(await value('grpc_server_handled_total', { ...range, grpc_code: 'NotFound' }), 3);
    assert.equal(await value('grpc_server_handled_total', { ...range, grpc_code: 'OK' }), 0);
    assert.doesNotMatch(await registry.metrics(), /grpc_server_msg_sent_total\{[^}]*grpc_method="Range"/); // none sent: no series
    // scraping twice does not count twice
    assert.equal(await value('grpc_server_started_total', put), 7);
    assert.match(await registry.metrics(), /grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK"\} 7\n/);

    const stream = watch.Watch() as grpc.ClientDuplexStream<W, W>;
    stream.on('error', () => undefined);
    const got = new Promise<void>((r) => stream.once('data', () => r()));
    stream.write({ create_request: { key: Buffer.from('k') } });
    await got;
    assert.equal(await value('etcd_debugging_mvcc_watch_stream_total', {}), 1);
    assert.equal(await value('grpc_server_msg_received_total', wl), 1);
    assert.equal(await value('grpc_server_msg_sent_total', wl), 1);
    stream.cancel();
    for (let i = 0; i < 200 && (await value('etcd_debugging_mvcc_watch_stream_total', {})) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await value('etcd_debugging_mvcc_watch_stream_total', {}), 0);
    assert.equal(await value('grpc_server_handled_total', { ...wl, grpc_code: 'Canceled' }), 1);
    assert.equal(await value('grpc_server_started_total', wl), 1);
  });
});
