/**
 * `defrag [--cluster]` (etcdctl 3.4 ctlv3/command/defrag_command.go): defragments each endpoint's member in
 * turn (Maintenance.Defragment is per member, not through Raft), printing
 * "Finished defragmenting etcd member[<endpoint>]" or, on stderr, "Failed to defragment etcd member[<endpoint>]
 * (<error>)"; any failure exits 1 without a further "Error:" line. --cluster takes every member's client URLs.
 */
import { Command } from 'commander';
import { defragment } from '../../client/maintenance.js';
import { CtlFatal, authenticate, clientFor, errorMessage, globals, withClient, type Globals } from '../global.js';
import { ExitCode } from '../printer.js';

/** The endpoints of `--cluster` (every member's client URLs, first seen first) or --endpoints. */
export async function clusterEndpoints(g: Globals, cluster: boolean): Promise<string[]> {
  if (!cluster) return g.endpoints;
  const members = await withClient(g, (c) => c.memberList());
  const seen = new Set<string>();
  for (const m of members) for (const u of m.clientURLs) seen.add(u);
  return [...seen];
}

export function defragCommand(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('defrag')
    .description('Defragments the storage of the etcd members with given endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(async (o: { cluster?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      let failures = 0;
      for (const ep of await clusterEndpoints(g, !!o.cluster)) {
        const c = clientFor(g, ep);
        try {
          await authenticate(g, c);
          await defragment(c);
          out(`Finished defragmenting etcd member[${ep}]\n`);
        } catch (e) {
          failures++;
          err(`Failed to defragment etcd member[${ep}] (${errorMessage(e)})\n`);
        } finally {
          c.close();
        }
      }
      if (failures > 0) throw new CtlFatal('defrag failed', ExitCode.Error);
    });
}
