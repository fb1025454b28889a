/**
 * The hand-written KV and Watch codecs (store/server/kv_wire.ts, watch_wire.ts) against protobufjs (through
 * proto-loader with the project's options): seeded random messages, including zero/default values, empty bytes,
 * int64 values beyond 2^53 given as strings, negative int64, uint64 above 2^63, and unknown fields.
 * - requests: protobufjs' bytes decoded by our deserializer give exactly proto-loader's object;
 * - responses: our bytes decoded by protobufjs give the same message as protobufjs' own bytes.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { etcdPackage } from '../../../store/proto/load.js';
import { KV_CODECS, receivedSize, withCodecs } from '../../../store/server/kv_wire.js';
import { cacheEncoding, WATCH_CODECS } from '../../../store/server/watch_wire.js';
import { prng } from '../../helpers/prng.js';

type W = Record<string, any>;
const svc = (name: string) => (etcdPackage()[name] as grpc.ServiceClientConstructor).service;
const kv = svc('KV');
const watch = svc('Watch');
const fastKv = withCodecs(kv, KV_CODECS);
const fastWatch = withCodecs(watch, WATCH_CODECS);

class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  bool(): boolean {
    return this.r() < 0.5;
  }
  bytes(): Buffer {
    const n = [0, 0, 1, 3, 20, 200][this.int(6)]!;
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  /** int64 as handlers or clients give it: numbers, decimal strings (beyond 2^53, negative when allowed). */
  i64(signed = true): string | number {
    const vals: Array<string | number> = [0, '0', 1, 127, 128, 300, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, '4294967296', 2 ** 53 - 1,
      '9007199254740993', '9223372036854775807', String(this.int(1e9))];
    if (signed) vals.push(-1, '-1', '-300', '-9223372036854775808', -(2 ** 40));
    else vals.push('18446744073709551615', '12345678901234567890');
    return vals[this.int(vals.length)]!;
  }
  maybe<T>(f: () => T): T | undefined {
    return this.bool() ? f() : undefined;
  }
  list<T>(f: () => T, max = 4): T[] {
    return Array.from({ length: this.int(max + 1) }, f);
  }
  header(): W {
    return { cluster_id: this.i64(false), member_id: this.i64(false), revision: this.i64(), raft_term: this.i64(false) };
  }
  kv(): W {
    return { key: this.bytes(), create_revision: this.i64(), mod_revision: this.i64(), version: this.i64(), value: this.bytes(), lease: this.i64() };
  }
  rangeReq(): W {
    return {
      key: this.bytes(), range_end: this.bytes(), limit: this.i64(), revision: this.i64(), sort_order: this.int(3), sort_target: this.int(5),
      serializable: this.bool(), keys_only: this.bool(), count_only: this.bool(), min_mod_revision: this.i64(), max_mod_revision: this.i64(),
      min_create_revision: this.i64(), max_create_revision: this.i64(),
    };
  }
  putReq(): W {
    return { key: this.bytes(), value: this.bytes(), lease: this.i64(), prev_kv: this.bool(), ignore_value: this.bool(), ignore_lease: this.bool() };
  }
  delReq(): W {
    return { key: this.bytes(), range_end: this.bytes(), prev_kv: this.bool() };
  }
  compare(): W {
    const c: W = { result: this.int(4), target: this.int(5), key: this.bytes(), range_end: this.bytes() };
    const u = this.int(6);
    if (u === 4) c.value = this.bytes();
    else if (u < 5) c[['version', 'create_revision', 'mod_revision', 'lease'][u]!] = this.i64();
    return c;
  }
  reqOp(depth: number): W {
    switch (this.int(depth > 1 ? 4 : 5)) {
      case 0: return { request_range: this.rangeReq() };
      case 1: return { request_put: this.putReq() };
      case 2: return { request_delete_range: this.delReq() };
      case 3: return {};
      default: return { request_txn: this.txnReq(depth + 1) };
    }
  }
  txnReq(depth = 0): W {
    return { compare: this.list(() => this.compare()), success: this.list(() => this.reqOp(depth)), failure: this.list(() => this.reqOp(depth)) };
  }
  watchReq(): W {
    switch (this.int(4)) {
      case 0: return {
        create_request: {
          key: this.bytes(), range_end: this.bytes(), start_revision: this.i64(), progress_notify: this.bool(),
          filters: this.list(() => this.int(2), 3), prev_kv: this.bool(), watch_id: this.i64(), fragment: this.bool(),
        },
      };
      case 1: return { cancel_request: { watch_id: this.i64() } };
      case 2: return { progress_request: {} };
      default: return {};
    }
  }
  rangeResp(): W {
    return { header: this.maybe(() => this.header()), kvs: this.list(() => this.kv()), more: this.bool(), count: this.i64() };
  }
  putResp(): W {
    return { header: this.header(), prev_kv: this.bool() ? this.kv() : null };
  }
  delResp(): W {
    return { header: this.header(), deleted: this.i64(), prev_kvs: this.list(() => this.kv()) };
  }
  respOp(depth: number): W {
    switch (this.int(depth > 1 ? 3 : 4)) {
      case 0: return { response_range: this.rangeResp() };
      case 1: return { response_put: this.bool() ? this.putResp() : {} };
      case 2: return { response_delete_range: this.delResp() };
      default: return { response_txn: this.txnResp(depth + 1) };
    }
  }
  txnResp(depth = 0): W {
    return { header: this.header(), succeeded: this.bool(), responses: this.list(() => this.respOp(depth)) };
  }
  event(): W {
    const e = { type: this.int(2), kv: this.kv(), prev_kv: this.bool() ? this.kv() : null };
    return this.bool() ? cacheEncoding(e) : e;
  }
  watchResp(): W {
    return {
      header: this.header(), watch_id: this.i64(), created: this.bool(), canceled: this.bool(), compact_revision: this.i64(),
      cancel_reason: this.bool() ? '' : 'mvcc: required revision has been compacted ü', fragment: this.bool(), events: this.list(() => this.event()),
    };
  }
  /** Encoded unknown fields (numbers 50..2000, every wire type). */
  unknown(): Buffer {
    const parts: number[] = [];
    const varint = (n: number) => {
      while (n >= 128) {
        parts.push((n % 128) | 128);
        n = Math.floor(n / 128);
      }
      parts.push(n);
    };
    for (let i = this.int(3) + 1; i > 0; i--) {
      const f = 50 + this.int(1950);
      const wt = [0, 1, 2, 5][this.int(4)]!;
      varint(f * 8 + wt);
      if (wt === 0) varint(this.int(2 ** 40));
      else if (wt === 1) parts.push(...Array.from({ length: 8 }, () => this.int(256)));
      else if (wt === 5) parts.push(...Array.from({ length: 4 }, () => this.int(256)));
      else {
        const b = this.bytes();
        varint(b.length);
        parts.push(...b);
      }
    }
    return Buffer.from(parts);
  }
}

