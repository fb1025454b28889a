/**
 * quorumd's entry point: parse etcd-style flags/config, start the member (WAL, raft, peer transport), the client
 * gRPC listeners and the metrics listener; tell systemd READY=1 once clients are served and a leader is known;
 * stop cleanly on SIGTERM/SIGINT. Exit code 1 with a one-line error on bad configuration or unsafe data dir.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { ConfigError, parseCommandLine, type ServerConfig } from './config.js';
import { startClientServer, type ClientServer } from './grpc_server.js';
import { Logger } from './log.js';
import { Metrics, serveMetrics } from './metrics.js';
import { bindNodeMetrics } from './metrics_node.js';
import { QuorumNode } from './node.js';
import { API_VERSION, PACKAGE_VERSION } from './version.js';
import { ENTRY_VERSION } from './entry_codec_gate.js';

const USAGE = `Usage: quorumd [flags]
  Start a quorumd member (etcd v3 API compatible). Flags and config-file keys are etcd 3.4's:
  --name --data-dir --listen-client-urls --advertise-client-urls --listen-peer-urls
  --initial-advertise-peer-urls --initial-cluster --initial-cluster-state --initial-cluster-token
  --log-level --heartbeat-interval --election-timeout --quota-backend-bytes --max-request-bytes
  --listen-metrics-urls --cert-file --key-file --trusted-ca-file --client-cert-auth
  --peer-cert-file --peer-key-file --peer-trusted-ca-file --peer-client-cert-auth --config-file --version
  --initial-election-tick-advance (default true: fast-forward the election timer on boot; a one-member
    cluster elects itself at once, a member of several waits for a quorum of peers and a leaderless view)
`;

/** The text printed by --version. */
export function versionText(): string {
  // "Entry encoding": the newest Raft entry encoding this build decodes (entry_codec_gate.ts); `quorum upgrade`
  // reads it from a release before switching to it (playbooks/provision/upgrade-encoding.ts).
  return `quorumd Version: ${PACKAGE_VERSION}\nAPI Version: ${API_VERSION}\nEntry encoding: ${ENTRY_VERSION}\nNode Version: ${process.version}\nOS/Arch: ${process.platform}/${process.arch}\n`;
}

/** A started member and everything it listens on. */
export interface RunningServer {
  node: QuorumNode;
  stop(): Promise<void>;
}

/** Start a member with this configuration (used by main and by in-process tests). */
export async function startServer(cfg: ServerConfig, log: Logger, onFatal: (e: Error) => void): Promise<RunningServer> {
  const metrics = new Metrics();
  for (const k of cfg.ignored) log.warn('ignoring an etcd option that quorumd does not implement', { option: k });
  const node = await QuorumNode.start(cfg, log, metrics, onFatal);
  bindNodeMetrics(metrics, node); // scrape-time values, /health /livez /readyz, lease counters (metrics_node.ts)
  let grpcServer: ClientServer | undefined;
  let metricsServers: Server[] = [];
  try {
    grpcServer = await startClientServer(node, cfg, metrics);
    log.info('serving client traffic', { address: cfg.listenClientUrls });
    metricsServers = await serveMetrics(cfg.listenMetricsUrls, metrics, () => node.info().leader !== 0n, cfg.clientTls);
  } catch (e) {
    await grpcServer?.close(0);
    await node.stop();
    throw e;
  }
  node.onLeader(() => {
    if (!process.env.NOTIFY_SOCKET) return;
    const child = spawn('systemd-notify', ['--ready'], { stdio: 'ignore' });
    child.on('error', (e) => log.warn('systemd-notify failed', { error: e.message }));
    child.on('exit', (code) => log.info('notified systemd of readiness', { code }));
  });
  return {
    node,
    async stop() {
      await grpcServer?.close(2000);
      // close() waits for idle keep-alive connections (scrapers, health probes): drop them explicitly.
      for (const m of metricsServers) {
        const closed = new Promise<void>((resolve) => m.close(() => resolve()));
        m.closeAllConnections();
        await closed;
      }
      await node.stop();
    },
  };
}

/** Run quorumd with these arguments (argv without node and script). Exits the process on fatal errors. */
async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`quorumd: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(versionText());
    return;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const cfg = parsed.config;
  const log = new Logger(cfg.logLevel, 'quorumd');
  log.info('starting quorumd', { version: PACKAGE_VERSION, name: cfg.name, 'data-dir': cfg.dataDir });
  let running: RunningServer;
  try {
    running = await startServer(cfg, log, (e) => {
      log.error('fatal error; exiting', { error: e.message });
      process.exit(1);
    });
  } catch (e) {
    log.error((e as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('received signal; shutting down', { signal: sig });
    // A clean stop takes well under a second; if a connection or peer stream holds it up, exit anyway well
    // before systemd's stop timeout. Safe: every entry and vote is fsynced when written, and an unsynced
    // commit index is re-learned from the leader after restart.
    setTimeout(() => {
      log.warn('shutdown did not finish in 5 s; exiting', { signal: sig });
      process.exit(0);
    }, 5000).unref();
    running.stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error('error while stopping', { error: e.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export { main };

// In the release bundle (esbuild defines QUORUM_BUNDLED) this module is the program's entry point.
if (process.env.QUORUM_BUNDLED === '1' && /quorumd(\.mjs)?$/.test(process.argv[1] ?? '')) void main(process.argv.slice(2));
