/**
 * The KV requests etcdctl 3.4 builds from `get`, `put` and `del` arguments (ctlv3/command/get_command.go
 * getGetOp, put_command.go getPutOp, del_command.go getDelOp, and clientv3's OpOption rules), as wire
 * (proto-loader) objects; shared by the get/put/del commands and by the request lines of `txn`.
 * Argument errors throw CtlError with etcdctl's message and exit code (128 bad args, 4 bad feature).
 */
import { prefixRangeEnd } from '../../client/client.js';
import { CtlError } from '../global.js';
import { ExitCode } from '../printer.js';

/** Flags of `get` (etcdctl 3.4; count-only is etcdctl 3.5's). */
export interface GetFlags {
  consistency?: string; order?: string; sortBy?: string; limit?: string | number; prefix?: boolean; fromKey?: boolean;
  rev?: string | number; keysOnly?: boolean; countOnly?: boolean;
}
/** Flags of `put`. */
export interface PutFlags { lease?: string; prevKv?: boolean; ignoreValue?: boolean; ignoreLease?: boolean }
/** Flags of `del`. */
export interface DelFlags { prefix?: boolean; prevKv?: boolean; fromKey?: boolean }

const bytes = (s: string) => Buffer.from(s, 'utf8');
const SORT_TARGETS: Record<string, number> = { '': 0, KEY: 0, VERSION: 1, CREATE: 2, MODIFY: 3, VALUE: 4 };
const SORT_ORDERS: Record<string, number> = { '': 0, ASCEND: 1, DESCEND: 2 };

function int(flag: string, v: string | number | undefined): number {
  if (v === undefined) return 0;
  const s = String(v);
  if (!/^[+-]?\d+$/.test(s)) throw new CtlError(`invalid argument "${s}" for "--${flag}" flag: strconv.ParseInt: parsing "${s}": invalid syntax`, ExitCode.BadArgs);
  return Number(s);
}

/** Key and range end with --prefix / --from-key applied (clientv3 WithPrefix / WithFromKey). */
function keyRange(key: string, rangeEnd: string | undefined, prefix: boolean, fromKey: boolean): { key: Buffer; end: Buffer } {
  let k = bytes(key);
  let end = rangeEnd !== undefined ? bytes(rangeEnd) : Buffer.alloc(0);
  if (prefix) {
    if (k.length === 0) {
      k = Buffer.from([0]);
      end = Buffer.from([0]);
    } else end = Buffer.from(prefixRangeEnd(k));
  }
  if (fromKey) {
    if (k.length === 0) k = Buffer.from([0]);
    end = Buffer.from([0]);
  }
  return { key: k, end };
}

/** `get` args -> RangeRequest wire object. */
export function getRequest(args: string[], f: GetFlags): Record<string, unknown> {
  if (args.length === 0) throw new CtlError('get command needs one argument as key and an optional argument as range_end', ExitCode.BadArgs);
  if (f.prefix && f.fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one', ExitCode.BadArgs);
  const consistency = f.consistency ?? 'l';
  if (consistency !== 'l' && consistency !== 's') throw new CtlError(`unknown consistency flag "${consistency}"`, ExitCode.BadFeature);
  if (args.length > 1 && (f.prefix || f.fromKey)) {
    throw new CtlError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set', ExitCode.BadArgs);
  }
  let order = SORT_ORDERS[(f.order ?? '').toUpperCase()];
  if (order === undefined) throw new CtlError(`bad sort order ${f.order}`, ExitCode.BadFeature);
  const target = SORT_TARGETS[(f.sortBy ?? '').toUpperCase()];
  if (target === undefined) throw new CtlError(`bad sort target ${f.sortBy}`, ExitCode.BadFeature);
  if (target === 0 && order === 1) order = 0; // clientv3.WithSort: ascending by key is the server's natural order
  const { key, end } = keyRange(args[0]!, args[1], !!f.prefix, !!f.fromKey);
  const rev = int('rev', f.rev);
  return {
    key, range_end: end, limit: String(int('limit', f.limit)), revision: String(rev > 0 ? rev : 0),
    sort_order: order, sort_target: target, serializable: consistency === 's', keys_only: !!f.keysOnly, count_only: !!f.countOnly,
  };
}

/** `put` args -> PutRequest wire object (`value` from args[1]). */
export function putRequest(args: string[], f: PutFlags): Record<string, unknown> {
  if (args.length === 0) throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments', ExitCode.BadArgs);
  if (f.ignoreValue && args.length > 1) throw new CtlError("put command needs only 1 argument when 'ignore-value' is set", ExitCode.BadArgs);
  if (!f.ignoreValue && args.length < 2) throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments', ExitCode.BadArgs);
  const leaseText = f.lease ?? '0';
  if (!/^[+-]?[0-9a-fA-F]+$/.test(leaseText)) {
    throw new CtlError(`bad lease ID (strconv.ParseInt: parsing "${leaseText}": invalid syntax), expecting ID in Hex`, ExitCode.BadArgs);
  }
  return {
    key: bytes(args[0]!), value: f.ignoreValue ? Buffer.alloc(0) : bytes(args[1]!), lease: ((leaseText.startsWith('-') ? -1n : 1n) * BigInt('0x' + leaseText.replace(/^[+-]/, ''))).toString(),
    prev_kv: !!f.prevKv, ignore_value: !!f.ignoreValue, ignore_lease: !!f.ignoreLease,
  };
}

/** `del` args -> DeleteRangeRequest wire object. */
export function delRequest(args: string[], f: DelFlags): Record<string, unknown> {
  if (args.length === 0 || args.length > 2) throw new CtlError('del command needs one argument as key and an optional argument as range_end', ExitCode.BadArgs);
  if (f.prefix && f.fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one', ExitCode.BadArgs);
  if (args.length > 1 && (f.prefix || f.fromKey)) {
    throw new CtlError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set', ExitCode.BadArgs);
  }
  const { key, end } = keyRange(args[0]!, args[1], !!f.prefix, !!f.fromKey);
  return { key, range_end: end, prev_kv: !!f.prevKv };
}
