/**
 * quorumctl txn / compaction / get flags, differential: the same command lines (and stdin) run as etcdctl 3.4
 * against etcd and as quorumctl against quorumd must print the same stdout and stderr (minus etcdctl's JSON log lines) and exit with the
 * same code (cluster_id/member_id/raft_term removed from JSON; etcdctl's client-side retry log lines dropped).
 * Ports 21120-21124.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../quorumd_harness.js';
import { startPair, type Pair } from './harness.js';

let p: Pair;
before(async () => {
  p = await startPair(21120);
});
after(async () => {
  await p?.close();
});

interface Out { code: number; stdout: string; stderr: string }

function exec(cmd: string, args: string[], stdin: string, env: NodeJS.ProcessEnv): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    c.stdin.end(stdin);
  });
}

const norm = (o: Out) => ({
  code: o.code,
  stdout: o.stdout.replace(/"(cluster_id|member_id|raft_term)":\d+,?/g, ''),
  stderr: o.stderr.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n'),
});

/** Run `args` with etcdctl against etcd and quorumctl against quorumd; assert the same output; return etcdctl's. */
async function same(args: string[], stdin = ''): Promise<Out> {
  const e = await exec('/usr/bin/etcdctl', ['--endpoints', p.etcd.url, ...args], stdin, { ETCDCTL_API: '3' });
  const q = await exec(process.execPath, [join(ROOT, 'bin', 'quorumctl.js'), '--endpoints', p.quorum.url, ...args], stdin, {});
  assert.deepEqual(norm(q), norm(e), `quorumctl ${args.join(' ')} <<< ${JSON.stringify(stdin)}`);
  return e;
}

test('txn from stdin and interactive, simple and json, with input errors', { timeout: 180_000 }, async () => {
  await same(['put', 'a', '1']);
  await same(['put', 'b', 'two words']);
  const ok = await same(['txn'], 'mod("a") > "0"\nvalue("b") = "two words"\n\nput a "hello world" --prev-kv\nget a\ndel b --prev-kv\nget --prefix ""\n\nput x y\n\n');
  assert.match(ok.stdout, /^SUCCESS\n/);
  await same(['txn', '-w', 'json'], 'ver("a") = "9"\n\nput a 1\n\nput x y\nget x --keys-only\nget "" --from-key --sort-by=VALUE --order=DESCEND --limit 2\ndel nothing\n\n');
  await same(['txn', '-i'], 'c("a") != "0"\n\nput c 3 --prev-kv\n\n\n');
  await same(['txn', '--interactive=false'], 'mod("a") < "1000"\n\nget a --rev=2\nput d 4\n\nput d 5\n\n');
  await same(['txn'], '\n\n\n');
  for (const bad of ['foo("a") = "0"\n\n', 'mod("a") = "x"\n\n', 'mod a\n\n', 'mod("a") = "0"\n\nbad a\n\n', 'mod("a") = "0"\n\nget\n\n',
    '\n\nput a\n\n', '\n\nget a --prefix --from-key\n\n', '\n\nput a b\nput a c\n\n\n', '\n\nget a --rev 100000\n\n\n', 'mod("a") = "0"\n',
    '\n\nget a b --prefix\n\n\n', '\n\ndel a b --from-key\n\n\n', '\n\nput a --ignore-value\n\n\n', '\n\nput zz --ignore-value\n\n\n']) {
    await same(['txn'], bad);
  }
  await same(['txn', 'extra'], '');
  await same(['txn', '-w', 'table'], '\n\n\n');
});

test('compaction and get flags', { timeout: 180_000 }, async () => {
  for (const [k, v] of [['g/a', '3'], ['g/b', '1'], ['g/c', '2'], ['g/b', '0']]) await same(['put', k!, v!]);
  const gets: string[][] = [
    ['get', 'g/', '--prefix', '--sort-by=VALUE'],
    ['get', 'g/', '--prefix', '--sort-by=MODIFY', '--order=DESCEND', '--limit=2'],
    ['get', 'g/', '--prefix', '--sort-by=CREATE', '--order=ASCEND', '-w', 'json'],
    ['get', 'g/', '--prefix', '--sort-by=VERSION', '--order=DESCEND'],
    ['get', 'g/', '--prefix', '--order=DESCEND', '--keys-only'],
    ['get', 'g/', '--prefix', '--limit', '1', '-w', 'json'],
    ['get', 'g/b', '--from-key', '--print-value-only'],
    ['get', '', '--from-key', '--keys-only'],
    ['get', 'g/a', 'g/c'],
    ['get', 'g/b', '--rev', '2'],
    ['get', 'g/b', '--rev=100000'],
    ['get', 'g/b', '--order=up'],
    ['get', 'g/b', '--sort-by=size'],
    ['get', 'g/b', '--consistency=s'],
    ['get', 'g/b', '--consistency=x'],
    ['get', 'g/', 'g0', '--prefix'],
  ];
  for (const g of gets) await same(g);
  const st = JSON.parse((await same(['get', 'g/a', '-w', 'json'])).stdout.replace(/(\d{16,})/g, '"$1"')) as { header: { revision: number } };
  const rev = Number(st.header.revision);
  await same(['compaction', String(rev + 10)]);
  await same(['compaction', String(rev - 2)]);
  await same(['compaction', String(rev - 2)]);
  await same(['compaction', '--physical', String(rev - 1)]);
  await same(['get', 'g/b', '--rev', String(rev - 3)]);
  await same(['compaction', 'abc']);
  await same(['compaction']);
  await same(['compaction', '1', '2']);
});
