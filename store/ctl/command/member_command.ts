/** `member list` (etcdctl ctlv3/command/member_command.go). add/remove/update/promote: not yet. */
import { Command } from 'commander';
import { globals, headerJson, withClient } from '../global.js';
import { goJson, oe, renderTable } from '../printer.js';

export function memberCommand(out: (s: string) => void): Command {
  const member = new Command('member').description('Membership related commands');
  member
    .command('list')
    .description('Lists all members in the cluster')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.memberListFull());
      if (g.writeOut === 'json') {
        out(goJson({
          header: headerJson(r.header),
          members: r.members.map((m) => ({ ID: m.id, name: oe(m.name), peerURLs: oe(m.peerURLs), clientURLs: oe(m.clientURLs), isLearner: oe(m.isLearner) })),
        }) + '\n');
        return;
      }
      const rows = r.members.map((m) => [
        m.id.toString(16), m.name === '' ? 'unstarted' : 'started', m.name, m.peerURLs.join(','), m.clientURLs.join(','), String(m.isLearner),
      ]);
      if (g.writeOut === 'table') out(renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], rows));
      else for (const row of rows) out(row.join(', ') + '\n');
    });
  return member;
}
