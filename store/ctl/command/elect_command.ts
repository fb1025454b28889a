/**
 * `elect <election-name> [proposal]` and `elect -l <election-name>` (etcdctl 3.4 ctlv3/command/elect_command.go):
 * campaign with the proposal (session TTL 60 s), print the leader key and value once elected (as `get` prints
 * them), resign on SIGINT/SIGTERM (exit 0); with -l/--listen print every leader change until interrupted.
 * Compatible with etcdctl's elect (same keys, store/ctl/concurrency.ts).
 */
import { Command } from 'commander';
import { headerFromWire, kvFromWire } from '../../client/client.js';
import { CtlError, globals, withClient } from '../global.js';
import { ExitCode } from '../printer.js';
import { Election, Session, observe } from '../concurrency.js';
import { printGet } from './concurrency_print.js';
import { untilSignal } from './lock_command.js';

export function electCommand(out: (s: string | Uint8Array) => void, _err: (s: string) => void): Command {
  return new Command('elect')
    .description('Observes and participates in leader election')
    .argument('[args...]')
    .option('-l, --listen', 'observation mode')
    .action(async (args: string[], o: { listen?: boolean }, cmd: Command) => {
      if (args.length !== 1 && args.length !== 2) throw new CtlError('elect takes one election name argument and an optional proposal argument', ExitCode.BadArgs);
      if (!o.listen && args.length !== 2) throw new CtlError('no proposal argument but -l not set', ExitCode.BadArgs);
      const g = globals(cmd);
      const sig = untilSignal();
      try {
        await withClient(g, async (c) => {
          if (o.listen) {
            const ac = new AbortController();
            void sig.promise.then(() => ac.abort());
            await observe(c, args[0], (h, kv) => printGet(g, out, h, [kv]), ac.signal);
            if (!ac.signal.aborted) throw new CtlError('elect: observer lost');
            return;
          }
          const s = await Session.create(c, 60);
          try {
            const e = new Election(s, args[0]);
            await e.campaign(args[1]);
            const r = await c.unary<{ header: Parameters<typeof headerFromWire>[0]; kvs: Parameters<typeof kvFromWire>[0][] }>('KV', 'Range', { key: e.key });
            printGet(g, out, headerFromWire(r.header), r.kvs.map(kvFromWire));
            const lost = await Promise.race([sig.promise.then(() => false), s.done.then(() => true)]);
            if (lost) throw new CtlError('elect: session expired');
            await e.resign();
          } finally {
            await s.close();
          }
        });
      } finally {
        sig.cleanup();
      }
    });
}
