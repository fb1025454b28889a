/**
 * Which Raft entry encoding a release decodes, and the refusal to switch a cluster to a release that cannot read
 * its log. Once every member runs a release that decodes entry encoding 2 (store/server/entry_codec_gate.ts), the
 * members may write v2 entries; a pre-v2 release then stops at start with "cannot decode the committed entry",
 * so `quorum upgrade` (and `--rollback`) refuses such a switch before changing anything.
 *
 * A release's encoding is read on the host from its own binary: `<RELEASE_ROOT>/<version>/bin/quorumd --version`
 * prints "Entry encoding: N" (after etcd's "etcd Version / Git SHA / Go Version / Go OS/Arch" lines); a quorumd
 * that exits 0 without that line is a pre-v2 release (encoding 1). One that cannot run at all is "unknown": it is
 * not refused here (it cannot start either, so the health gate switches the first member back).
 */
import { shq } from '../../toolkit/connectors/types.js';
import { RELEASE_LINKS, RELEASE_ROOT } from './defaults.js';

/** The first entry encoding that a pre-v2 release cannot read. */
export const ENTRY_V2 = 2;

/** A release's entry encoding: a number, or 'unknown' when its quorumd --version did not run (exit != 0, missing). */
export type Encoding = number | 'unknown';

const QUORUMD_IN_RELEASE = Object.entries(RELEASE_LINKS).find(([l]) => l.endsWith('/quorumd'))![1];

/**
 * The shell command that prints `encoding <version> <N|none|unknown>` for each of `versions` installed under
 * `root` ("none": --version exited 0 without an "Entry encoding:" line; "unknown": it did not run). Read-only.
 */
export function encodingsCommand(versions: string[], root = RELEASE_ROOT): string {
  return [...new Set(versions)].map((v) => {
    const bin = `${root}/${v}/${QUORUMD_IN_RELEASE}`;
    return `if out=$(${shq(bin)} --version 2>/dev/null); then `
      + `n=$(printf '%s\\n' "$out" | sed -n 's/^Entry encoding: *\\([0-9][0-9]*\\) *$/\\1/p' | head -n 1); `
      + `echo ${shq(`encoding ${v}`)} "\${n:-none}"; else echo ${shq(`encoding ${v} unknown`)}; fi`;
  }).concat('true').join('; ');
}

/** Parses `encodingsCommand`'s output: version -> encoding ("none" = 1, a pre-v2 release). Pure. */
export function parseEncodings(stdout: string): Record<string, Encoding> {
  const out: Record<string, Encoding> = {};
  for (const line of stdout.split('\n')) {
    const m = /^encoding (\S+) (\d+|none|unknown)$/.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2] === 'none' ? 1 : m[2] === 'unknown' ? 'unknown' : Number(m[2]);
  }
  return out;
}

/** One member's facts for the decision: the release it runs now and the encodings read on its host. */
export interface EncodingFacts {
  name: string;
  /** The release the member runs (or whose links are active). */
  current: string;
  /** The encoding of `current` on this host ('unknown' counts as v2: the log may hold v2 entries). */
  currentEncoding: Encoding;
  /** The encoding of the target release on this host; undefined while it is not installed there. */
  targetEncoding?: Encoding;
}

/**
 * Pure: the refusal of a switch to `target` (undefined when allowed or not yet known). Refused when EVERY member
 * runs a release that decodes v2 (or whose encoding could not be read: the gate may have opened, so the logs may
 * hold v2 entries) and the target, read on some member's host, decodes only v1. While at least one member runs a
 * pre-v2 release the gate is closed (it does not advertise v2), so nothing was written as v2 and going back to a
 * pre-v2 release (a stopped upgrade's rollback) is allowed.
 */
export function encodingRefusal(members: EncodingFacts[], target: string, how: 'upgrade' | 'rollback', inventoryFile: string): { reason: string; fix: string } | undefined {
  if (!members.length) return undefined;
  const decodesV2 = (e: Encoding) => e === 'unknown' || e >= ENTRY_V2;
  if (!members.every((m) => decodesV2(m.currentEncoding))) return undefined;
  const pre = members.find((m) => typeof m.targetEncoding === 'number' && m.targetEncoding < ENTRY_V2);
  if (!pre) return undefined;
  const currents = [...new Set(members.map((m) => m.current))];
  const currentEnc = members.map((m) => m.currentEncoding).find((e) => typeof e === 'number') ?? ENTRY_V2;
  return {
    reason: `release ${target} decodes entry encoding ${pre.targetEncoding} only (its quorumd --version on ${pre.name} prints no `
      + `"Entry encoding: ${ENTRY_V2}" line), but every member runs release ${currents.join(', ')}, which decodes entry encoding ${currentEnc}: `
      + `the members may already have written v2 entries, and a member switched to ${target} would stop with "cannot decode the committed entry"; `
      + `nothing was switched`,
    fix: `stay on ${currents.join(', ')}, or ${how === 'rollback' ? 'upgrade' : 'switch'} to a release whose \`quorumd --version\` prints `
      + `"Entry encoding: ${ENTRY_V2}" or higher (\`quorum upgrade -i ${inventoryFile} --release <tarball>\`); going back to ${target} `
      + `means a new cluster from a backup taken now (\`quorum backup\`, then \`quorum runbook restore --snapshot FILE\` on ${target})`,
  };
}
