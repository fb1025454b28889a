// Unit tests of quorumctl's shared pieces: Go duration/bool parsing, argv normalization, Go %q quoting, the
// protobuf writer (bytes checked against etcdctl 3.4's own -w protobuf output), log line shapes, and main()'s
// exit codes for argument errors (no server needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capnslogLine, normalizeArgv, parseGoBool, parseGoDuration, resetGlobalsForTest, retryWarnLine } from '../../../store/ctl/global.js';
import { main } from '../../../store/ctl/main.js';
import { PbWriter, UnsupportedFormatError, display, fieldsHeader, fieldsKv, goQuote, pbHeader } from '../../../store/ctl/printer.js';
import { permRange, roleGetText } from '../../../store/ctl/command/role_command.js';

test('parseGoDuration: values and time.ParseDuration error texts', () => {
  assert.equal(parseGoDuration('d', '2s'), 2000);
  assert.equal(parseGoDuration('d', '1m30s'), 90_000);
  assert.equal(parseGoDuration('d', '1.5s'), 1500);
  assert.equal(parseGoDuration('d', '250ms'), 250);
  assert.equal(parseGoDuration('d', '0'), 0);
  assert.throws(() => parseGoDuration('dial-timeout', 'bad'), { message: 'invalid argument "bad" for "--dial-timeout" flag: time: invalid duration "bad"' });
  assert.throws(() => parseGoDuration('d', '1x'), { message: 'invalid argument "1x" for "--d" flag: time: unknown unit "x" in duration "1x"' });
  assert.throws(() => parseGoDuration('d', '5'), { message: 'invalid argument "5" for "--d" flag: time: missing unit in duration "5"' });
});

test('parseGoBool and normalizeArgv (pflag boolean forms)', () => {
  assert.equal(parseGoBool('T'), true);
  assert.equal(parseGoBool('0'), false);
  assert.equal(parseGoBool('yes'), undefined);
  assert.deepEqual(normalizeArgv(['--hex=false', '--insecure-transport=false', '--debug=1', 'get', 'k']), ['--no-hex', '--no-insecure-transport', '--debug', 'get', 'k']);
  assert.deepEqual(normalizeArgv(['user', 'add', 'u', '--interactive=false', '--prefix=false', '--detail=true']), ['user', 'add', 'u', '--no-interactive', '--detail']);
  assert.deepEqual(normalizeArgv(['lock', 'l', '--', 'sh', '--hex=false']), ['lock', 'l', '--', 'sh', '--hex=false']);
  assert.throws(() => normalizeArgv(['--hex=maybe']), /strconv.ParseBool: parsing "maybe": invalid syntax/);
});

test('goQuote follows Go %q', () => {
  assert.equal(goQuote('abc'), '"abc"');
  assert.equal(goQuote('a"b\\c\n\t'), '"a\\"b\\\\c\\n\\t"');
  assert.equal(goQuote(new Uint8Array([0, 0x7f, 0xff])), '"\\x00\\x7f\\xff"');
  assert.equal(goQuote('héllo'), '"héllo"');
});

test('PbWriter encodes AuthUserGetResponse exactly as etcd does', () => {
  // bytes printed by `etcdctl user get root -w protobuf` against etcd 3.4.23
  const expected = Buffer.from('0a1908cbbee2b794c296e7a701108aaab3bdb7ba94be69180220021204726f6f74', 'hex');
  const h = { clusterId: 12091701079788003147n, memberId: 7601040239782319370n, revision: 2, raftTerm: 2 };
  const w = new PbWriter().message(1, pbHeader(h)).bytes(2, 'root', true);
  assert.deepEqual(w.finish(), expected);
  assert.deepEqual(new PbWriter().varint(1, -1).finish(), Buffer.from('08ffffffffffffffffff01', 'hex'));
  assert.deepEqual(new PbWriter().varint(1, 0).bytes(2, '').finish(), Buffer.alloc(0));
});

