/**
 * `lock <lockname> [exec-command arg1 arg2 ...] [--ttl 10]` (etcdctl 3.4 ctlv3/command/lock_command.go):
 * acquires the named lock (store/ctl/concurrency.ts, compatible with etcdctl's), then either runs the command
 * with ETCD_LOCK_KEY / ETCD_LOCK_REV in its environment and releases the lock when it exits (a failing command
 * ends with "Error: exit status N", exit 1), or prints the lock key (as `get` prints it) and holds the lock
 * until SIGINT/SIGTERM (exit 0) or until the session is lost ("Error: session expired", exit 1).
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { CtlError, globals, withClient } from '../global.js';
import { ExitCode } from '../printer.js';
import { Mutex, Session } from '../concurrency.js';
import { headerFromWire, kvFromWire } from '../../client/client.js';
import { printGet } from './concurrency_print.js';

/** Resolves on the first SIGINT or SIGTERM (listeners removed by the returned cleanup). */
export function untilSignal(): { promise: Promise<void>; cleanup: () => void } {
  let cleanup = () => undefined as void;
  const promise = new Promise<void>((resolve) => {
    const on = () => resolve();
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    cleanup = () => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
    };
  });
  return { promise, cleanup };
}

export function lockCommand(out: (s: string | Uint8Array) => void, _err: (s: string) => void): Command {
  return new Command('lock')
    .description('Acquires a named lock')
    .argument('[args...]')
    .option('--ttl <seconds>', 'timeout for session', '10')
    .action(async (args: string[], o: { ttl: string }, cmd: Command) => {
      if (args.length === 0) throw new CtlError('lock takes a lock name argument and an optional command to execute', ExitCode.BadArgs);
      const g = globals(cmd);
      const ttl = Number.parseInt(o.ttl, 10);
      if (!Number.isFinite(ttl)) throw new CtlError(`invalid argument "${o.ttl}" for "--ttl" flag: strconv.ParseInt: parsing "${o.ttl}": invalid syntax`);
      const sig = untilSignal();
      try {
        await withClient(g, async (c) => {
          const s = await Session.create(c, ttl);
          try {
            const m = new Mutex(s, args[0]);
            await m.lock();
            if (args.length > 1) {
              const code = await new Promise<number | string>((resolve) => {
                const p = spawn(args[1], args.slice(2), {
                  stdio: 'inherit',
                  env: { ETCD_LOCK_KEY: m.key.toString('utf8'), ETCD_LOCK_REV: String(m.rev), ...process.env },
                });
                p.on('error', (e) => resolve(`exec: "${args[1]}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'executable file not found in $PATH' : e.message}`));
                p.on('exit', (c2, signal) => resolve(signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal.toLowerCase()}` : c2 ?? 0));
              });
              await m.unlock();
              if (typeof code === 'string') throw new CtlError(code);
              if (code !== 0) throw new CtlError(`exit status ${code}`);
              return;
            }
            const r = await c.unary<{ header: Parameters<typeof headerFromWire>[0]; kvs: Parameters<typeof kvFromWire>[0][] }>('KV', 'Range', { key: m.key });
            if (r.kvs.length === 0) throw new CtlError('lock lost on init');
            printGet(g, out, headerFromWire(r.header), r.kvs.map(kvFromWire));
            const lost = await Promise.race([sig.promise.then(() => false), s.done.then(() => true)]);
            if (lost) throw new CtlError('session expired');
            await m.unlock();
          } finally {
            await s.close();
          }
        });
      } finally {
        sig.cleanup();
      }
    });
}
