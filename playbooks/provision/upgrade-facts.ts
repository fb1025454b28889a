/**
 * What `quorum upgrade` reads from a member (one command, one round trip) and how it switches releases.
 * Layout (defaults.ts): releases unpack to `<RELEASE_ROOT>/<version>` (each with `.release-sha256`), the
 * program links in /usr/local/bin point into the active one (that is the "current" link), and
 * `<RELEASE_ROOT>/previous` links to the release the member ran before its last switch (for `--rollback`).
 * The running release is read from the quorumd process itself (`/proc/<MainPID>/exe` is the bundled Node.js
 * of the release it was started from), so a switched link that was never restarted shows up.
 */
import { shq } from '../../toolkit/connectors/types.js';
import { RELEASE_LINKS, RELEASE_ROOT, UNIT } from './defaults.js';

/** A member's releases. Versions are release directory names under RELEASE_ROOT. */
export interface MemberReleases {
  /** The release the program links point into (undefined: no link, or it points elsewhere). */
  active?: string;
  /** The release of the running quorumd (undefined: not running). */
  running?: string;
  /** The executable of the running quorumd when it is not from a release under RELEASE_ROOT. */
  runningOther?: string;
  /** The release the `previous` link names. */
  previous?: string;
  /** Installed releases: version -> SHA-256 of the tarball it was unpacked from. */
  installed: Record<string, string>;
}

/** The link that records a member's previous release. */
export const PREVIOUS_LINK = `${RELEASE_ROOT}/previous`;

const QUORUMD_LINK = Object.keys(RELEASE_LINKS).find((l) => l.endsWith('/quorumd'))!;

/** The shell command that prints a member's releases (run as root: /proc/PID/exe of another user). */
export function releasesCommand(root = RELEASE_ROOT): string {
  return [
    `echo "active=$(readlink ${shq(QUORUMD_LINK)})"`,
    `echo "previous=$(readlink ${shq(`${root}/previous`)})"`,
    `pid=$(systemctl show -p MainPID --value ${UNIT} 2>/dev/null)`,
    'if [ -n "$pid" ] && [ "$pid" != 0 ]; then echo "running=$(readlink /proc/$pid/exe)"; fi',
    `for d in ${shq(root)}/*; do [ -L "$d" ] && continue; case "$d" in *.unpack) continue;; esac; `
    + '[ -f "$d/.release-sha256" ] && echo "installed $(basename "$d") $(head -c 64 "$d/.release-sha256")"; done',
    'true',
  ].join('; ');
}

/** Parses `releasesCommand`'s output. Pure; tolerates missing lines. */
export function parseReleases(stdout: string, root = RELEASE_ROOT): MemberReleases {
  const r: MemberReleases = { installed: {} };
  const esc = root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const version = (path: string, sub: string): string | undefined =>
    new RegExp(`^${esc}/([^/]+)${sub}$`).exec(path.replace(/ \(deleted\)$/, ''))?.[1];
  for (const line of stdout.split('\n')) {
    const kv = /^(active|previous|running)=(.*)$/.exec(line.trim());
    if (kv) {
      const v = kv[2]!.trim();
      if (!v) continue;
      if (kv[1] === 'active') {
        const a = version(v, '/bin/quorumd');
        if (a) r.active = a;
      } else if (kv[1] === 'previous') {
        const p = version(v.replace(/\/+$/, ''), '');
        if (p) r.previous = p;
      } else {
        const run = version(v, '/lib/node');
        if (run) r.running = run;
        else r.runningOther = v;
      }
      continue;
    }
    const inst = /^installed (\S+) ([0-9a-f]{64})$/.exec(line.trim());
    if (inst) r.installed[inst[1]!] = inst[2]!;
  }
  return r;
}

/**
 * The commands that point a member at release `to` and record `previous` (undefined: remove the record).
 * Each link is replaced atomically (a new link renamed over the old). Fails (exit 1, message on stderr) when
 * `to` is not installed. No restart.
 */
export function switchCommand(to: string, previous: string | undefined, root = RELEASE_ROOT): string {
  const dir = `${root}/${to}`;
  const parts = [
    `test -f ${shq(`${dir}/.release-sha256`)} || { echo ${shq(`release ${to} is not installed in ${dir}`)} >&2; exit 1; }`,
  ];
  for (const [link, rel] of Object.entries(RELEASE_LINKS)) {
    parts.push(`ln -sfn ${shq(`${dir}/${rel}`)} ${shq(`${link}.new`)} && mv -Tf ${shq(`${link}.new`)} ${shq(link)}`);
  }
  parts.push(previous
    ? `ln -sfn ${shq(`${root}/${previous}`)} ${shq(`${root}/previous.new`)} && mv -Tf ${shq(`${root}/previous.new`)} ${shq(`${root}/previous`)}`
    : `rm -f ${shq(`${root}/previous`)}`);
  return parts.join(' && ');
}

/** A versions table row. */
export interface VersionRow {
  name: string;
  releases?: MemberReleases;
  /** Why the member could not be read. */
  error?: string;
}

/** The per-member versions table (`quorum upgrade` prints it before and after). */
export function formatVersionsTable(rows: VersionRow[]): string {
  const head = ['MEMBER', 'RUNNING', 'ACTIVE', 'PREVIOUS', 'INSTALLED'];
  const body = rows.map((r) => {
    if (!r.releases) return [r.name, '?', '?', '?', r.error ?? 'not read'];
    const x = r.releases;
    return [r.name, x.running ?? (x.runningOther ? `(${x.runningOther})` : '(stopped)'), x.active ?? '-', x.previous ?? '-',
      Object.keys(x.installed).sort().join(' ') || '-'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(head), ...body.map(line)].join('\n')}\n`;
}
