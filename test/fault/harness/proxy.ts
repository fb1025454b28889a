/**
 * A TCP proxy in front of one member's peer port, with faults per ordered link. Every member advertises
 * its proxy's port as its peer URL (so member IDs, derived from the advertised URLs, agree everywhere) and
 * listens on a private port behind it. Which member opened a connection is found from /proc (the socket
 * with the connection's source port belongs to one member's pid), so faults apply per ordered pair
 * (source -> this member): one-way partitions are possible. Linux only.
 * Modes: ok; drop (reset existing connections and refuse new ones: a partition); blackhole (accept and
 * swallow bytes, never answer: requests hang until deadlines); delay (each chunk held ms); loss
 * (each chunk kills its connection with probability p: Raft sees lost batches and retransmits).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** The fault on one ordered link. */
export type LinkMode = { kind: 'ok' } | { kind: 'drop' } | { kind: 'blackhole' } | { kind: 'delay'; ms: number } | { kind: 'loss'; p: number };

/** Which of `pids` (name -> pid) owns the local TCP socket on 127.0.0.1:port; undefined if none. */
export function ownerOfLocalPort(port: number, pids: Map<string, number>): string | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  // every socket with that local port: an older connection's TIME_WAIT entry (inode 0) may share the port
  // and come first; stopping at it left the connection unattributed, so no fault applied to it
  const want = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[1].endsWith(`:${hex}`) && f[9] !== '0') want.add(`socket:[${f[9]}]`);
  }
  if (want.size === 0) return undefined;
  for (const [name, pid] of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (want.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return name;
        } catch { /* fd closed meanwhile */ }
      }
    } catch { /* process gone */ }
  }
  return undefined;
}

interface Conn { src: string; down: net.Socket; up: net.Socket }

/** The proxy in front of member `dst`'s real peer port. */
export class PeerProxy {
  private server: net.Server | undefined;
  private readonly modes = new Map<string, LinkMode>();
  private readonly conns = new Set<Conn>();
  /** Chunks forwarded / swallowed, for reports. */
  stats = { forwarded: 0, swallowed: 0, reset: 0 };

  constructor(
    readonly dst: string,
    readonly listenPort: number,
    readonly targetPort: number,
    private readonly pids: () => Map<string, number>,
    private readonly rand: () => number,
  ) {}

  /** Listen on 127.0.0.1:listenPort. */
  async start(): Promise<void> {
    this.server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
  }

  /** Set the mode of link src -> dst; "drop" and "blackhole" apply to open connections at once. */
  setMode(src: string, mode: LinkMode): void {
    this.modes.set(src, mode);
    if (mode.kind === 'drop') for (const c of [...this.conns]) if (c.src === src) this.kill(c);
  }

  mode(src: string): LinkMode {
    return this.modes.get(src) ?? { kind: 'ok' };
  }

  /** Every link back to ok. */
  healAll(): void {
    this.modes.clear();
  }

  private kill(c: Conn): void {
    this.stats.reset++;
    c.down.destroy();
    c.up.destroy();
    this.conns.delete(c);
  }

  private accept(down: net.Socket): void {
    down.pause();
    down.on('error', () => {});
    const src = ownerOfLocalPort(down.remotePort ?? 0, this.pids()) ?? '?';
    if (this.mode(src).kind === 'drop') {
      this.stats.reset++;
      down.destroy();
      return;
    }
    const up = net.connect(this.targetPort, '127.0.0.1');
    up.on('error', () => {});
    const c: Conn = { src, down, up };
    this.conns.add(c);
    const close = () => {
      if (!this.conns.has(c)) return;
      this.conns.delete(c);
      down.destroy();
      up.destroy();
    };
    down.on('close', close);
    up.on('close', close);
    this.pipe(c, down, up);
    this.pipe(c, up, down);
    down.resume();
  }

  /** Forward from -> to under the link's current mode, keeping chunk order under delay. */
  private pipe(c: Conn, from: net.Socket, to: net.Socket): void {
    let tail = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const m = this.mode(c.src);
      if (m.kind === 'drop') return this.kill(c);
      if (m.kind === 'blackhole') {
        this.stats.swallowed++;
        return;
      }
      if (m.kind === 'loss' && this.rand() < m.p) return this.kill(c);
      const delay = m.kind === 'delay' ? m.ms : 0;
      this.stats.forwarded++;
      if (delay === 0) {
        tail = tail.then(() => { if (!to.destroyed) to.write(chunk); });
      } else {
        const due = Date.now() + delay; // constant latency, order kept: wait until due, not delay after the previous chunk
        tail = tail.then(() => new Promise<void>((r) => setTimeout(() => { if (!to.destroyed) to.write(chunk); r(); }, Math.max(0, due - Date.now()))));
      }
    });
  }

  /** Close the listener and every connection. */
  async close(): Promise<void> {
    for (const c of [...this.conns]) this.kill(c);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
