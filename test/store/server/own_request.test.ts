/**
 * The proposer's own txn copy (store/server/own_request.ts) equals what the entry decoders give back for the
 * entry it proposed: seeded random TxnRequest wire objects (byte fields as views into one larger buffer, as
 * gRPC hands them over; nested txns; empty ops; every compare target) -> txnFromWire -> encodeRequest (v1 JSON,
 * and v2 where it has a layout) -> decodeRequest, compared with copyTxnSpec of the same spec. The copy owns
 * its bytes: changing the client's buffer afterwards does not change it.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { txnFromWire, type TxnSpec } from '../../../store/server/kv_txn.js';
import { copyTxnSpec } from '../../../store/server/own_request.js';
import { decodeRequest, encodeRequest } from '../../../store/server/request.js';
import { prng } from '../../helpers/prng.js';

type W = Record<string, any>;

describe('copyTxnSpec', () => {
  it('equals the decoded entry (v1 and v2) and owns its bytes', () => {
    const rnd = prng(5);
    const int = (n: number) => Math.floor(rnd() * n);
    const pool = Buffer.alloc(4096);
    for (let i = 0; i < pool.length; i++) pool[i] = int(256);
    const bytes = (): Buffer => {
      if (rnd() < 0.15) return Buffer.alloc(0);
      const s = int(4000);
      return pool.subarray(s, s + 1 + int(40)); // a view into a larger buffer, as gRPC hands bytes over
    };
    const op = (depth: number): W => {
      switch (int(depth > 1 ? 4 : 5)) {
        case 0: return { request: 'request_range', request_range: { key: bytes(), range_end: bytes(), limit: String(int(10)), revision: String(int(5)), serializable: rnd() < 0.5, keys_only: rnd() < 0.3, count_only: false, sort_order: int(3), sort_target: int(5), min_mod_revision: '0', max_mod_revision: String(int(9)), min_create_revision: '0', max_create_revision: '0' } };
        case 1: return { request: 'request_put', request_put: { key: bytes(), value: bytes(), lease: rnd() < 0.2 ? String(int(1e6)) : '0', prev_kv: rnd() < 0.5, ignore_value: rnd() < 0.1, ignore_lease: rnd() < 0.1 } };
        case 2: return { request: 'request_delete_range', request_delete_range: { key: bytes(), range_end: bytes(), prev_kv: rnd() < 0.5 } };
        case 3: return {};
        default: return { request: 'request_txn', request_txn: txn(depth + 1) };
      }
    };
    const unions = ['version', 'create_revision', 'mod_revision', 'value', 'lease', undefined] as const;
    const txn = (depth: number): W => ({
      compare: Array.from({ length: int(3) }, () => {
        const u = unions[int(unions.length)];
        const c: W = { result: int(4), target: int(5), key: bytes(), range_end: bytes() };
        if (u) {
          c.target_union = u;
          c[u] = u === 'value' ? bytes() : String(int(1e9));
        }
        return c;
      }),
      success: Array.from({ length: int(4) }, () => op(depth)),
      failure: Array.from({ length: int(3) }, () => op(depth)),
    });
    let v2Checked = 0;
    for (let i = 0; i < 300; i++) {
      const spec: TxnSpec = txnFromWire(txn(0));
      const own = copyTxnSpec(spec);
      const v1 = decodeRequest(encodeRequest({ id: `x-${i}`, body: { op: 'txn', txn: spec } }));
      assert.deepStrictEqual({ id: `x-${i}`, body: { op: 'txn', txn: own } }, v1, `txn ${i} (v1)`);
      const e2 = encodeRequest({ id: `x-${i}`, body: { op: 'txn', txn: spec } }, { v2: true });
      const v2 = decodeRequest(e2);
      if (v2.body.op === 'txn') {
        assert.deepStrictEqual(copyTxnSpec(v2.body.txn), own, `txn ${i} (v2)`);
        v2Checked++;
      }
    }
    assert.ok(v2Checked > 0);
    // the copy owns its bytes
    const key = pool.subarray(10, 14);
    const spec = txnFromWire({ compare: [], success: [{ request: 'request_put', request_put: { key, value: key, lease: '0' } }], failure: [] });
    const own = copyTxnSpec(spec);
    const before = Buffer.from(key);
    key.fill(0xee);
    assert.deepStrictEqual(Buffer.from((own.success[0] as { key: Uint8Array }).key), before);
  });
});
