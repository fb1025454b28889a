import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawJson, formatGoDuration, goJson, humanizeBytes, renderStatusTable } from '../../../store/ctl/printer.js';
import { parseGoDuration } from '../../../store/ctl/global.js';
import { prefixRangeEnd } from '../../../store/client/client.js';

test('renderStatusTable prints etcdctl 3.4 endpoint status -w table', () => {
  // Shape copied from etcdctl 3.4.23 output against a single etcd member.
  const expected = [
    '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
    '|        ENDPOINT        |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |',
    '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
    '| http://127.0.0.1:24791 | f4a457008d1441f2 |  3.4.23 |   20 kB |      true |      false |         2 |          7 |                  7 |        |',
    '+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
    '',
  ].join('\n');
  const got = renderStatusTable([{
    endpoint: 'http://127.0.0.1:24791', id: 0xf4a457008d1441f2n, version: '3.4.23', dbSize: 20480, isLeader: true, isLearner: false,
    raftTerm: 2, raftIndex: 7, raftAppliedIndex: 7, errors: [],
  }]);
  assert.equal(got, expected);
});

test('go-humanize byte sizes and Go durations', () => {
  assert.equal(humanizeBytes(0), '0 B');
  assert.equal(humanizeBytes(20480), '20 kB');
  assert.equal(humanizeBytes(20550), '21 kB');
  assert.equal(humanizeBytes(1500000), '1.5 MB');
  assert.equal(humanizeBytes(2147483648), '2.1 GB');
  assert.equal(formatGoDuration(1137289), '1.137289ms');
  assert.equal(formatGoDuration(850000), '850µs');
  assert.equal(formatGoDuration(2500000000), '2.5s');
  assert.equal(parseGoDuration('dial-timeout', '2s'), 2000);
  assert.equal(parseGoDuration('dial-timeout', '1m30s'), 90000);
  assert.equal(parseGoDuration('dial-timeout', '500ms'), 500);
  assert.throws(() => parseGoDuration('dial-timeout', '5'), /invalid argument "5" for "--dial-timeout" flag: time: missing unit in duration "5"/);
});

test('JSON like Go: uint64 exact as bare numbers, bytes base64, undefined omitted', () => {
  assert.equal(goJson({ ID: 17628310501313495538n, key: new Uint8Array(Buffer.from('foo')), x: undefined, r: new RawJson('7') }), '{"ID":17628310501313495538,"key":"Zm9v","r":7}');
});

test('prefix range end as clientv3.GetPrefixRangeEnd', () => {
  assert.deepEqual(Buffer.from(prefixRangeEnd(Buffer.from('abc'))).toString(), 'abd');
  assert.deepEqual([...prefixRangeEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
  assert.deepEqual([...prefixRangeEnd(new Uint8Array([0xff]))], [0]);
});
