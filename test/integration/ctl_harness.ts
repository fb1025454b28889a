/**
 * ctl_harness: the etcdctl-vs-quorumctl differential for command-line tests. Reuse it for any quorumctl command.
 *
 *   import { startEtcd, ctlBoth, stopAllEtcd } from './ctl_harness.js';
 *   const a = await startEtcd(26101);            // real etcd 3.4 on 127.0.0.1:26101 (peer 26102), fresh data dir
 *   const r = await ctlBoth(['get', 'k', '-w', 'json'], { endpoint: a.endpoint });
 *   assert.deepEqual(r.quorumctl, r.etcdctl);    // normalized {code, stdout, stderr}
 *   // r.raw.etcdctl / r.raw.quorumctl hold the unnormalized results
 *   after(() => stopAllEtcd());
 *
 * - `endpoint`: both programs talk to it. For commands that change state, start two identical fresh etcds and
 *   pass `{ endpoint: a.endpoint, quorumctlEndpoint: b.endpoint }`: etcdctl runs against a, quorumctl against b,
 *   revisions advance the same way; add `ids: true` to blank cluster/member IDs (they differ between the two).
 * - `--endpoints <endpoint>` is prepended to args unless `noEndpoint` is set (then pass it yourself or use env).
 * - `env` is added to both (ETCDCTL_API=3 is always set for etcdctl and never reported by either); `stdin`
 *   is written to both programs' standard input.
 * - Normalization (see `normalizeCtl`): the zap "retrying of unary invoker failed" line's ts and client UUID,
 *   capnslog timestamps, the program name (quorumctl -> etcdctl), Go durations after "took", optional IDs and
 *   any `replace` pairs you give. Everything else (bytes, line order, exit code) must be identical.
 * - Ports: pick from your own range; `startEtcd(p)` uses p (client) and p+1 (peer).
 * - Every etcd started here is killed by pid in `stopAllEtcd()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './quorumd_harness.js';

/** One program run. stdout is latin1 text (protobuf output compares byte for byte). */
export interface CtlResult { code: number; stdout: string; stderr: string }

/** A running reference etcd. */
export interface EtcdProc { endpoint: string; dataDir: string; proc: ChildProcess; stop(): Promise<void> }

const etcds = new Set<EtcdProc>();
const ctlProcs = new Set<ChildProcess>();

/** Run `cmd args` with optional stdin; kills it after timeoutMs (SIGKILL). */
export function runProgram(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    for (const k of Object.keys(env)) if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API' && !(opts.env && k in opts.env)) delete env[k];
    const p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => err.push(d));
    p.stdin!.on('error', () => undefined);
    p.stdin!.end(opts.stdin ?? '');
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code: code ?? (sig ? 128 : -1), stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Real etcdctl 3.4 (ETCDCTL_API=3). */
export function runEtcdctl(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return runProgram('/usr/bin/etcdctl', args, { ...opts, env: { ETCDCTL_API: '3', ...opts.env } });
}

/** Our quorumctl (compiled, bin/quorumctl.js). */
export function runQuorumctl(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return runProgram(process.execPath, [join(ROOT, 'bin', 'quorumctl.js'), ...args], opts);
}

/** Options of normalizeCtl. */
/** ids: blank cluster/member/lease IDs in JSON and fields output; terms: blank Raft terms (etcd vs quorumd). */
export interface NormalizeOptions { ids?: boolean; terms?: boolean; replace?: [RegExp, string][] }

/** Remove what legitimately differs between two runs (see the file comment). */
export function normalizeCtl(r: CtlResult, o: NormalizeOptions = {}): CtlResult {
  const fix = (s: string) => {
    let t = s
      .replace(/"ts":"[^"]*"/g, '"ts":"TS"')
      .replace(/endpoint:\/\/client-[0-9a-f-]{36}\//g, 'endpoint://client-UUID/')
      .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /gm, 'TS ')
      .replace(/quorumctl/g, 'etcdctl')
      .replace(/took = [0-9.]+[a-zµ]+/g, 'took = DURATION');
    if (o.ids) {
      t = t
        .replace(/"(cluster_id|member_id|ID|leader)":\d+/g, '"$1":ID')
        .replace(/"(ClusterID|MemberID)" : \d+/g, '"$1" : ID');
    }
    if (o.terms) t = t.replace(/"raft_term":\d+/g, '"raft_term":TERM').replace(/"RaftTerm" : \d+/g, '"RaftTerm" : TERM');
    for (const [re, by] of o.replace ?? []) t = t.replace(re, by);
    return t;
  };
  return { code: r.code, stdout: fix(r.stdout), stderr: fix(r.stderr) };
}

