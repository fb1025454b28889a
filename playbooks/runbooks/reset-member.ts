/**
 * Runbook `reset-member`: wipe one member and re-bootstrap it from the others (remove, data dir aside, add as
 * learner, start with state existing, promote), for a member whose data is suspect (CORRUPT alarm, a failed
 * bootstrap, a stale data dir). Refuses unless every OTHER member is healthy: while it runs the cluster has one
 * voter fewer, so any other failure would lose the quorum. A leader hands leadership over first.
 */
import type { Runbook } from './common.js';
import { planMemberRebuild } from './replace-member.js';

export const resetMemberRunbook: Runbook = {
  name: 'reset-member',
  summary: 'wipe one member\'s data and re-bootstrap it from the others, only while every other member is healthy',
  when: 'one member\'s data is suspect (CORRUPT alarm, HashKV differs, leftover data dir from a failed bootstrap)',
  refuses: ['any other member is not healthy (wiping now could break the quorum)', 'the member is the only one', 'the member is not in the membership (use replace-member)'],
  options: ['--member NAME   the member to reset'],
  plan: (inv, facts, opts) => planMemberRebuild('reset', inv, facts, opts),
};
