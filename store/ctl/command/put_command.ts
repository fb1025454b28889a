/** `put [options] <key> <value>` (etcdctl ctlv3/command/put_command.go). Prints "OK". */
import { Command } from 'commander';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { goJson } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';
import { parseLeaseId } from './lease_command.js';

export function putCommand(out: (s: string) => void): Command {
  return new Command('put')
    .description('Puts the given key into the store')
    .argument('[key]')
    .argument('[value]')
    .option('--prev-kv', 'return the previous key-value pair before modification')
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key', '0')
    .action(async (key: string | undefined, value: string | undefined, opts: { prevKv?: boolean; lease: string }, cmd: Command) => {
      const g = globals(cmd);
      if (key === undefined) throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments');
      if (value === undefined) throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments');
      const lease = opts.lease === '0' ? 0n : parseLeaseId(opts.lease, 'bad lease ID');
      const r = await withClient(g, (c) => c.putFull(key, value, { prevKv: opts.prevKv, lease }));
      if (g.writeOut === 'json') {
        out(goJson({ header: headerJson(r.header), prev_kv: r.prevKv ? kvJson(r.prevKv) : undefined }) + '\n');
        return;
      }
      out('OK\n');
      if (r.prevKv) out(kvLines(r.prevKv, false, g.hex));
    });
}
