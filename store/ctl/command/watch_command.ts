/**
 * `watch [options] [key or prefix] [range_end]` (etcdctl 3.4 ctlv3/command/watch_command.go, non-interactive
 * mode): watches until interrupted, printing each response: simple = per event its type ("PUT"/"DELETE"),
 * the previous kv (with --prev-kv) and the kv as key and value lines; json = clientv3's WatchResponse
 * ({"Header":…,"Events":[…],"CompactRevision":…,"Canceled":…,"Created":…}). When the server cancels the watch
 * (e.g. its --rev was compacted) it prints "watch was canceled (<reason>)" to stderr and exits 5 with
 * "Error: watch is canceled by the server", as etcdctl does.
 */
import { Command } from 'commander';
import type * as grpc from '@grpc/grpc-js';
import { headerFromWire, kvFromWire, prefixRangeEnd, type KeyValue } from '../../client/client.js';
import { CtlError, authenticate, clientFor, globals, headerJson } from '../global.js';
import { ExitCode, goJson, oe } from '../printer.js';
import { kvJson, kvLines } from './kv_print.js';

/** etcd's message for a watch canceled because its start revision was compacted (v3rpc ErrCompacted). */
const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';

interface WireEvent { type: number; kv: Parameters<typeof kvFromWire>[0]; prev_kv: Parameters<typeof kvFromWire>[0] | null }
interface WireResp {
  header: Parameters<typeof headerFromWire>[0]; watch_id: string; created: boolean; canceled: boolean;
  compact_revision: string; cancel_reason: string; fragment: boolean; events: WireEvent[];
}

/** The create request of the command line (exported for tests). */
export function watchRequest(key: string, rangeEnd: string | undefined, o: { prefix?: boolean; rev?: string; prevKv?: boolean; progressNotify?: boolean }): Record<string, unknown> {
  if (o.prefix && rangeEnd !== undefined) throw new CtlError('`range_end` and `--prefix` are mutually exclusive', ExitCode.BadArgs);
  let k = Buffer.from(key);
  let end: Buffer = rangeEnd !== undefined ? Buffer.from(rangeEnd) : Buffer.alloc(0);
  if (o.prefix) {
    if (k.length === 0) {
      k = Buffer.from([0]);
      end = Buffer.from([0]);
    } else end = Buffer.from(prefixRangeEnd(k));
  }
  const rev = Number(o.rev ?? 0);
  if (!Number.isInteger(rev)) throw new CtlError(`invalid argument "${o.rev}" for "--rev" flag: strconv.ParseInt: parsing "${o.rev}": invalid syntax`, ExitCode.BadArgs);
  return {
    create_request: {
      key: k, range_end: end, start_revision: String(rev), progress_notify: !!o.progressNotify, filters: [],
      prev_kv: !!o.prevKv, watch_id: '0', fragment: false,
    },
  };
}

/** One response in etcdctl's simple format. */
export function watchSimple(events: { type: number; kv: KeyValue; prevKv?: KeyValue }[], hex: boolean): string {
  let s = '';
  for (const e of events) {
    s += (e.type === 1 ? 'DELETE' : 'PUT') + '\n';
    if (e.prevKv) s += kvLines(e.prevKv, false, hex);
    s += kvLines(e.kv, false, hex);
  }
  return s;
}

export function watchCommand(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('watch')
    .description('Watches events stream on keys or prefixes')
    .argument('[key]')
    .argument('[range_end]')
    .option('-i, --interactive', 'Interactive mode')
    .option('--prefix', 'Watch on a prefix if prefix is set')
    .option('--rev <n>', 'Revision to start watching', '0')
    .option('--prev-kv', 'get the previous key-value pair before the event happens')
    .option('--progress-notify', 'get periodic watch progress notification from server')
    .action(async (key: string | undefined, rangeEnd: string | undefined, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      if (o.interactive) throw new CtlError('interactive watch is not supported by quorumctl yet', ExitCode.BadFeature);
      key = key ?? process.env.ETCDCTL_WATCH_KEY;
      rangeEnd = rangeEnd ?? process.env.ETCDCTL_WATCH_RANGE_END;
      if (key === undefined) throw new CtlError('watch in non-interactive mode requires one or two arguments as key or prefix, with range end', ExitCode.BadArgs);
      const req = watchRequest(key, rangeEnd, { prefix: !!o.prefix, rev: o.rev as string, prevKv: !!o.prevKv, progressNotify: !!o.progressNotify });
      const c = clientFor(g, g.endpoints[0]!);
      await authenticate(g, c);
      const call = (c.rawClient('Watch') as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, WireResp> }).Watch(c.metadata());
      const reason = await new Promise<string | undefined>((resolve, reject) => {
        call.on('data', (r: WireResp) => {
          if (r.created && !r.canceled) return; // clientv3 does not pass the created notification on
          const events = r.events.map((e) => ({
            type: e.type, kv: kvFromWire(e.kv), prevKv: e.prev_kv ? kvFromWire(e.prev_kv) : undefined,
          }));
          let why: string | undefined;
          if (r.canceled) {
            why = Number(r.compact_revision) > 0 ? COMPACTED : r.cancel_reason;
            err(`watch was canceled (${why})\n`);
          }
          if (g.writeOut === 'json') {
            out(goJson({
              Header: headerJson(headerFromWire(r.header)),
              Events: events.length > 0 ? events.map((e) => ({ type: oe(e.type), kv: kvJson(e.kv), prev_kv: e.prevKv ? kvJson(e.prevKv) : undefined })) : null,
              CompactRevision: Number(r.compact_revision),
              Canceled: r.canceled,
              Created: r.created,
            }) + '\n');
          } else out(watchSimple(events, g.hex));
          if (r.canceled) resolve(why);
        });
        call.on('error', (e: grpc.ServiceError) => (e.code === 1 ? resolve(undefined) : reject(new CtlError(e.details || e.message))));
        call.on('end', () => resolve(undefined));
        call.write(req);
      });
      call.cancel();
      c.close();
      void reason;
      throw new CtlError('watch is canceled by the server', ExitCode.Interrupted);
    });
}
