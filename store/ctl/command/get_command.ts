/** `get [options] <key> [range_end]` (etcdctl ctlv3/command/get_command.go). */
import { Command } from 'commander';
import { headerFromWire, kvFromWire } from '../../client/client.js';
import { globals, headerJson, withClient } from '../global.js';
import { goJson, oe } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';
import { getRequest } from './kv_request.js';

export function getCommand(out: (s: string) => void): Command {
  return new Command('get')
    .description('Gets the key or a range of keys')
    .argument('[key]')
    .argument('[range_end]')
    .option('--consistency <l|s>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--order <order>', 'Order of results; ASCEND or DESCEND (ASCEND by default)', '')
    .option('--sort-by <target>', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION', '')
    .option('--count-only', 'Get only the count (etcdctl 3.5)')
    .option('--limit <n>', 'Maximum number of results', '0')
    .option('--rev <n>', 'Specify the kv revision', '0')
    .option('--keys-only', 'Get only the keys')
    .option('--print-value-only', 'Only write values when using the "simple" output format')
    .action(async (key: string | undefined, rangeEnd: string | undefined, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const req = getRequest(key === undefined ? [] : rangeEnd === undefined ? [key] : [key, rangeEnd], o as Record<string, string | boolean>);
      const w = await withClient(g, (c) => c.unary<Record<string, any>>('KV', 'Range', req));
      const r = { header: headerFromWire(w.header), kvs: (w.kvs as Record<string, any>[]).map((k) => kvFromWire(k as never)), more: !!w.more, count: Number(w.count) };
      if (g.writeOut === 'json') {
        out(goJson({ header: headerJson(r.header), kvs: oe(r.kvs.map(kvJson)), more: oe(r.more), count: oe(r.count) }) + '\n');
        return;
      }
      for (const kv of r.kvs) out(kvLines(kv, !!o.printValueOnly, g.hex));
    });
}
