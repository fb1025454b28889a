/** display.Get for lock/elect (etcdctl prints the owner key as a GetResponse in the selected format). */
import type { KeyValue, ResponseHeader } from '../../client/client.js';
import { headerJson, type Globals } from '../global.js';
import { PbWriter, display, fieldsHeader, fieldsKv, goJson, oe, pbHeader, pbKv } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';

/** Print a one-kv (or empty) GetResponse like etcdctl's display.Get. */
export function printGet(g: Globals, out: (s: string | Uint8Array) => void, header: ResponseHeader, kvs: KeyValue[], count = kvs.length): void {
  display(g.writeOut, out, {
    simple: () => kvs.map((kv) => kvLines(kv, false, g.hex)).join(''),
    json: () => goJson({ header: headerJson(header), kvs: oe(kvs.map(kvJson)), count: oe(count) }) + '\n',
    fields: () => fieldsHeader(header) + kvs.map((kv) => fieldsKv('', kv)).join('') + `"More" : false\n"Count" : ${count}\n`,
    protobuf: () => {
      const w = new PbWriter().message(1, pbHeader(header));
      for (const kv of kvs) w.message(2, pbKv(kv));
      return w.varint(4, count).finish();
    },
  });
}
