/**
 * The proposer's own copy of a request, handed to apply instead of decoding the entry it proposed (QuorumNode
 * `ownPuts`, keyed by the entry data raft hands back in committedEntries). It must equal what decodeRequest
 * returns for that entry (v1 JSON: store/server/request.ts; v2: entry_codec*.ts), so that the proposer applies
 * exactly what every other member applies.
 */
import type { TxnSpec } from './kv_txn.js';

/**
 * A deep copy of a txn spec as the entry decoders give it back: every byte array a fresh Uint8Array (the
 * client's may be views into a larger gRPC buffer), bigints/numbers/strings/booleans as they are, fields whose
 * value is undefined left out (JSON drops them). Shapes: kv_txn.ts TxnSpec.
 */
export function copyTxnSpec(t: TxnSpec): TxnSpec {
  return copy(t) as TxnSpec;
}

function copy(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(copy);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k in o) {
      const x = o[k];
      if (x !== undefined) out[k] = copy(x);
    }
    return out;
  }
  return v;
}
