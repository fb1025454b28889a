/** `get [options] <key> [range_end]` (etcdctl ctlv3/command/get_command.go). */
import { Command } from 'commander';
import { prefixRangeEnd } from '../../client/client.js';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { goJson, oe } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';

export function getCommand(out: (s: string) => void): Command {
  return new Command('get')
    .description('Gets the key or a range of keys')
    .argument('[key]')
    .argument('[range_end]')
    .option('--consistency <l|s>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--limit <n>', 'Maximum number of results', '0')
    .option('--rev <n>', 'Specify the kv revision', '0')
    .option('--keys-only', 'Get only the keys')
    .option('--print-value-only', 'Only write values when using the "simple" output format')
    .action(async (key: string | undefined, rangeEnd: string | undefined, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      if (key === undefined) throw new CtlError('get command needs one argument as key and an optional argument as range_end');
      if (o.consistency !== 'l' && o.consistency !== 's') throw new CtlError(`unknown consistency flag "${o.consistency}"`);
      if (o.prefix && o.fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
      if (rangeEnd !== undefined && (o.prefix || o.fromKey)) throw new CtlError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
      let end: Uint8Array | undefined = rangeEnd !== undefined ? Buffer.from(rangeEnd) : undefined;
      let k = key;
      if (o.prefix) {
        if (k.length === 0) { k = '\0'; end = new Uint8Array([0]); } else end = prefixRangeEnd(Buffer.from(k));
      }
      if (o.fromKey) {
        if (k.length === 0) k = '\0';
        end = new Uint8Array([0]);
      }
      const r = await withClient(g, (c) =>
        c.range(k, { rangeEnd: end, limit: Number(o.limit), revision: Number(o.rev), serializable: o.consistency === 's', keysOnly: !!o.keysOnly }),
      );
      if (g.writeOut === 'json') {
        out(goJson({ header: headerJson(r.header), kvs: oe(r.kvs.map(kvJson)), more: oe(r.more), count: oe(r.count) }) + '\n');
        return;
      }
      for (const kv of r.kvs) out(kvLines(kv, !!o.printValueOnly, g.hex));
    });
}
