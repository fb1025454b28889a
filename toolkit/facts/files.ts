import { shq } from '../connectors/types.js';
import { type Fact, FactParseError } from './types.js';

/** Metadata shared by file and directory facts. Modes are 4-digit octal strings ("0700"). */
export interface PathMeta { owner: string; group: string; mode: string }

/** A directory: absent, or present with its kind (`directory: false` when something else sits there). */
export type DirectoryFact = { exists: false } | ({ exists: true; directory: boolean } & PathMeta);

function parseStat(fact: string, line: string): { kind: string } & PathMeta {
  const f = line.trim().split('|');
  if (f.length !== 4) throw new FactParseError(fact, `unexpected stat output: ${line.trim()}`);
  return { kind: f[0]!, owner: f[1]!, group: f[2]!, mode: f[3]!.padStart(4, '0') };
}

const STAT = `stat -c '%F|%U|%G|%a'`;

export const directoryFact: Fact<{ path: string }, DirectoryFact> = {
  name: 'directory',
  command: (a) => `${STAT} -- ${shq(a.path)}`,
  parse(stdout, code) {
    if (code !== 0 || stdout.trim() === '') return { exists: false };
    const s = parseStat('directory', stdout.split('\n')[0]!);
    return { exists: true, directory: s.kind === 'directory', owner: s.owner, group: s.group, mode: s.mode };
  },
};

/** A regular file with its SHA-256 (hex); absent when `exists: false`. */
export type FileFact = { exists: false } | ({ exists: true; regular: boolean; sha256?: string } & PathMeta);

export const fileFact: Fact<{ path: string }, FileFact> = {
  name: 'file',
  command: (a) => `${STAT} -- ${shq(a.path)} && if [ -f ${shq(a.path)} ]; then sha256sum -- ${shq(a.path)}; fi`,
  parse(stdout, code) {
    const lines = stdout.split('\n');
    if (code !== 0 || stdout.trim() === '') return { exists: false };
    const s = parseStat('file', lines[0]!);
    const regular = s.kind.startsWith('regular');
    const sha = /^([0-9a-f]{64})\s/.exec(lines[1] ?? '')?.[1];
    return { exists: true, regular, owner: s.owner, group: s.group, mode: s.mode, ...(sha ? { sha256: sha } : {}) };
  },
};

/** The text content of a file (UTF-8); undefined when it does not exist or cannot be read. */
export const fileContentFact: Fact<{ path: string }, string | undefined> = {
  name: 'file_content',
  command: (a) => `cat -- ${shq(a.path)}`,
  parse: (stdout, code) => (code === 0 ? stdout : undefined),
};
