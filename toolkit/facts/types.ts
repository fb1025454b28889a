import type { Connector } from '../connectors/types.js';

/**
 * A fact: one read-only shell command plus a typed parser of its output (pyinfra's idea).
 * `parse` gets the command's stdout and exit code; it never throws on "absent" (returns a value
 * that says so) but throws `FactParseError` on output it does not understand.
 */
export interface Fact<A, T> {
  /** Stable name, also the fixture directory: test/toolkit/fixtures/facts/<name>/. */
  readonly name: string;
  /** The shell command (POSIX sh) that reads the fact. Must not change anything on the host. */
  command(args: A): string;
  /** Parses stdout + exit code into the fact's value. */
  parse(stdout: string, code: number, args: A): T;
}

/** The fact's output could not be understood. */
export class FactParseError extends Error {
  constructor(fact: string, detail: string) {
    super(`fact ${fact}: ${detail}`);
    this.name = 'FactParseError';
  }
}

/** One fact to read with its arguments. */
export interface FactRequest<A = any, T = any> {
  fact: Fact<A, T>;
  args: A;
}

/** Builds a request (keeps the types of `fact` and `args` together). */
export function want<A, T>(fact: Fact<A, T>, args: A): FactRequest<A, T> {
  return { fact, args };
}

function keyOf(r: FactRequest): string {
  return `${r.fact.name}:${JSON.stringify(r.args)}`;
}

/** Raw output of one fact command. */
export interface RawFact { stdout: string; code: number }

/** The facts read from one host, looked up with the same (fact, args) used to request them. */
export class FactSet {
  constructor(private readonly raw: Map<string, RawFact>) {}

  /** A FactSet whose raw outputs come from `answer` instead of a host (offline plans, tests). */
  static fromRequests(reqs: FactRequest[], answer: (r: FactRequest) => RawFact): FactSet {
    return new FactSet(new Map(reqs.map((r) => [keyOf(r), answer(r)])));
  }

  /** The parsed fact; throws if it was not gathered (a planner bug). */
  get<A, T>(fact: Fact<A, T>, args: A): T {
    const r = this.raw.get(keyOf({ fact, args }));
    if (!r) throw new Error(`fact ${fact.name} ${JSON.stringify(args)} was not gathered`);
    return fact.parse(r.stdout, r.code, args);
  }

  /** True when the fact was gathered. */
  has<A, T>(fact: Fact<A, T>, args: A): boolean {
    return this.raw.has(keyOf({ fact, args }));
  }
}

const MARK = '@@QUORUM-FACT';

/**
 * The single script that reads all requested facts in ONE round trip: each command runs in a
 * subshell (stderr discarded) between delimiter lines; the end line carries its exit code.
 */
export function gatherScript(reqs: FactRequest[]): string {
  const lines = ['export LC_ALL=C'];
  reqs.forEach((r, i) => {
    lines.push(`echo '${MARK} ${i} begin'`);
    lines.push(`( ${r.fact.command(r.args)}\n) </dev/null 2>/dev/null`);
    lines.push(`printf '\\n${MARK} ${i} end %s\\n' "$?"`);
  });
  return lines.join('\n') + '\n';
}

/** Splits the output of `gatherScript` back into one raw result per request. */
export function splitGatherOutput(reqs: FactRequest[], stdout: string): Map<string, RawFact> {
  const out = new Map<string, RawFact>();
  const re = new RegExp(`^${MARK} (\\d+) begin\\n([\\s\\S]*?)\\n${MARK} \\1 end (\\d+)$`, 'gm');
  for (const m of stdout.matchAll(re)) {
    const r = reqs[Number(m[1])];
    if (r) out.set(keyOf(r), { stdout: m[2]!, code: Number(m[3]) });
  }
  for (const r of reqs) {
    if (!out.has(keyOf(r))) throw new FactParseError(r.fact.name, 'no output (the fact script was cut short)');
  }
  return out;
}

/**
 * Reads all `reqs` on the host through `conn` in one command (run with sudo).
 * Throws `ConnectorError` when the host cannot be reached, `FactParseError` on garbled output.
 */
export async function gatherFacts(conn: Connector, reqs: FactRequest[]): Promise<FactSet> {
  const unique = new Map(reqs.map((r) => [keyOf(r), r]));
  const list = [...unique.values()];
  const res = await conn.run('/bin/sh -s', { sudo: true, stdin: gatherScript(list) });
  return new FactSet(splitGatherOutput(list, res.stdout));
}