/** Options of ctlBoth. */
export interface BothOptions extends NormalizeOptions {
  endpoint: string;
  quorumctlEndpoint?: string;
  noEndpoint?: boolean;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  timeoutMs?: number;
}

/** Run the same command line with etcdctl and quorumctl (sequentially: etcdctl first). */
export async function ctlBoth(args: string[], o: BothOptions): Promise<{ etcdctl: CtlResult; quorumctl: CtlResult; raw: { etcdctl: CtlResult; quorumctl: CtlResult } }> {
  const pre = (ep: string) => (o.noEndpoint ? [] : ['--endpoints', ep]);
  const run = { env: o.env, stdin: o.stdin, timeoutMs: o.timeoutMs };
  const e = await runEtcdctl([...pre(o.endpoint), ...args], run);
  const q = await runQuorumctl([...pre(o.quorumctlEndpoint ?? o.endpoint), ...args], run);
  const qo: NormalizeOptions = { ...o };
  if (o.quorumctlEndpoint && o.quorumctlEndpoint !== o.endpoint) {
    qo.replace = [[new RegExp(o.quorumctlEndpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), o.endpoint], ...(o.replace ?? [])];
  }
  return { etcdctl: normalizeCtl(e, o), quorumctl: normalizeCtl(q, qo), raw: { etcdctl: e, quorumctl: q } };
}

/**
 * Start real etcd 3.4 on 127.0.0.1:`port` (peer `port+1`) with a fresh data dir; resolves once it answers.
 * Throws after 20 s without an answer.
 */
export async function startEtcd(port: number, name = 'default'): Promise<EtcdProc> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ctl-etcd-'));
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${port + 1}`;
  const proc = spawn('/usr/bin/etcd', [
    '--name', name, '--data-dir', dataDir, '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `${name}=${peer}`,
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  const e: EtcdProc = {
    endpoint: `127.0.0.1:${port}`,
    dataDir,
    proc,
    async stop() {
      etcds.delete(e);
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid!, 'SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  etcds.add(e);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await runEtcdctl(['--endpoints', e.endpoint, '--dial-timeout', '1s', 'endpoint', 'health'], { timeoutMs: 5000 });
    if (r.code === 0) return e;
    if (Date.now() > deadline || proc.exitCode !== null) {
      await e.stop();
      throw new Error(`etcd on ${e.endpoint} did not become healthy: ${r.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Stop every etcd started by startEtcd (by pid) and remove their data dirs. */
export async function stopAllEtcd(): Promise<void> {
  for (const p of ctlProcs) if (p.exitCode === null && p.signalCode === null) process.kill(p.pid!, 'SIGKILL');
  await Promise.all([...etcds].map((e) => e.stop()));
}

/**
 * A long-running etcdctl/quorumctl (lock, elect, watch...): `out`/`err` accumulate, `waitOut(re)` polls stdout,
 * `interrupt()` sends SIGINT by pid and resolves with the exit code. Killed by stopAllEtcd() if still running.
 */
export class CtlProcess {
  out = '';
  err = '';
  readonly exited: Promise<number>;
  private readonly p: ChildProcess;
  private readonly label: string;
  constructor(prog: 'etcdctl' | 'quorumctl', args: string[]) {
    this.label = [prog, ...args].join(' ');
    const env = { ...process.env, ETCDCTL_API: '3' };
    this.p = prog === 'etcdctl'
      ? spawn('/usr/bin/etcdctl', args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [join(ROOT, 'bin', 'quorumctl.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    ctlProcs.add(this.p);
    this.p.on('close', () => ctlProcs.delete(this.p));
    this.p.stdout!.on('data', (d) => (this.out += d));
    this.p.stderr!.on('data', (d) => (this.err += d));
    this.exited = new Promise((r) => this.p.on('close', (c) => r(c ?? -1)));
  }
  async waitOut(re: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!re.test(this.out)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.out)} (stderr ${this.err})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.out;
  }
  /** SIGINT, then the exit status; throws (naming the command and its output) if it has not exited within `ms`. */
  async interrupt(ms = 20_000): Promise<number> {
    process.kill(this.p.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.p.kill('SIGKILL');
        reject(new Error(`${this.label} did not exit within ${ms} ms of SIGINT (stdout ${JSON.stringify(this.out)}, stderr ${JSON.stringify(this.err)})`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

