/**
 * The cluster-wide gate for entry encoding v2 (entry_codec.ts), after etcd's cluster version: a member
 * advertises the newest entry encoding it decodes in its publish request (`entryVersion`, a JSON field that
 * pre-v2 members ignore), every member records it as applied state (MemberInfo.entryVersion, kept in state
 * snapshots), and a proposer emits v2 only while EVERY member of the current membership (voters and learners)
 * has published `entryVersion >= 2`. Otherwise it emits v1, which every release decodes.
 *
 * - Rolling upgrade: members publish on every start, so the gate opens when the last member has restarted on a
 *   v2 build. A member added later has no entryVersion until it publishes: the gate is closed meanwhile.
 * - A member whose view may be stale (its state came from a snapshot written by a pre-v2 build, which drops the
 *   field) publishes with `refresh`; members on a v2 build answer by publishing themselves again, so every view
 *   converges. A publish without the field (a pre-v2 binary, or a member rolled back) clears the member's
 *   capability and closes the gate for new proposals.
 * - Not covered (documented in docs/CONTRACTS.md): entries already written as v2 cannot be read by a pre-v2
 *   binary, so rolling a member back to a pre-v2 release, or adding a pre-v2 member, after the gate opened is
 *   unsupported (etcd refuses downgrades without its downgrade API in the same way).
 *
 * Test switch: QUORUMD_TEST_ENTRY_V1_ONLY=1 makes a member publish as a pre-v2 build does (no entryVersion), so a
 * test can hold the gate closed; the member still decodes both encodings.
 */
import type { MemberInfo } from './members.js';

/** The newest entry encoding this build decodes. */
export const ENTRY_VERSION = 2;

let advertised: number | undefined;

/** What this member advertises in its publish request: ENTRY_VERSION, or undefined under the test switch. */
export function advertisedEntryVersion(): number | undefined {
  if (advertised === undefined) {
    const v1Only = process.env.QUORUMD_TEST_ENTRY_V1_ONLY === '1';
    if (v1Only) process.stderr.write('quorumd: QUORUMD_TEST_ENTRY_V1_ONLY=1: publishing as a pre-v2 build (test switch)\n');
    advertised = v1Only ? 0 : ENTRY_VERSION;
  }
  return advertised === 0 ? undefined : advertised;
}

/** True when every member of `members` (voters and learners) has published entryVersion >= 2. */
export function entryV2Allowed(members: readonly MemberInfo[]): boolean {
  if (members.length === 0) return false;
  for (const m of members) if ((m.entryVersion ?? 1) < 2) return false;
  return true;
}
