/**
 * `txn [-i]` (etcdctl 3.4 ctlv3/command/txn_command.go): reads three blank-line-terminated sections from stdin,
 * compares, success requests, failure requests (with prompts when --interactive), sends one Txn, prints
 * "SUCCESS"/"FAILURE" and each response (simple) or the whole response (json).
 * Compare lines: `<target>("<key>") <op> "<value>"`, target ver|version|c|create|m|mod|val|value|lease,
 * op = != < >. Request lines: `get|put|del` with the same arguments and flags as the commands.
 * Input errors exit 3 (etcdctl's ExitInvalidInput), as does end of input before a section's blank line ("EOF").
 */
import { Command, Option } from 'commander';
import { headerFromWire, kvFromWire } from '../../client/client.js';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { ExitCode, goJson, oe, UnsupportedFormatError } from '../printer.js';
import { delRequest, getRequest, putRequest } from './kv_request.js';
import { kvJson, kvLines } from './kv_print.js';

type Wire = Record<string, any>;

/** Reads '\n'-terminated lines from a stream; a line without its '\n' at the end of input is EOF (Go's ReadString). */
export class LineReader {
  private buf = '';
  private ended = false;
  private waiting: (() => void) | undefined;
  constructor(input: NodeJS.ReadableStream) {
    input.setEncoding?.('utf8');
    input.on('data', (d: string | Buffer) => {
      this.buf += d.toString();
      this.wake();
    });
    input.on('end', () => {
      this.ended = true;
      this.wake();
    });
    input.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
  /** The next line without its '\n'. @throws CtlError "EOF" (exit 3) when input ends first. */
  async readLine(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        return line;
      }
      if (this.ended) throw new CtlError('EOF', ExitCode.InvalidInput);
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
}

/** Go strconv.Unquote for "..." and `...` literals (common escapes). */
function unquote(q: string): string {
  if (q.startsWith('`')) return q.slice(1, -1);
  return JSON.parse(q.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
}

const QUOTED = '("(?:[^"\\\\]|\\\\.)*"|`[^`]*`)';
const CMP_RE = new RegExp(`^${QUOTED}\\)\\s+(\\S+)\\s+${QUOTED}`);
const RESULTS: Record<string, number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };

/** One compare line -> Compare wire object. @throws CtlError (exit 3; an unknown operator exits 2 as etcdctl's panic) */
export function parseCompare(line: string): Wire {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CtlError(`malformed comparison: ${line}`, ExitCode.InvalidInput);
  const target = line.slice(0, paren);
  const m = CMP_RE.exec(line.slice(paren + 1));
  if (!m) throw new CtlError(`malformed comparison: ${line}`, ExitCode.InvalidInput);
  const key = unquote(m[1]!);
  const op = m[2]!;
  const val = unquote(m[3]!);
  const kinds: Record<string, [number, string]> = {
    ver: [0, 'version'], version: [0, 'version'], c: [1, 'create_revision'], create: [1, 'create_revision'],
    m: [2, 'mod_revision'], mod: [2, 'mod_revision'], val: [3, 'value'], value: [3, 'value'], lease: [4, 'lease'],
  };
  const kind = kinds[target];
  if (!kind) throw new CtlError(`malformed comparison: ${line} (unknown target ${target})`, ExitCode.InvalidInput);
  let v: unknown;
  if (kind[0] === 3) v = Buffer.from(val, 'utf8');
  else {
    if (!/^[+-]?\d+$/.test(val)) throw new CtlError(`invalid txn compare request: ${line}`, ExitCode.InvalidInput);
    v = BigInt(val).toString();
  }
  const result = RESULTS[op];
  if (result === undefined) throw new CtlError('Unknown result op', 2);
  return { key: Buffer.from(key, 'utf8'), target: kind[0], result, [kind[1]]: v };
}

/** etcdctl's argify: whitespace-separated words, "double" (Go-unquoted) and 'single' quoted strings. */
export function argify(s: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  return (s.match(re) ?? []).map((a) => (a.startsWith("'") ? a.slice(1, -1) : a.startsWith('"') ? unquote(a) : a));
}

const BOOL_FLAGS: Record<string, Set<string>> = {
  get: new Set(['prefix', 'from-key', 'keys-only', 'count-only', 'print-value-only']),
  put: new Set(['prev-kv', 'ignore-value', 'ignore-lease']),
  del: new Set(['prefix', 'prev-kv', 'from-key']),
};
const VALUE_FLAGS: Record<string, Set<string>> = {
  get: new Set(['consistency', 'order', 'sort-by', 'limit', 'rev']),
  put: new Set(['lease']),
  del: new Set(),
};
const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** One request line -> RequestOp wire object. @throws CtlError "invalid txn request: LINE" (exit 3) */
export function parseRequestLine(line: string): Wire {
  const args = argify(line);
  if (args.length < 2) throw new CtlError(`invalid txn compare request: ${line}`, ExitCode.InvalidInput);
  const cmd = args[0]!;
  const bad = () => new CtlError(`invalid txn request: ${line}`, ExitCode.InvalidInput);
  if (!BOOL_FLAGS[cmd]) throw bad();
  const pos: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      pos.push(...args.slice(i + 1));
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      pos.push(a);
      continue;
    }
    const name = m[1]!;
    if (BOOL_FLAGS[cmd]!.has(name)) {
      if (m[2] === undefined || m[2] === 'true') flags[camel(name)] = true;
      else if (m[2] !== 'false') throw bad();
    } else if (VALUE_FLAGS[cmd]!.has(name)) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw bad();
      flags[camel(name)] = v;
    } else throw bad();
  }
  if (cmd === 'get') return { request_range: getRequest(pos, flags) };
  if (cmd === 'put') return { request_put: putRequest(pos, flags) };
  return { request_delete_range: delRequest(pos, flags) };
}

