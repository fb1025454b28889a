/**
 * The restore page's section on etcd 3.5's `--bump-revision N --mark-compacted` and on what a restore keeps, with
 * the plan of the example run with the bump (docs.ts puts it into docs/runbooks/restore.md).
 */
import { examples, exampleInventory } from './examples.js';
import { restoreRunbook } from './restore.js';
import { formatRunbookPlan } from './steps.js';

/** Markdown lines (ends with an empty line). */
export function restoreDocSection(): string[] {
  const e = examples()['restore']!;
  const plan = restoreRunbook.plan(exampleInventory(), e.facts, { ...e.opts, bumpRevision: 1_000_000_000, markCompacted: true });
  const bumped = formatRunbookPlan(exampleInventory(), plan).split('\n').filter((l) => /--bump-revision|revision bump|verify the data/.test(l));
  return [
    '## Revision bump (Kubernetes and other watchers)', '',
    'A restore rolls the data back to the snapshot\'s revision, but clients (Kubernetes informers, controllers with watch',
    'caches) remember later revisions. With `--bump-revision N --mark-compacted` (etcd 3.5\'s `snapshot restore` options;',
    'both or neither; off by default) every member restores at revision + N, marked compacted:',
    '', '- every key\'s next mod revision is above anything a client saw before the disaster (pick N above the number of',
    '  writes since the backup; 1000000000 is etcd\'s suggestion);',
    '- a watch resumed from an older revision is cancelled with `compact_revision` set ("mvcc: required revision has been',
    '  compacted"), and a read at an older revision fails the same way, so informers re-list (HTTP 410) instead of',
    '  resuming from a history that no longer exists;',
    '- the history before the restored revision is gone (compacted), the live data is exactly the snapshot\'s.', '',
    'The same example with `--bump-revision 1000000000 --mark-compacted`, the lines that change:', '', '```', ...bumped, '```', '',
    '## What a restore keeps', '',
    '- the keys and, without the bump, their history up to the snapshot\'s revision;',
    '- leases, each with its granted TTL (the countdown restarts when the restored cluster elects a leader, as etcd\'s);',
    '- users, roles and whether auth is enabled (log in as before);',
    '- not the membership (the inventory\'s members form a new cluster with a new token and new member IDs), nor alarms.', '',
    'Backups taken by older versions hold the keys only: a restore from one brings no leases back (keys attached to',
    'a lease stay, detached) and auth disabled.', '',
  ];
}
