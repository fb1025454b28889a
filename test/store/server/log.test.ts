/**
 * store/server/log.ts writes one JSON object per line in etcd's zap shape (level, ts, caller, msg, fields;
 * bigint IDs as hex), filters by level, and the operator-facing lines (log_fields.ts) carry etcd's field names:
 * local-member-id, term, index and the peer's ID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../../store/server/log.js';
import { leaderChangeLine, memberChangeLine, peerFields, snapshotInstalledLine } from '../../../store/server/log_fields.js';
import { ConfChangeType } from '../../../store/raft/confchange.js';

function capture(level: 'debug' | 'info' | 'warn' = 'info'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { log: new Logger(level, 'quorumd/test', (l) => { assert.ok(!l.includes('\n')); lines.push(JSON.parse(l)); }), lines };
}

test('a line is one JSON object: level, ISO ts, caller, msg, then the fields (bigint as hex)', () => {
  const { log, lines } = capture();
  log.child('quorumd/node').warn('failed to send to peer', { 'remote-peer-id': 0xabcn, failures: 3 });
  assert.equal(lines.length, 1);
  const r = lines[0]!;
  assert.deepEqual(Object.keys(r).slice(0, 4), ['level', 'ts', 'caller', 'msg']);
  assert.equal(r.level, 'warn');
  assert.equal(r.caller, 'quorumd/node');
  assert.ok(!Number.isNaN(Date.parse(String(r.ts))) && String(r.ts).endsWith('Z'));
  assert.equal(r['remote-peer-id'], 'abc');
  assert.equal(r.failures, 3);
});

test('levels below the configured one are dropped; setLevel changes it', () => {
  const { log, lines } = capture('warn');
  log.debug('d'); log.info('i'); log.warn('w'); log.error('e');
  assert.deepEqual(lines.map((l) => l.level), ['warn', 'error']);
  log.setLevel('debug');
  log.debug('d');
  assert.equal(lines.at(-1)!.level, 'debug');
});

test('leader change, member add/remove, snapshot install and peer lines carry etcd field names', () => {
  const { log, lines } = capture();
  const emit = (l: { msg: string; fields: Record<string, unknown> }): void => log.info(l.msg, l.fields);
  emit(leaderChangeLine(0x8e9e05c52164694dn, 0x91bc3c398fb3c146n, 7, 42));
  emit(leaderChangeLine(0x8e9e05c52164694dn, 0n, 8, 43));
  const member = { id: 0x2an, peerUrls: ['https://10.0.0.4:2380'], isLearner: false };
  emit(memberChangeLine(ConfChangeType.AddNode, 0x1n, member, false, 3, 10));
  emit(memberChangeLine(ConfChangeType.AddLearnerNode, 0x1n, { ...member, isLearner: true }, false, 3, 11));
  emit(memberChangeLine(ConfChangeType.AddNode, 0x1n, member, true, 3, 12));
  emit(memberChangeLine(ConfChangeType.RemoveNode, 0x1n, member, false, 3, 13));
  emit(snapshotInstalledLine(0x2an, { index: 100, term: 4 }, 0));
  log.warn('failed to send to peer', { ...peerFields(0x1n, 0x2an), error: 'unavailable' });
  const strip = (r: Record<string, unknown>): Record<string, unknown> => { const { ts: _ts, caller: _c, level: _l, ...rest } = r; return rest; };
  assert.deepEqual(lines.map(strip), [
    { msg: 'elected leader', 'local-member-id': '8e9e05c52164694d', leader: '91bc3c398fb3c146', term: 7, index: 42 },
    { msg: 'lost leader', 'local-member-id': '8e9e05c52164694d', leader: '0', term: 8, index: 43 },
    { msg: 'added member', 'local-member-id': '1', term: 3, index: 10, 'added-peer-id': '2a', 'added-peer-peer-urls': ['https://10.0.0.4:2380'], 'added-peer-is-learner': false },
    { msg: 'added member', 'local-member-id': '1', term: 3, index: 11, 'added-peer-id': '2a', 'added-peer-peer-urls': ['https://10.0.0.4:2380'], 'added-peer-is-learner': true },
    { msg: 'promoted member', 'local-member-id': '1', term: 3, index: 12, 'promoted-member-id': '2a' },
    { msg: 'removed member', 'local-member-id': '1', term: 3, index: 13, 'removed-remote-peer-id': '2a' },
    { msg: 'applied snapshot', 'local-member-id': '2a', 'current-applied-index': 0, 'incoming-leader-snapshot-index': 100, 'incoming-leader-snapshot-term': 4 },
    { msg: 'failed to send to peer', 'local-member-id': '1', 'remote-peer-id': '2a', error: 'unavailable' },
  ]);
});
