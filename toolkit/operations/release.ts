import { shq } from '../connectors/types.js';
import { type ReleaseFact, type ReleaseLayout, releaseStampPath } from '../facts/release.js';
import { type Command, type OperationResult, changes, noChange, run } from './types.js';

/** Desired release: where it goes on the host, and the local tarball with its expected SHA-256. */
export interface ReleaseDesired {
  layout: ReleaseLayout;
  /** Local path of the tarball (`quorum-<version>-linux-x64.tar.gz`, one top-level directory). */
  tarball: string;
  /** Expected SHA-256 (hex) of the tarball, from its `.sha256` file. */
  sha256: string;
  notify?: string[];
}

/**
 * Installs a release: pushes the tarball, verifies its SHA-256 on the host (the host refuses a
 * corrupted upload), unpacks it to <root>/<version> (via a temp directory, then rename), records the
 * tarball's hash in <root>/<version>/.release-sha256 and points the links at it. Nothing happens
 * when the recorded hash and all links already match.
 */
export function releaseOp(fact: ReleaseFact, d: ReleaseDesired): OperationResult {
  const { root, version } = d.layout;
  const dir = `${root}/${version}`;
  const linkCmds: Command[] = [];
  const wrongLinks: string[] = [];
  for (const [link, rel] of Object.entries(d.layout.links)) {
    const target = `${dir}/${rel}`;
    if (fact.links[link] !== target) {
      wrongLinks.push(link);
      linkCmds.push(run(`ln -sfn ${shq(target)} ${shq(link)}`));
    }
  }
  if (fact.installedSha256 === d.sha256) {
    if (!linkCmds.length) return noChange(`release ${version} installed (sha256 ${d.sha256.slice(0, 12)})`);
    return changes(linkCmds, `links ${wrongLinks.join(', ')} do not point at release ${version}`, d.notify);
  }
  const incoming = `${root}/.incoming/quorum-${version}.tar.gz`;
  const tmp = `${dir}.unpack`;
  const allLinks = Object.entries(d.layout.links).map(([link, rel]) => run(`ln -sfn ${shq(`${dir}/${rel}`)} ${shq(link)}`));
  const cmds: Command[] = [
    run(`mkdir -p ${shq(`${root}/.incoming`)}`),
    { kind: 'upload', local: d.tarball, path: incoming, mode: '0644' },
    run(`echo ${shq(`${d.sha256}  ${incoming}`)} | sha256sum -c --quiet - || { rm -f ${shq(incoming)}; echo 'release tarball corrupted in transfer (sha256 mismatch)' >&2; exit 1; }`),
    run(`rm -rf ${shq(tmp)} && mkdir -p ${shq(tmp)} && tar -xzf ${shq(incoming)} -C ${shq(tmp)} --strip-components=1 --no-same-owner`),
    run(`echo ${d.sha256} > ${shq(`${tmp}/.release-sha256`)} && rm -rf ${shq(dir)} && mv ${shq(tmp)} ${shq(dir)} && rm -f ${shq(incoming)}`),
    ...allLinks,
  ];
  const why = fact.installedSha256
    ? `release ${version} on the host is from another build (sha256 ${fact.installedSha256.slice(0, 12)})`
    : `release ${version} is not installed (${releaseStampPath(d.layout)} missing)`;
  return changes(cmds, why, d.notify);
}
