/**
 * `snapshot save | status | restore` (etcdctl 3.4 ctlv3/command/snapshot_command.go):
 * - `save FILE`: streams Maintenance.Snapshot from the one endpoint given into FILE.part, fsyncs, renames it to
 *   FILE and prints "Snapshot saved at FILE". More than one endpoint: "snapshot must be requested to one
 *   selected node, not multiple [..]"; a stream without the trailing digest: "sha256 checksum not found
 *   [bytes: N]"; both exit 5 (ExitInterrupted) as etcdctl.
 * - `status FILE`: hash (CRC-32C of the image, hex), revision, total keys (stored versions), total size
 *   (image bytes), in simple ("%x, %d, %d, <humanized>"), table and json ({"hash","revision","totalKey",
 *   "totalSize"}) formats.
 * - `restore FILE --name --initial-cluster --initial-cluster-token --initial-advertise-peer-urls --data-dir
 *   [--skip-hash-check] [--bump-revision N --mark-compacted]`: offline, writes a new data dir starting a new
 *   cluster (store/snap/restore.ts); the bump flags are etcd 3.5's (etcdutl), both or neither, else
 *   "--mark-compacted required if --revision-bump > 0" and exit 128.
 * The files are quorumd backups (store/snap/backup.ts): etcd's bbolt snapshots are not readable here, nor
 * quorumd's by etcd. Wrong argument counts exit 128 (ExitBadArgs).
 */
import { createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Command } from 'commander';
import { snapshot } from '../../client/maintenance.js';
import { backupStatus, IMAGE_ALIGN, SHA256_SIZE } from '../../snap/backup.js';
import { checkBumpFlags, restoreSnapshot } from '../../snap/restore.js';
import { CtlError, authenticate, clientFor, globals } from '../global.js';
import { ExitCode, display, goJson, humanizeBytes, renderTable } from '../printer.js';

/** Save the snapshot stream of `endpoint` to `path` (via path.part). Resolves with the byte count. */
async function save(g: ReturnType<typeof globals>, endpoint: string, path: string, timeoutMs?: number): Promise<number> {
  const part = `${path}.part`;
  const c = clientFor(g, endpoint);
  const ws = createWriteStream(part, { mode: 0o600 });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    await opened;
    await authenticate(g, c);
    const size = await snapshot(c, (b) => ws.write(b), timeoutMs);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (size % IMAGE_ALIGN !== SHA256_SIZE) throw new CtlError(`sha256 checksum not found [bytes: ${size}]`, ExitCode.Interrupted);
    const fh = await fsp.open(part, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(part, path);
    return size;
  } catch (e) {
    ws.destroy();
    await fsp.rm(part, { force: true });
    if (e instanceof CtlError) throw e;
    throw new CtlError(e instanceof Error ? ('details' in e ? String((e as { details: string }).details) : e.message) : String(e), ExitCode.Interrupted);
  } finally {
    c.close();
  }
}