const SEEDS = 300;

function checkRequest(def: grpc.ServiceDefinition, fast: grpc.ServiceDefinition, method: string, obj: W, extra?: Buffer): void {
  let bytes = def[method]!.requestSerialize(obj);
  if (extra) bytes = Buffer.concat([extra, bytes, extra]);
  const want = def[method]!.requestDeserialize(bytes);
  const got = fast[method]!.requestDeserialize(bytes) as W;
  assert.deepStrictEqual(got, want, `${method} ${JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  assert.equal(receivedSize(got), bytes.length);
}

function checkResponse(def: grpc.ServiceDefinition, fast: grpc.ServiceDefinition, method: string, obj: W): void {
  const want = def[method]!.responseDeserialize(def[method]!.responseSerialize(obj));
  const ours = fast[method]!.responseSerialize(obj);
  assert.deepStrictEqual(def[method]!.responseDeserialize(ours), want, `${method} ${JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  // a second encoding (cached events) gives the same bytes
  assert.deepStrictEqual(fast[method]!.responseSerialize(obj), ours);
}

describe('KV and Watch codecs match protobufjs', () => {
  it('requests: protobufjs bytes decode to proto-loader objects (with unknown fields)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const g = new Gen(seed);
      const extra = seed % 3 === 0 ? g.unknown() : undefined;
      checkRequest(kv, fastKv, 'Range', g.rangeReq(), extra);
      checkRequest(kv, fastKv, 'Put', g.putReq(), extra);
      checkRequest(kv, fastKv, 'DeleteRange', g.delReq(), extra);
      checkRequest(kv, fastKv, 'Txn', g.txnReq(), extra);
      checkRequest(watch, fastWatch, 'Watch', g.watchReq(), extra);
    }
    for (const m of ['Range', 'Put', 'DeleteRange', 'Txn']) checkRequest(kv, fastKv, m, {});
    checkRequest(watch, fastWatch, 'Watch', {});
  });

  it('requests: unknown fields inside nested messages and unpacked filters are read like protobufjs', () => {
    // TxnRequest{ success: [RequestOp{ <unknown 99: varint 5>, request_put: PutRequest{ key "k", <unknown 77: bytes "zz"> } }] }
    const put = Buffer.from([0x0a, 0x01, 0x6b, 0xea, 0x04, 0x02, 0x7a, 0x7a]);
    const op = Buffer.concat([Buffer.from([0x98, 0x06, 0x05, 0x12, put.length]), put]);
    const txn = Buffer.concat([Buffer.from([0x12, op.length]), op]);
    assert.deepStrictEqual(fastKv.Txn!.requestDeserialize(txn), kv.Txn!.requestDeserialize(txn));
    // WatchCreateRequest with filters unpacked (two tag-5 varints) and packed (one tag-5 bytes field)
    const cr = Buffer.from([0x28, 0x01, 0x28, 0x00, 0x2a, 0x02, 0x01, 0x01]);
    const wr = Buffer.concat([Buffer.from([0x0a, cr.length]), cr]);
    const got = fastWatch.Watch!.requestDeserialize(wr) as W;
    assert.deepStrictEqual(got, watch.Watch!.requestDeserialize(wr));
    assert.deepStrictEqual(got.create_request.filters, [1, 0, 1, 1]);
  });

  it('requests: truncated messages are refused', () => {
    const bytes = kv.Put!.requestSerialize({ key: Buffer.from('abc'), value: Buffer.alloc(50) });
    assert.throws(() => fastKv.Put!.requestDeserialize(bytes.subarray(0, bytes.length - 1)), /malformed/);
  });

  it('responses: our bytes decode with protobufjs to the same message', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const g = new Gen(seed * 7919);
      checkResponse(kv, fastKv, 'Range', g.rangeResp());
      checkResponse(kv, fastKv, 'Put', g.putResp());
      checkResponse(kv, fastKv, 'DeleteRange', g.delResp());
      checkResponse(kv, fastKv, 'Txn', g.txnResp());
      checkResponse(watch, fastWatch, 'Watch', g.watchResp());
    }
    checkResponse(kv, fastKv, 'Range', {});
    checkResponse(kv, fastKv, 'Txn', { responses: [{ response_put: {} }, { response: 'response_range', response_range: {} }] });
    // handler shapes: numbers and bigints for int64
    checkResponse(kv, fastKv, 'Range', { header: { revision: 5, member_id: 18446744073709551615n }, kvs: [{ key: Buffer.from('a'), version: 1, lease: 7n }], count: 1 });
  });
});