test('fields printer lines and display() refusing unsupported formats with exit 4', () => {
  assert.equal(fieldsHeader({ clusterId: 1n, memberId: 2n, revision: 3, raftTerm: 4 }), '"ClusterID" : 1\n"MemberID" : 2\n"Revision" : 3\n"RaftTerm" : 4\n');
  assert.equal(
    fieldsKv('Prev', { key: Buffer.from('k'), createRevision: 2, modRevision: 3, version: 1, value: Buffer.from('v'), lease: 0n }),
    '"PrevKey" : "k"\n"PrevCreateRevision" : 2\n"PrevModRevision" : 3\n"PrevVersion" : 1\n"PrevValue" : "v"\n"PrevLease" : 0\n',
  );
  assert.throws(() => display('table', () => undefined, { simple: () => 'x' }), (e: unknown) => e instanceof UnsupportedFormatError && e.code === 4 && e.message === 'table not supported as output format');
});

test('log line shapes: capnslog and clientv3 retry warning', () => {
  assert.match(capnslogLine('W', 'pkg/flags', 'unrecognized environment variable ETCDCTL_X=1'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} W \| pkg\/flags: unrecognized environment variable ETCDCTL_X=1\n$/);
  const w = JSON.parse(retryWarnLine('http://127.0.0.1:2379', 9, 'etcdserver: role name not found'));
  assert.equal(w.caller, 'clientv3/retry_interceptor.go:62');
  assert.match(w.target, /^endpoint:\/\/client-[0-9a-f-]{36}\/127\.0\.0\.1:2379$/);
  assert.equal(w.error, 'rpc error: code = FailedPrecondition desc = etcdserver: role name not found');
});

test('role permission ranges and RoleGet text', () => {
  assert.deepEqual(permRange(['/p/'], true, false), { key: '/p/', rangeEnd: '/p0' });
  assert.deepEqual(permRange(['k'], false, true), { key: 'k', rangeEnd: '\0' });
  assert.deepEqual(permRange([''], true, false), { key: '\0', rangeEnd: '\0' });
  assert.deepEqual(permRange(['a', 'z'], false, false), { key: 'a', rangeEnd: 'z' });
  assert.throws(() => permRange(['a', 'z'], true, false), { message: 'unexpected endkey argument with --prefix flag' });
  const perms = [
    { permType: 0, key: Buffer.from('/p/'), range_end: Buffer.from('/p0') },
    { permType: 2, key: Buffer.from('foo'), range_end: Buffer.alloc(0) },
    { permType: 1, key: Buffer.from('f'), range_end: Buffer.from([0]) },
  ];
  assert.equal(roleGetText('r', perms), 'Role r\nKV Read:\n\t[/p/, /p0) (prefix /p/)\n\tfoo\nKV Write:\n\tfoo\n\t[f, <open ended>\n');
});

test('main(): argument errors exit 128, unknown format 4, unknown command 1', async () => {
  const run = async (argv: string[]) => {
    resetGlobalsForTest();
    let out = '';
    let err = '';
    const code = await main(argv, { out: (s) => (out += String(s)), err: (s) => (err += s) });
    return { code, out, err };
  };
  assert.deepEqual(await run(['user', 'add']), { code: 128, out: '', err: 'Error: user add command requires user name as its argument\n' });
  assert.deepEqual(await run(['role', 'grant-permission', 'r', 'bogus', 'k']), { code: 128, out: '', err: 'Error: invalid permission type: bogus\n' });
  assert.deepEqual(await run(['elect', 'e']), { code: 128, out: '', err: 'Error: no proposal argument but -l not set\n' });
  assert.deepEqual(await run(['lock']), { code: 128, out: '', err: 'Error: lock takes a lock name argument and an optional command to execute\n' });
  assert.equal((await run(['-w', 'xml', 'user', 'list'])).code, 4);
  const u = await run(['bogus']);
  assert.equal(u.code, 1);
  assert.equal(u.err, 'Error: unknown command "bogus" for "quorumctl"\nRun \'quorumctl --help\' for usage.\nError: unknown command "bogus" for "quorumctl"\n');
  const v = await run(['version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^quorumctl version: \S+\nAPI version: 3\.4\n$/);
});
