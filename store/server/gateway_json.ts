/**
 * The JSON side of the gateway: a JSON reader that keeps number literals exact (64-bit IDs above 2^53), and
 * the protobuf <-> JSON mapping etcd 3.4's grpc-gateway uses (golang/protobuf jsonpb with OrigName):
 * - responses: field names as in the .proto (`cluster_id`, `grantedTTL`), bytes as standard base64, 64-bit
 *   integers as decimal strings, 32-bit ones as numbers, enums by name, fields with default values omitted,
 *   fields in declaration order;
 * - requests: names as in the .proto or their lowerCamel JSON form (`range_end` / `rangeEnd`), 64-bit integers
 *   as numbers or strings, enums by name or number, unknown fields ignored, null = unset.
 * Errors mimic Go's messages (encoding/json, encoding/base64, jsonpb) since clients show them verbatim;
 * they are thrown as `GatewayDecodeError`.
 */
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoDir } from '../proto/load.js';

/** A request body that cannot be decoded; `message` is Go's wording. */
export class GatewayDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayDecodeError';
  }
}

/** A JSON number literal kept as written. */
export class JsonNumber {
  constructor(readonly src: string) {}
}

/** A parsed JSON value; objects are plain records (last duplicate key wins). */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [k: string]: JsonValue };

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Go's quoting of a character in scanner errors: 'x', '\n', '"'. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return `'${JSON.stringify(c).slice(1, -1)}'`;
}

/**
 * Reads one JSON value at a time from a text (Go's json.Decoder: trailing data after the value is left for the
 * next call). `next()` returns undefined at the end of input (only whitespace left).
 * @throws GatewayDecodeError with Go's scanner messages ("invalid character 'x' looking for beginning of value",
 * "unexpected EOF", ...).
 */
