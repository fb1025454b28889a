/** `del [options] <key> [range_end]` (etcdctl ctlv3/command/del_command.go). Prints the number deleted. */
import { Command } from 'commander';
import { prefixRangeEnd } from '../../client/client.js';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { goJson, oe } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';

export function delCommand(out: (s: string) => void): Command {
  return new Command('del')
    .description('Removes the specified key or range of keys [key, range_end)')
    .argument('[key]')
    .argument('[range_end]')
    .option('--prefix', 'delete keys with matching prefix')
    .option('--prev-kv', 'return deleted key-value pairs')
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare')
    .action(async (key: string | undefined, rangeEnd: string | undefined, o: Record<string, boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      if (key === undefined) throw new CtlError('del command needs one argument as key and an optional argument as range_end');
      if (o.prefix && o.fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
      let end: Uint8Array | undefined = rangeEnd !== undefined ? Buffer.from(rangeEnd) : undefined;
      let k = key;
      if (o.prefix) {
        if (k.length === 0) { k = '\0'; end = new Uint8Array([0]); } else end = prefixRangeEnd(Buffer.from(k));
      }
      if (o.fromKey) {
        if (k.length === 0) k = '\0';
        end = new Uint8Array([0]);
      }
      const r = await withClient(g, (c) => c.deleteRange(k, { rangeEnd: end, prevKv: !!o.prevKv }));
      if (g.writeOut === 'json') {
        out(goJson({ header: headerJson(r.header), deleted: oe(r.deleted), prev_kvs: oe(r.prevKvs.map(kvJson)) }) + '\n');
        return;
      }
      out(`${r.deleted}\n`);
      for (const kv of r.prevKvs) out(kvLines(kv, false, g.hex));
    });
}
