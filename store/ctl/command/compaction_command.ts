/**
 * `compaction [--physical] <revision>` (etcdctl 3.4 ctlv3/command/compaction_command.go): compacts the event
 * history up to the revision; prints "compacted revision N". A revision that is not an int64 exits 1 with Go's
 * strconv message; server errors ("etcdserver: mvcc: required revision has been compacted", "... is a future
 * revision") exit 1.
 */
import { Command } from 'commander';
import { CtlError, globals, withClient } from '../global.js';
import { ExitCode } from '../printer.js';

export function compactionCommand(out: (s: string) => void): Command {
  return new Command('compaction')
    .description('Compacts the event history in etcd')
    .argument('[args...]')
    .option('--physical', 'true to wait for compaction to physically remove all old revisions')
    .action(async (args: string[], o: { physical?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (args.length !== 1) throw new CtlError('compaction command needs 1 argument', ExitCode.BadArgs);
      const text = args[0]!;
      if (!/^[+-]?\d+$/.test(text)) throw new CtlError(`strconv.ParseInt: parsing "${text}": invalid syntax`, ExitCode.Error);
      const rev = BigInt(text);
      if (rev > 2n ** 63n - 1n || rev < -(2n ** 63n)) throw new CtlError(`strconv.ParseInt: parsing "${text}": value out of range`, ExitCode.Error);
      await withClient(g, (c) => c.unary('KV', 'Compact', { revision: rev.toString(), physical: !!o.physical }));
      out(`compacted revision ${rev}\n`);
    });
}
