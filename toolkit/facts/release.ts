import { shq } from '../connectors/types.js';
import type { Fact } from './types.js';

/** Where a versioned release lives on a host. */
export interface ReleaseLayout {
  /** Install root, e.g. /opt/quorum; releases unpack to <root>/<version>. */
  root: string;
  version: string;
  /** Symlinks that must point into the release: { '/usr/local/bin/quorumd': 'bin/quorumd' }. */
  links: Record<string, string>;
}

/** The installed release as recorded on the host. */
export interface ReleaseFact {
  /** SHA-256 of the tarball <root>/<version> was unpacked from (the file <root>/<version>/.release-sha256). */
  installedSha256?: string;
  /** Current target of each link in `links` (absent when the link does not exist). */
  links: Record<string, string>;
}

/** The file that records which tarball a release directory was unpacked from. */
export function releaseStampPath(l: ReleaseLayout): string {
  return `${l.root}/${l.version}/.release-sha256`;
}

export const releaseFact: Fact<ReleaseLayout, ReleaseFact> = {
  name: 'release',
  command(a) {
    const parts = [`echo "sha256=$(cat ${shq(releaseStampPath(a))} 2>/dev/null)"`];
    for (const link of Object.keys(a.links)) parts.push(`echo "link ${link}=$(readlink ${shq(link)})"`);
    return parts.join('; ');
  },
  parse(stdout) {
    const fact: ReleaseFact = { links: {} };
    for (const line of stdout.split('\n')) {
      const m = /^sha256=([0-9a-f]{64})/.exec(line);
      if (m) fact.installedSha256 = m[1];
      const l = /^link (\S+)=(.+)$/.exec(line);
      if (l) fact.links[l[1]!] = l[2]!.trim();
    }
    return fact;
  },
};
