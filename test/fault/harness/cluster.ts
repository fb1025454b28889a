/**
 * A quorumd cluster as real processes on loopback, each peer link behind a PeerProxy (proxy.ts), with
 * process control for fault scenarios: kill -9 and restart, SIGSTOP/SIGCONT, find the leader.
 * Losing what was written but not fsynced (a power loss) is simulated after a kill -9: every member runs
 * with QUORUMD_TEST_SYNC_MARKER=1, so its WAL records its durable prefix after each fdatasync
 * (`member/wal/synced.mark`), and `kill9(i, { loseUnsynced: true })` cuts the WAL back to it (the page cache
 * survives kill -9 of a process, so without the cut every write() would survive).
 * Ports: base .. base + 4n - 1 (client, real peer, proxy, metrics per member). Every process is killed by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreClient } from '../../../store/client/client.js';
import { PeerProxy, type LinkMode } from './proxy.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const QUORUMD = join(ROOT, 'bin', 'quorumd.js');

/** One member: its ports, process and incarnation (bumped on each start). */
export interface FaultMember {
  name: string;
  clientUrl: string;
  peerPort: number;
  proxyPort: number;
  metricsPort: number;
  dataDir: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
  incarnation: number;
  stopped: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster under test. */
export class FaultCluster {
  readonly members: FaultMember[];
  readonly proxies: PeerProxy[];
  readonly dir: string;
  private readonly args: string[][];
  private readonly env: NodeJS.ProcessEnv;

