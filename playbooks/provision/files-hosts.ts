/**
 * Merge the cluster's managed block into an existing /etc/hosts.
 */

/** Markers of the managed block (the cluster name keeps several clusters' blocks apart). */
export function hostsMarkers(cluster: string): { begin: string; end: string } {
  return {
    begin: `# BEGIN quorum cluster ${cluster} (managed: edits inside this block are overwritten)`,
    end: `# END quorum cluster ${cluster}`,
  };
}

/**
 * Return `existing` with the managed block replaced by `block` (which starts with the begin marker and
 * ends with the end marker). Kept: every line outside the block, except that member names are removed
 * from foreign lines that map them to another address (Debian's `127.0.1.1 etcd-01` would make a
 * member resolve itself to loopback); a foreign line left with no names is dropped. Localhost lines
 * are never touched. The block goes where the old one was, else at the end. Idempotent:
 * `mergeHosts(mergeHosts(x, b), b) === mergeHosts(x, b)`.
 */
export function mergeHosts(existing: string, block: string, begin: string, end: string, members: Map<string, string>): string {
  const lines = existing.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: Array<string | null> = [];
  let insertAt = -1;
  let inBlock = false;
  for (const line of lines) {
    if (line === begin) { inBlock = true; if (insertAt < 0) insertAt = out.length; continue; }
    if (inBlock) { if (line === end) inBlock = false; continue; }
    out.push(filterForeign(line, members));
  }
  const kept = out.filter((l): l is string => l !== null);
  const blockLines = block.replace(/\n$/, '').split('\n');
  // Recompute the insert position after dropping lines.
  let pos = kept.length;
  if (insertAt >= 0) pos = out.slice(0, insertAt).filter((l) => l !== null).length;
  kept.splice(pos, 0, ...blockLines);
  return kept.join('\n') + '\n';
}

function filterForeign(line: string, members: Map<string, string>): string | null {
  const body = line.replace(/#.*$/, '').trim();
  if (body === '') return line;
  const fields = body.split(/\s+/);
  const addr = fields[0];
  const names = fields.slice(1);
  if (names.some((n) => n === 'localhost' || n.startsWith('localhost.') || n.startsWith('ip6-'))) return line;
  const keep = names.filter((n) => {
    const want = members.get(n.toLowerCase());
    return want === undefined || want === addr;
  });
  if (keep.length === names.length) return line;
  if (keep.length === 0) return null;
  const comment = line.includes('#') ? ' ' + line.slice(line.indexOf('#')) : '';
  return `${addr}\t${keep.join(' ')}${comment}`;
}
