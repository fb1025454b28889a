/** Printing of KeyValues shared by get, put and del (etcdctl printer_simple/printer_json). */
import type { KeyValue } from '../../client/client.js';
import { oe } from '../printer.js';

/** etcdctl simple format of one kv: key line (unless valueOnly) then value line. */
export function kvLines(kv: KeyValue, valueOnly = false, hex = false): string {
  const s = (b: Buffer) => (hex ? [...b].map((x) => '\\x' + x.toString(16).padStart(2, '0')).join('') : b.toString('latin1'));
  return (valueOnly ? '' : s(kv.key) + '\n') + s(kv.value) + '\n';
}

/** etcdctl JSON object of one kv (omitempty fields). */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    key: oe(new Uint8Array(kv.key)),
    create_revision: oe(kv.createRevision),
    mod_revision: oe(kv.modRevision),
    version: oe(kv.version),
    value: oe(new Uint8Array(kv.value)),
    lease: kv.lease !== 0n ? kv.lease : undefined,
  };
}
