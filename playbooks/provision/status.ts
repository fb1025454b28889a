/**
 * The cluster status table printed at the end of a run and by `quorum status`: etcdctl 3.4's
 * `endpoint status -w table` (store/ctl's renderStatusTable), with a row per member that did not
 * answer (its error in the ERRORS column).
 */
import { renderStatusTable } from '../../store/ctl/printer.js';
import type { StatusResult } from './store.js';

/** Renders `results` as etcdctl's status table. */
export function formatStatusTable(results: StatusResult[]): string {
  const text = renderStatusTable(results.map((r) => {
    const s = r.status;
    if (!s) {
      return { endpoint: r.endpoint, id: 0n, version: '', dbSize: 0, isLeader: false, isLearner: false,
        raftTerm: 0, raftIndex: 0, raftAppliedIndex: 0, errors: [r.error ?? 'no answer'] };
    }
    return { endpoint: r.endpoint, id: s.memberId, version: s.version, dbSize: s.dbSize, isLeader: s.memberId === s.leader,
      isLearner: s.isLearner ?? false, raftTerm: s.raftTerm, raftIndex: s.raftIndex, raftAppliedIndex: s.raftAppliedIndex, errors: s.errors };
  }));
  return text.endsWith('\n') ? text : `${text}\n`;
}
