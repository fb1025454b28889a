/**
 * The example cluster and the failure each runbook's example plan starts from: docs/runbooks/ shows these plans,
 * and the planner unit tests assert them. Fixed inventory text, facts and time: the output is deterministic.
 */
import { parseInventory } from '../../toolkit/inventory/index.js';
import type { Inventory } from '../../toolkit/inventory/types.js';
import type { MemberStatus, StatusResult } from '../provision/store.js';
import type { RunbookOptions } from './common.js';
import type { ClusterFacts } from './facts.js';

/** The example inventory: the lab's three members. */
export const EXAMPLE_INVENTORY_TEXT = `cluster:
  name: lab
  initial-cluster-token: lab-cluster-1
ssh:
  user: root
pki:
  dir: /home/ops/.quorum/lab/pki
hosts:
  - name: etcd-01
    address: 10.88.0.11
  - name: etcd-02
    address: 10.88.0.12
  - name: etcd-03
    address: 10.88.0.13
`;

/** The parsed example inventory (file `/home/ops/lab.yaml`). */
export function exampleInventory(): Inventory {
  return parseInventory(EXAMPLE_INVENTORY_TEXT, '/home/ops/lab.yaml');
}

const IDS = [0x6e3bd23ae5f1eaban, 0x924e2e83e93f2560n, 0xa8266ecf031671f3n];
const NAMES = ['etcd-01', 'etcd-02', 'etcd-03'];

/** Status of example member `i` (0-based); `leader` 0n = no leader. */
function status(i: number, leader: bigint, extra: Partial<MemberStatus> = {}): MemberStatus {
  return {
    version: '3.4.0', dbSize: 24576, leader, raftIndex: 4211 - i, raftTerm: 3, raftAppliedIndex: 4211 - i,
    memberId: IDS[i]!, clusterId: 0x1c9b0a3d2b5e6f70n, revision: 1870, errors: [], isLearner: false, ...extra,
  };
}

function result(i: number, s: MemberStatus | string): StatusResult {
  const endpoint = `https://10.88.0.${11 + i}:2379`;
  return typeof s === 'string' ? { endpoint, name: NAMES[i]!, error: s } : { endpoint, name: NAMES[i]!, status: s };
}

const membership = () => IDS.map((id, i) => ({ id: id.toString(16), name: NAMES[i]!, peerUrls: [`https://10.88.0.${11 + i}:2380`], isLearner: false }));
const healthy = () => [0, 1, 2].map((i) => result(i, status(i, IDS[0]!)));

/** A failure scenario: the facts, the options and a one-line description. */
export interface Example { scenario: string; facts: ClusterFacts; opts: RunbookOptions }

const now = new Date('2026-11-21T03:00:00Z');
const snapshot = { file: '/home/ops/.quorum/lab/backups/lab-20261121T020000Z-r1870.db', revision: 1870, hash: '5c1e2a3b' };

/** The example of each runbook, by name. */
export function examples(): Record<string, Example> {
  const refused = 'connect ECONNREFUSED';
  return {
    backup: { scenario: 'a healthy cluster', facts: { statuses: healthy(), membership: membership() }, opts: { now, dest: '/home/ops/.quorum/lab/backups', keep: 48 } },
    doctor: { scenario: 'etcd-02\'s peer port is blocked by a firewall, etcd-03\'s disk is slow', facts: { statuses: healthy(), membership: membership() }, opts: { now } },
    restore: {
      scenario: 'a bad write replicated to every member; the last good backup is at revision 1870',
      facts: { statuses: healthy(), membership: membership() }, opts: { now, snapshot },
    },
    'replace-member': {
      scenario: 'etcd-02\'s data dir was destroyed; quorumd fails to start there',
      facts: { statuses: [result(0, status(0, IDS[0]!)), result(1, `${refused} 10.88.0.12:2379`), result(2, status(2, IDS[0]!))], membership: membership() },
      opts: { now, member: 'etcd-02' },
    },
    'reset-member': {
      scenario: 'etcd-02 (the leader) is suspect; every other member is healthy',
      facts: { statuses: [0, 1, 2].map((i) => result(i, status(i, IDS[1]!))), membership: membership() },
      opts: { now, member: 'etcd-02' },
    },
    'recover-quorum': {
      scenario: 'etcd-02 and etcd-03 are gone for good; etcd-01 has no leader',
      facts: { statuses: [result(0, status(0, 0n)), result(1, `${refused} 10.88.0.12:2379`), result(2, `${refused} 10.88.0.13:2379`)] },
      opts: { now, workDir: '/home/ops/.quorum/lab/runbooks' },
    },
    nospace: {
      scenario: 'the NOSPACE alarm fired: writes fail with "database space exceeded"',
      facts: {
        statuses: [0, 1, 2].map((i) => result(i, status(i, IDS[0]!, { dbSize: 2147483648, errors: [`memberID:${IDS[i]!.toString(16)} alarm:NOSPACE `] }))),
        membership: membership(),
      },
      opts: { now },
    },
  };
}