/** The simple (SUCCESS/FAILURE + each response) rendering of a TxnResponse wire object. */
export function txnSimple(r: Wire, hex = false): string {
  let s = r.succeeded ? 'SUCCESS\n' : 'FAILURE\n';
  for (const op of r.responses as Wire[]) {
    s += '\n';
    if (op.response_put) {
      s += 'OK\n';
      if (op.response_put.prev_kv) s += kvLines(kvFromWire(op.response_put.prev_kv as never), false, hex);
    } else if (op.response_delete_range) {
      const d = op.response_delete_range;
      s += `${Number(d.deleted)}\n`;
      for (const kv of d.prev_kvs as Wire[]) s += kvLines(kvFromWire(kv as never), false, hex);
    } else if (op.response_range) {
      for (const kv of op.response_range.kvs as Wire[]) s += kvLines(kvFromWire(kv as never), false, hex);
    }
  }
  return s;
}

function opJson(op: Wire): Record<string, unknown> {
  const kvs = (l: Wire[]) => oe(l.map((k) => kvJson(kvFromWire(k as never))));
  if (op.response_put) {
    const p = op.response_put;
    return { Response: { ResponsePut: { header: headerJson(headerFromWire(p.header)), prev_kv: p.prev_kv ? kvJson(kvFromWire(p.prev_kv as never)) : undefined } } };
  }
  if (op.response_delete_range) {
    const d = op.response_delete_range;
    return { Response: { ResponseDeleteRange: { header: headerJson(headerFromWire(d.header)), deleted: oe(Number(d.deleted)), prev_kvs: kvs(d.prev_kvs) } } };
  }
  if (op.response_range) {
    const g = op.response_range;
    return { Response: { ResponseRange: { header: headerJson(headerFromWire(g.header)), kvs: kvs(g.kvs), more: oe(g.more), count: oe(Number(g.count)) } } };
  }
  return { Response: { ResponseTxn: txnJson(op.response_txn) } };
}

/** etcdctl's JSON of a TxnResponse (Go encoding/json of the protobuf struct: oneofs as "Response":{"ResponsePut":...}). */
export function txnJson(r: Wire): Record<string, unknown> {
  return { header: headerJson(headerFromWire(r.header)), succeeded: oe(r.succeeded), responses: oe((r.responses as Wire[]).map(opJson)) };
}

/** Read the three sections from `reader`, prompting on `out` when interactive. */
export async function readTxn(reader: LineReader, interactive: boolean, out: (s: string) => void): Promise<Wire> {
  const section = async (parse: (l: string) => Wire): Promise<Wire[]> => {
    const items: Wire[] = [];
    for (;;) {
      const line = (await reader.readLine()).trim();
      if (line.length === 0) return items;
      items.push(parse(line));
    }
  };
  if (interactive) out('compares:\n');
  const compare = await section(parseCompare);
  if (interactive) out('success requests (get, put, del):\n');
  const success = await section(parseRequestLine);
  if (interactive) out('failure requests (get, put, del):\n');
  const failure = await section(parseRequestLine);
  return { compare, success, failure };
}

export function txnCommand(out: (s: string) => void, input: () => NodeJS.ReadableStream = () => process.stdin): Command {
  return new Command('txn')
    .description('Txn processes all the requests in one transaction')
    .argument('[args...]')
    .option('-i, --interactive', 'Input transaction in interactive mode')
    .addOption(new Option('--no-interactive').hideHelp())
    .action(async (args: string[], o: { interactive?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (args.length !== 0) throw new CtlError('txn command does not accept argument', ExitCode.BadArgs);
      if (g.writeOut !== 'simple' && g.writeOut !== 'json') throw new UnsupportedFormatError(g.writeOut);
      const req = await readTxn(new LineReader(input()), !!o.interactive, out);
      const r = await withClient(g, (c) => c.unary<Wire>('KV', 'Txn', req));
      out(g.writeOut === 'json' ? goJson(txnJson(r)) + '\n' : txnSimple(r, g.hex));
    });
}