  /** n members on ports from `base`; `rand` drives the proxies' loss. Nothing is started. */
  constructor(n: number, base: number, rand: () => number, opts: { heartbeatMs?: number; electionMs?: number; dir?: string; extraArgs?: string[]; env?: Record<string, string> } = {}) {
    this.env = { ...process.env, QUORUMD_TEST_SYNC_MARKER: '1', ...(opts.env ?? {}) };
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'quorum-fault-'));
    this.members = Array.from({ length: n }, (_, i) => ({
      name: `f${i + 1}`, clientUrl: `http://127.0.0.1:${base + 4 * i}`, peerPort: base + 4 * i + 1, proxyPort: base + 4 * i + 2,
      metricsPort: base + 4 * i + 3, dataDir: join(this.dir, `f${i + 1}`), incarnation: 0, stopped: false,
    }));
    const initial = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.proxyPort}`).join(',');
    const hb = opts.heartbeatMs ?? 100;
    this.args = this.members.map((m) => [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.proxyPort}`,
      '--initial-cluster-token', 'fault', '--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--listen-metrics-urls', `http://127.0.0.1:${m.metricsPort}`,
      '--heartbeat-interval', String(hb), '--election-timeout', String(opts.electionMs ?? 10 * hb),
      ...(opts.extraArgs ?? []),
    ]);
    const pids = () => new Map(this.members.filter((m) => m.proc?.pid).map((m) => [m.name, m.proc!.pid!]));
    this.proxies = this.members.map((m) => new PeerProxy(m.name, m.proxyPort, m.peerPort, pids, rand));
  }

  /** Start proxies and every member; wait until all answer Status with a leader. */
  async start(): Promise<void> {
    for (const p of this.proxies) await p.start();
    for (let i = 0; i < this.members.length; i++) this.spawn(i);
    await this.waitHealthy(60_000, true);
  }

  private spawn(i: number): void {
    const m = this.members[i];
    const log = createWriteStream(join(this.dir, `${m.name}.log`), { flags: 'a' });
    const p = spawn(process.execPath, [QUORUMD, ...this.args[i]], { stdio: ['ignore', 'pipe', 'pipe'], env: this.env });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    m.proc = p;
    m.incarnation++;
    m.stopped = false;
    m.exited = new Promise((r) => p.on('exit', () => r()));
  }

  /**
   * kill -9 member i (by pid) and wait for it to exit. `loseUnsynced`: then cut its WAL back to the last
   * fdatasync, as a power loss would (see the file comment); returns the bytes cut.
   */
  async kill9(i: number, o: { loseUnsynced?: boolean } = {}): Promise<number> {
    const m = this.members[i];
    if (!m.proc || m.proc.exitCode !== null || m.proc.signalCode !== null) return 0;
    if (m.stopped) process.kill(m.proc.pid!, 'SIGCONT');
    process.kill(m.proc.pid!, 'SIGKILL');
    await m.exited;
    return o.loseUnsynced ? this.loseUnsynced(i) : 0;
  }

  /** Cut member i's WAL (not running) back to its durable prefix (member/wal/synced.mark); returns the bytes cut. */
  loseUnsynced(i: number): number {
    const walDir = join(this.members[i].dataDir, 'member', 'wal');
    let mark: string[];
    try {
      mark = readFileSync(join(walDir, 'synced.mark'), 'utf8').trim().split(' ');
    } catch {
      return 0; // no WAL yet
    }
    const [seq, off] = [mark[0]!, Number(mark[1])];
    let cut = 0;
    for (const name of readdirSync(walDir)) {
      if (!name.endsWith('.wal')) continue;
      const file = join(walDir, name);
      const s = name.slice(0, 16);
      const size = statSync(file).size;
      if (s === seq && size > off) {
        truncateSync(file, off);
        cut += size - off;
      } else if (s > seq) {
        unlinkSync(file);
        cut += size;
      }
    }
    return cut;
  }

  /** The lines of member i's log (every incarnation) whose msg is `msg`, parsed. */
  logLines(i: number, msg: string): Record<string, unknown>[] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, `${this.members[i].name}.log`), 'utf8');
    } catch {
      return [];
    }
    const needle = `"msg":${JSON.stringify(msg)}`;
    return text.split('\n').filter((l) => l.includes(needle)).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Start member i again on its data dir (after kill9). */
  restart(i: number): void {
    this.spawn(i);
  }

  /**
   * Start member i afresh on an empty data dir, joining the running cluster (--initial-cluster-state
   * existing; same name and peer URL), e.g. after MemberRemove and MemberAdd. Later restarts keep "existing".
   */
  rejoin(i: number): void {
    rmSync(this.members[i].dataDir, { recursive: true, force: true });
    const a = this.args[i];
    a[a.indexOf('--initial-cluster-state') + 1] = 'existing';
    this.spawn(i);
  }

  /** SIGSTOP member i (freezes it: no ticks, no I/O). */
  pause(i: number): void {
    process.kill(this.members[i].proc!.pid!, 'SIGSTOP');
    this.members[i].stopped = true;
  }

  /** SIGCONT member i. */
  resume(i: number): void {
    process.kill(this.members[i].proc!.pid!, 'SIGCONT');
    this.members[i].stopped = false;
  }

  /** Set the mode of the ordered link from member a to member b. */
  link(a: number, b: number, mode: LinkMode): void {
    this.proxies[b].setMode(this.members[a].name, mode);
  }

  /** Cut member i off from every other member, both ways (or only its outgoing links when oneWay). */
  isolate(i: number, mode: LinkMode = { kind: 'drop' }, oneWay = false): void {
    for (let j = 0; j < this.members.length; j++) {
      if (j === i) continue;
      this.link(i, j, mode);
      if (!oneWay) this.link(j, i, mode);
    }
  }

  /** Every link back to ok; resume paused members. */
  heal(): void {
    for (const p of this.proxies) p.healAll();
    this.members.forEach((m, i) => { if (m.stopped) this.resume(i); });
  }

  /** Index of the member every reachable member agrees is leader, or -1. */
  /**
   * The leader's index, asked up to `tries` times 250 ms apart (a scenario injecting a fault "at the leader" during
   * an election); 0 when none answers as leader by then, so the fault still lands on some member.
   */
  async leaderOrFirst(tries = 40): Promise<number> {
    for (let i = 0; i < tries; i++) {
      const l = await this.leader();
      if (l >= 0) return l;
      await new Promise((r) => setTimeout(r, 250));
    }
    return 0;
  }

  async leader(): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      const c = new StoreClient(this.members[i].clientUrl, undefined, { timeoutMs: 2000 });
      try {
        const s = await c.status();
        if (s.leader !== 0n && s.leader === s.memberId) return i;
      } catch { /* down */ } finally {
        c.close();
      }
    }
    return -1;
  }

  /**
   * Wait until every member answers a linearizable read (so each has a leader and is caught up enough).
   * `respawnDead` (used by start): restart a member whose process exited, at most 3 times.
   */
  async waitHealthy(timeoutMs = 60_000, respawnDead = false): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let respawns = 0;
    for (const [i, m] of this.members.entries()) {
      for (;;) {
        // at start only: a member that exited (e.g. EADDRINUSE: our ports lie in the kernel's ephemeral
        // range, so an outgoing connection may briefly hold one) is started again, at most 3 times in all
        if (respawnDead && m.proc && m.proc.exitCode !== null && respawns < 3) {
          respawns++;
          this.spawn(i);
        }
        const c = new StoreClient(m.clientUrl, undefined, { timeoutMs: 3000 });
        try {
          await c.range('health-probe');
          break;
        } catch (e) {
          if (Date.now() > deadline) {
            let tail = '';
            try {
              tail = readFileSync(join(this.dir, `${m.name}.log`), 'utf8').split('\n').slice(-6).join(' | ');
            } catch { /* no log */ }
            const state = m.proc ? `pid ${m.proc.pid}, exit ${m.proc.exitCode ?? m.proc.signalCode ?? 'running'}` : 'not started';
            throw new Error(`member ${m.name} not healthy after ${timeoutMs} ms (${state}): ${(e as Error).message} (logs in ${this.dir}; last lines: ${tail})`);
          }
          await sleep(300);
        } finally {
          c.close();
        }
      }
    }
  }

  /** Kill every member (by pid) and close the proxies. */
  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill9(i);
    for (const p of this.proxies) await p.close();
  }
}
