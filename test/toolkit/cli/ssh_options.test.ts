/**
 * Every host-touching command takes the shared SSH options (toolkit/connectors/ssh_cli.ts) and builds its
 * connectors from them: `--accept-new-host-keys` and `--sudo-password-file` parse, and a bad `--forks` is
 * reported by the one connector factory before any host is contacted (the example's 192.168.1.x hosts are
 * not ours to reach). In process: `main` with stderr captured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../../toolkit/cli/main.js';
import { RUNBOOK_NAMES } from '../../../toolkit/cli/runbook.js';

const root = new URL('../../../../', import.meta.url).pathname;
const example = join(root, 'inventory', 'example.yaml');

async function quorum(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  const outWrite = process.stdout.write;
  let stderr = '';
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = write;
    process.stdout.write = outWrite;
  }
}

const extra: Record<string, string[]> = {
  'replace-member': ['--member', 'etcd-02'], 'reset-member': ['--member', 'etcd-02'], restore: ['--snapshot', '/nonexistent/snap.db'],
};
const commands: string[][] = [
  ['provision'], ['upgrade'], ['backup'], ['backup', 'schedule'], ['backup', 'pull'], ['certs', 'check'], ['certs', 'rotate'],
  ...RUNBOOK_NAMES.map((n) => ['runbook', n, ...(extra[n] ?? [])]),
];

for (const cmd of commands) {
  test(`quorum ${cmd.join(' ')} takes --forks, --accept-new-host-keys and --sudo-password-file`, async () => {
    const r = await quorum([...cmd, '-i', example, '--accept-new-host-keys', '--sudo-password-file', '/nonexistent/pw', '--forks', '0']);
    assert.doesNotMatch(r.stderr, /unknown option/, r.stderr);
    assert.match(r.stderr, /--forks must be a positive integer, got 0/);
    assert.equal(r.code, 1, r.stderr);
  });
}

test('without the bad --forks the same options parse (quorum runbook doctor --help lists them)', async () => {
  const outWrite = process.stdout.write;
  let out = '';
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  try {
    assert.equal(await main(['runbook', 'doctor', '--help']), 0);
  } finally {
    process.stdout.write = outWrite;
  }
  for (const o of ['--forks <n>', '--accept-new-host-keys', '--sudo-password-file <file>']) assert.ok(out.includes(o), `${o} in help`);
});