export function snapshotCommand(out: (s: string | Uint8Array) => void, err: (s: string) => void): Command {
  const s = new Command('snapshot').description('Manages etcd node snapshots');
  s.command('save')
    .description('Stores an etcd node backend snapshot to a given file')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) throw new CtlError('snapshot save expects one argument', ExitCode.BadArgs);
      const g = globals(cmd);
      if (g.endpoints.length !== 1) {
        throw new CtlError(`snapshot must be requested to one selected node, not multiple [${g.endpoints.join(' ')}]`, ExitCode.Interrupted);
      }
      const root = cmd.parent?.parent;
      const timeout = root?.getOptionValueSource('commandTimeout') === 'cli' || process.env.ETCDCTL_COMMAND_TIMEOUT ? g.commandTimeoutMs : undefined;
      await save(g, g.endpoints[0]!, args[0]!, timeout);
      out(`Snapshot saved at ${args[0]}\n`);
    });
  s.command('status')
    .description('Gets backend snapshot status of a given file')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 1) throw new CtlError('snapshot status requires exactly one argument', ExitCode.BadArgs);
      const g = globals(cmd);
      let file: Buffer;
      try {
        file = await fsp.readFile(args[0]!);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CtlError(code === 'ENOENT' ? `stat ${args[0]}: no such file or directory` : (e as Error).message);
      }
      const st = backupStatus(new Uint8Array(file.buffer, file.byteOffset, file.byteLength)).status;
      const hex = st.hash.toString(16);
      display(g.writeOut, out, {
        simple: () => `${hex}, ${st.revision}, ${st.totalKey}, ${humanizeBytes(st.totalSize)}\n`,
        table: () => renderTable(['hash', 'revision', 'total keys', 'total size'], [[hex, String(st.revision), String(st.totalKey), humanizeBytes(st.totalSize)]]),
        json: () => goJson({ hash: st.hash, revision: st.revision, totalKey: st.totalKey, totalSize: st.totalSize }) + '\n',
        fields: () => `"Hash" : ${st.hash}\n"Revision" : ${st.revision}\n"Keys" : ${st.totalKey}\n"Size" : ${st.totalSize}\n`,
      });
    });
  s.command('restore')
    .description('Restores an etcd member snapshot to an etcd directory')
    .argument('[args...]')
    .option('--data-dir <dir>', 'Path to the data directory')
    .option('--name <name>', 'Human-readable name for this member', 'default')
    .option('--initial-cluster <cluster>', 'Initial cluster configuration for restore bootstrap', 'default=http://localhost:2380')
    .option('--initial-cluster-token <token>', 'Initial cluster token for the etcd cluster during restore bootstrap', 'etcd-cluster')
    .option('--initial-advertise-peer-urls <urls>', 'List of this member\'s peer URLs to advertise to the rest of the cluster', 'http://localhost:2380')
    .option('--skip-hash-check', 'Ignore snapshot integrity hash value (required if copied from data directory)')
    .option('--bump-revision <n>', 'How much to increase the latest revision after restore', '0')
    .option('--mark-compacted', 'Mark the latest revision after restore as the point of scheduled compaction (required if --bump-revision > 0, disallowed otherwise)')
    .action(async (args: string[], o: { dataDir?: string; name: string; initialCluster: string; initialClusterToken: string; initialAdvertisePeerUrls: string; skipHashCheck?: boolean; bumpRevision: string; markCompacted?: boolean }) => {
      if (args.length !== 1) throw new CtlError('snapshot restore requires exactly one argument', ExitCode.BadArgs);
      if (!/^\d+$/.test(o.bumpRevision)) {
        throw new CtlError(`invalid argument ${JSON.stringify(o.bumpRevision)} for "--bump-revision" flag: not an unsigned integer`, ExitCode.BadArgs);
      }
      const bumpRevision = Number(o.bumpRevision);
      try {
        checkBumpFlags(bumpRevision, !!o.markCompacted);
      } catch (e) {
        throw new CtlError((e as Error).message, ExitCode.BadArgs);
      }
      const dataDir = o.dataDir || `${o.name}.etcd`;
      const log = (msg: string, f: Record<string, unknown>) =>
        err(goJson({ level: 'info', ts: Date.now() / 1000, caller: 'snapshot/restore', msg, ...f }) + '\n');
      log('restoring snapshot', { path: args[0], 'wal-dir': `${dataDir}/member/wal`, 'data-dir': dataDir, 'snap-dir': `${dataDir}/member/snap` });
      try {
        const r = await restoreSnapshot({
          file: args[0]!, name: o.name, initialCluster: o.initialCluster, initialClusterToken: o.initialClusterToken,
          initialAdvertisePeerUrls: o.initialAdvertisePeerUrls, dataDir, skipHashCheck: !!o.skipHashCheck,
          bumpRevision, markCompacted: !!o.markCompacted,
        });
        log('restored snapshot', {
          path: args[0], 'wal-dir': r.walDir, 'data-dir': dataDir, 'snap-dir': r.snapDir,
          'member-id': r.memberId.toString(16), 'cluster-id': r.clusterId.toString(16), revision: r.revision,
          ...(bumpRevision > 0 ? { 'bump-revision': bumpRevision, 'compact-revision': r.compactRevision } : {}),
          leases: r.leases, ...(r.users !== undefined ? { users: r.users, 'auth-enabled': r.authEnabled } : {}),
        });
      } catch (e) {
        throw new CtlError((e as Error).message);
      }
    });
  return s;
}