export class JsonReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  /** Characters consumed so far. */
  offset(): number {
    return this.pos;
  }

  /** Whether only whitespace remains. */
  atEnd(): boolean {
    this.skipWs();
    return this.pos >= this.text.length;
  }

  /** The next value, or undefined when the input is exhausted. */
  next(): JsonValue | undefined {
    if (this.atEnd()) return undefined;
    return this.value('beginning of value');
  }

  private skipWs(): void {
    while (this.pos < this.text.length && WS.has(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private fail(context: string): never {
    if (this.pos >= this.text.length) throw new GatewayDecodeError('unexpected EOF');
    throw new GatewayDecodeError(`invalid character ${quoteChar(this.text[this.pos]!)} ${context}`);
  }

  private value(context: string): JsonValue {
    this.skipWs();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    return this.fail(`looking for ${context}`);
  }

  private literal(word: string, v: JsonValue): JsonValue {
    for (let i = 0; i < word.length; i++, this.pos++) {
      if (this.text[this.pos] !== word[i]) this.fail(`in literal ${word} (expecting ${quoteChar(word[i]!)})`);
    }
    return v;
  }

  private number(): JsonNumber {
    const start = this.pos;
    const digits = () => {
      const s = this.pos;
      while (this.pos < this.text.length && this.text[this.pos]! >= '0' && this.text[this.pos]! <= '9') this.pos++;
      return this.pos - s;
    };
    if (this.text[this.pos] === '-') this.pos++;
    if (this.text[this.pos] === '0') this.pos++;
    else if (digits() === 0) this.fail('in numeric literal');
    if (this.text[this.pos] === '.') {
      this.pos++;
      if (digits() === 0) this.fail('after decimal point in numeric literal');
    }
    if (this.text[this.pos] === 'e' || this.text[this.pos] === 'E') {
      this.pos++;
      if (this.text[this.pos] === '+' || this.text[this.pos] === '-') this.pos++;
      if (digits() === 0) this.fail('in exponent of numeric literal');
    }
    return new JsonNumber(this.text.slice(start, this.pos));
  }

  private string(): string {
    const start = ++this.pos;
    let simple = true;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('');
      const ch = this.text.charCodeAt(this.pos);
      if (ch === 0x22) break;
      if (ch < 0x20) this.fail('in string literal');
      if (ch === 0x5c) {
        simple = false;
        const e = this.text[this.pos + 1];
        if (e === undefined) {
          this.pos++;
          this.fail('');
        }
        if (e === 'u') {
          for (let i = 2; i < 6; i++) {
            if (!/[0-9a-fA-F]/.test(this.text[this.pos + i] ?? '')) {
              this.pos += i;
              this.fail('in \\u hexadecimal character escape');
            }
          }
          this.pos += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) {
          this.pos++;
          this.fail('in string escape code');
        }
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    const raw = this.text.slice(start, this.pos);
    this.pos++;
    return simple ? raw : (JSON.parse(`"${raw}"`) as string);
  }

  private object(): { [k: string]: JsonValue } {
    this.pos++;
    const out: { [k: string]: JsonValue } = {};
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail('looking for beginning of object key string');
      const k = this.string();
      this.skipWs();
      if (this.text[this.pos] !== ':') this.fail('after object key');
      this.pos++;
      Object.defineProperty(out, k, { value: this.value('beginning of value'), enumerable: true, writable: true, configurable: true });
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail('after object key:value pair');
    }
  }

  private array(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value('beginning of value'));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail('after array element');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Descriptors

interface FieldDesc { name: string; jsonName: string; number: number; repeated: boolean; type: string; typeName: string }
interface MessageDesc { full: string; goName: string; fields: FieldDesc[]; byName: Map<string, FieldDesc> }
interface EnumDesc { goName: string; byName: Map<string, number>; byNumber: Map<number, string> }

interface RawField { name: string; number: number; label: string; type: string; typeName: string }
interface RawEnum { name: string; value: { name: string; number: number }[] }
interface RawMessage { name: string; field: RawField[]; enumType: RawEnum[]; nestedType: RawMessage[] }

/** protoc's JSON name: underscores removed, the following letter upper-cased. */
function lowerCamel(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

let defs: protoLoader.PackageDefinition | undefined;
const messages = new Map<string, MessageDesc>();
const enums = new Map<string, EnumDesc>();

/** The loaded package definition of rpc.proto (services, messages, enums), loaded once. */
export function packageDefinition(): protoLoader.PackageDefinition {
  if (!defs) defs = protoLoader.loadSync('rpc.proto', { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  return defs;
}

function rawOf(full: string): { raw: RawMessage | RawEnum; kind: 'message' | 'enum'; goName: string } | undefined {
  const d = packageDefinition();
  const top = d[full] as { format?: string; type?: unknown } | undefined;
  if (top?.format?.includes('EnumDescriptorProto')) return { raw: top.type as RawEnum, kind: 'enum', goName: full };
  if (top?.format?.includes('DescriptorProto')) return { raw: top.type as RawMessage, kind: 'message', goName: full };
  // nested: Pkg.Msg.Inner
  const parts = full.split('.');
  for (let i = parts.length - 1; i >= 2; i--) {
    const parent = rawOf(parts.slice(0, i).join('.'));
    if (!parent || parent.kind !== 'message') continue;
    let cur = parent.raw as RawMessage;
    let go = parent.goName;
    for (let j = i; j < parts.length; j++) {
      const name = parts[j]!;
      const last = j === parts.length - 1;
      const en = last ? cur.enumType.find((e) => e.name === name) : undefined;
      if (en) return { raw: en, kind: 'enum', goName: `${go}_${name}` };
      const nm = cur.nestedType.find((m) => m.name === name);
      if (!nm) return undefined;
      cur = nm;
      go = `${go}_${name}`;
      if (last) return { raw: nm, kind: 'message', goName: go };
    }
  }
  return undefined;
}

/** Resolve a field's type name as protobuf scoping does: nested in the message, then its package, then absolute. */
function resolve(scope: string, typeName: string): string {
  const scopeParts = scope.split('.');
  for (let i = scopeParts.length; i >= 1; i--) {
    const cand = `${scopeParts.slice(0, i).join('.')}.${typeName}`;
    if (rawOf(cand)) return cand;
  }
  if (rawOf(typeName)) return typeName;
  throw new Error(`gateway: cannot resolve type ${typeName} in ${scope}`);
}

function message(full: string): MessageDesc {
  let m = messages.get(full);
  if (m) return m;
  const r = rawOf(full);
  if (!r || r.kind !== 'message') throw new Error(`gateway: unknown message ${full}`);
  const raw = r.raw as RawMessage;
  const fields = raw.field.map((f): FieldDesc => ({
    name: f.name,
    jsonName: lowerCamel(f.name),
    number: f.number,
    repeated: f.label === 'LABEL_REPEATED',
    type: f.type,
    typeName: f.typeName ? resolve(full, f.typeName) : '',
  }));
  const byName = new Map<string, FieldDesc>();
  for (const f of fields) {
    byName.set(f.name, f);
    byName.set(f.jsonName, f);
  }
  m = { full, goName: r.goName, fields, byName };
  messages.set(full, m);
  return m;
}

function enumDesc(full: string): EnumDesc {
  let e = enums.get(full);
  if (e) return e;
  const r = rawOf(full);
  if (!r || r.kind !== 'enum') throw new Error(`gateway: unknown enum ${full}`);
  const raw = r.raw as RawEnum;
  e = {
    goName: r.goName,
    byName: new Map(raw.value.map((v) => [v.name, v.number])),
    byNumber: new Map(raw.value.map((v) => [v.number, v.name])),
  };
  enums.set(full, e);
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// JSON -> wire object (request)

const INT_TYPES: Record<string, { go: string; min: bigint; max: bigint; long: boolean }> = {
  TYPE_INT64: { go: 'int64', min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  TYPE_SINT64: { go: 'int64', min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  TYPE_SFIXED64: { go: 'int64', min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  TYPE_UINT64: { go: 'uint64', min: 0n, max: 2n ** 64n - 1n, long: true },
  TYPE_FIXED64: { go: 'uint64', min: 0n, max: 2n ** 64n - 1n, long: true },
  TYPE_INT32: { go: 'int32', min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  TYPE_SINT32: { go: 'int32', min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  TYPE_SFIXED32: { go: 'int32', min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  TYPE_UINT32: { go: 'uint32', min: 0n, max: 2n ** 32n - 1n, long: false },
  TYPE_FIXED32: { go: 'uint32', min: 0n, max: 2n ** 32n - 1n, long: false },
};

function jsonKind(v: JsonValue): string {
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object' && v !== null) return 'object';
  return typeof v;
}

function mismatch(v: JsonValue, goType: string): GatewayDecodeError {
  const shown = v instanceof JsonNumber ? `number ${v.src}` : jsonKind(v);
  return new GatewayDecodeError(`json: cannot unmarshal ${shown} into Go value of type ${goType}`);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_MAP = new Map([...B64].map((c, i) => [c, i]));

/**
 * Standard base64 with padding, as Go's base64.StdEncoding decodes it (newlines skipped), with Go's error
 * positions ("illegal base64 data at input byte N").
 */
export function decodeBase64Strict(s: string): Buffer {
  const bad = (i: number) => new GatewayDecodeError(`illegal base64 data at input byte ${i}`);
  const out: number[] = [];
  let si = 0;
  const skipNl = () => {
    while (si < s.length && (s[si] === '\n' || s[si] === '\r')) si++;
  };
  for (;;) {
    const q = [0, 0, 0, 0];
    let n = 4;
    let j = 0;
    for (; j < 4; j++) {
      if (si === s.length) {
        if (j === 0) return Buffer.from(out);
        throw bad(si - j);
      }
      const ch = s[si]!;
      si++;
      const v = B64_MAP.get(ch);
      if (v !== undefined) {
        q[j] = v;
        continue;
      }
      if (ch === '\n' || ch === '\r') {
        j--;
        continue;
      }
      if (ch !== '=') throw bad(si - 1);
      if (j < 2) throw bad(si - 1);
      if (j === 2) {
        skipNl();
        if (si === s.length) throw bad(s.length);
        if (s[si] !== '=') throw bad(si - 1);
        si++;
      }
      skipNl();
      if (si < s.length) throw bad(si);
      n = j;
      break;
    }
    const v = (q[0]! << 18) | (q[1]! << 12) | (q[2]! << 6) | q[3]!;
    const bytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
    out.push(...bytes.slice(0, n - 1));
    if (n < 4) return Buffer.from(out);
  }
}

function integerOf(v: JsonValue, f: FieldDesc): string | number {
  const t = INT_TYPES[f.type]!;
  let src: string;
  if (v instanceof JsonNumber) src = v.src;
  else if (typeof v === 'string') {
    // jsonpb unquotes a string and reads its content as a JSON number
    const inner = new JsonReader(v);
    let parsed: JsonValue | undefined;
    try {
      parsed = inner.next();
    } catch (e) {
      if (v.length === 0) throw new GatewayDecodeError('unexpected end of JSON input');
      throw e;
    }
    if (parsed === undefined) throw new GatewayDecodeError('unexpected end of JSON input');
    if (!(parsed instanceof JsonNumber) || !inner.atEnd()) throw mismatch(parsed, t.go);
    src = parsed.src;
  } else throw mismatch(v, t.go);
  if (!/^-?\d+$/.test(src)) throw mismatch(new JsonNumber(src), t.go);
  const b = BigInt(src);
  if (b < t.min || b > t.max) throw mismatch(new JsonNumber(src), t.go);
  return t.long ? b.toString() : Number(b);
}

function scalarFromJson(v: JsonValue, f: FieldDesc): unknown {
  switch (f.type) {
    case 'TYPE_BYTES':
      if (typeof v !== 'string') throw mismatch(v, '[]uint8');
      return decodeBase64Strict(v);
    case 'TYPE_STRING':
      if (typeof v !== 'string') throw mismatch(v, 'string');
      return v;
    case 'TYPE_BOOL':
      if (typeof v !== 'boolean') throw mismatch(v, 'bool');
      return v;
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      if (v instanceof JsonNumber) return Number(v.src);
      throw mismatch(v, f.type === 'TYPE_DOUBLE' ? 'float64' : 'float32');
    case 'TYPE_ENUM': {
      const e = enumDesc(f.typeName);
      if (typeof v === 'string') {
        const n = e.byName.get(v);
        if (n === undefined) throw new GatewayDecodeError(`unknown value ${JSON.stringify(v)} for enum ${e.goName}`);
        return n;
      }
      if (v instanceof JsonNumber && /^-?\d+$/.test(v.src)) return Number(v.src);
      throw mismatch(v, e.goName.split('.').pop()!);
    }
    case 'TYPE_MESSAGE':
      return messageFromJson(f.typeName, v);
    default:
      if (INT_TYPES[f.type]) return integerOf(v, f);
      throw new Error(`gateway: unsupported field type ${f.type}`);
  }
}

/**
 * Convert a parsed JSON object to a loose wire object of message `full` (e.g. 'etcdserverpb.RangeRequest'),
 * ready for the method's request serializer (bytes as Buffer, 64-bit as strings, enums as numbers).
 * @throws GatewayDecodeError on a value of the wrong shape, a bad base64 string, an unknown enum name.
 */
export function messageFromJson(full: string, v: JsonValue): Record<string, unknown> {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) throw mismatch(v, 'map[string]json.RawMessage');
  const m = message(full);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const f = m.byName.get(k);
    if (!f || val === null) continue;
    if (f.repeated) {
      if (!Array.isArray(val)) throw mismatch(val, '[]json.RawMessage');
      out[f.name] = val.map((x) => scalarFromJson(x, f));
    } else {
      out[f.name] = scalarFromJson(val, f);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// wire object -> JSON (response)

function scalarToJson(v: unknown, f: FieldDesc): unknown {
  switch (f.type) {
    case 'TYPE_BYTES':
      return Buffer.from(v as Uint8Array).toString('base64');
    case 'TYPE_ENUM':
      return enumDesc(f.typeName).byNumber.get(Number(v)) ?? Number(v);
    case 'TYPE_MESSAGE':
      return messageToJson(f.typeName, v as Record<string, unknown>);
    default:
      if (INT_TYPES[f.type]?.long) return String(v);
      return v;
  }
}

function isDefault(v: unknown, f: FieldDesc): boolean {
  if (v === null || v === undefined) return true;
  if (f.repeated) return (v as unknown[]).length === 0;
  switch (f.type) {
    case 'TYPE_BYTES':
      return (v as Uint8Array).length === 0;
    case 'TYPE_STRING':
      return v === '';
    case 'TYPE_BOOL':
      return v === false;
    case 'TYPE_MESSAGE':
      return false;
    default:
      return Number(v) === 0 && String(v).replace(/^-/, '').replace(/^0+/, '') === '';
  }
}

/**
 * Convert a decoded wire object of message `full` (as the response deserializer gives it) to the JSON object
 * etcd's gateway prints: default-valued fields omitted, bytes base64, 64-bit as strings, enums by name.
 */
export function messageToJson(full: string, obj: Record<string, unknown>): Record<string, unknown> {
  const m = message(full);
  const out: Record<string, unknown> = {};
  for (const f of m.fields) {
    const v = obj[f.name];
    if (isDefault(v, f)) continue;
    out[f.name] = f.repeated ? (v as unknown[]).map((x) => scalarToJson(x, f)) : scalarToJson(v, f);
  }
  return out;
}
