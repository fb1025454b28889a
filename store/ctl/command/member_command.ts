/**
 * `member add|remove|update|promote|list` (etcdctl 3.4 ctlv3/command/member_command.go and the simple/json
 * printers): `member add <name> --peer-urls=a,b [--learner]` prints "Member <%16x> added[ as learner ]to cluster
 * <%16x>" and then the ETCD_NAME / ETCD_INITIAL_CLUSTER / ETCD_INITIAL_ADVERTISE_PEER_URLS /
 * ETCD_INITIAL_CLUSTER_STATE lines to start the new member with. Member IDs are hex on the command line.
 * Argument errors exit 128 (ExitBadArgs) as etcdctl does.
 */
import { Command } from 'commander';
import { headerFromWire, type ResponseHeader } from '../../client/client.js';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { ExitCode, RawJson, goJson, oe, renderTable } from '../printer.js';

interface WireMember { ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }
interface MembersResp { header: Parameters<typeof headerFromWire>[0]; members: WireMember[]; member?: WireMember }

/** Go's fmt "%16x": lower-case hex padded with spaces to width 16. */
export function hex16(id: bigint): string {
  return id.toString(16).padStart(16, ' ');
}

function memberJson(m: WireMember): Record<string, unknown> {
  return {
    ID: new RawJson(BigInt(m.ID).toString()),
    name: oe(m.name),
    peerURLs: oe(m.peerURLs.length > 0 ? m.peerURLs : undefined),
    clientURLs: oe(m.clientURLs.length > 0 ? m.clientURLs : undefined),
    isLearner: oe(m.isLearner),
  };
}

function parseId(s: string | undefined, what: string): bigint {
  if (s === undefined) throw new CtlError(`member ID is not provided`, ExitCode.BadArgs);
  if (!/^[0-9a-fA-F]{1,16}$/.test(s)) throw new CtlError(`bad member ID arg (strconv.ParseUint: parsing "${s}": invalid syntax), expecting ID in Hex`, ExitCode.BadArgs);
  void what;
  return BigInt('0x' + s);
}

/** etcd's types.NewURLs checks as etcdctl applies them to --peer-urls (errors exit 1). */
function checkUrls(list: string): string[] {
  const urls = list.split(',');
  for (const u of urls) {
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(u);
    const scheme = m ? m[1] : '';
    if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) throw new CtlError(`URL scheme must be http, https, unix, or unixs: ${u}`);
    if ((scheme === 'http' || scheme === 'https') && !/:[0-9]*$/.test(m![2])) throw new CtlError(`URL address does not have the form "host:port": ${u}`);
    if (m![3] !== '' && m![3] !== '/') throw new CtlError(`URL must not contain a path: ${u}`);
  }
  return urls;
}

function printJson(out: (s: string) => void, h: ResponseHeader, r: MembersResp): void {
  const o: Record<string, unknown> = { header: headerJson(h) };
  if (r.member) o.member = memberJson(r.member);
  o.members = r.members.map(memberJson);
  out(goJson(o) + '\n');
}

export function memberCommand(out: (s: string) => void): Command {
  const member = new Command('member').description('Membership related commands');

  member
    .command('add')
    .argument('[memberName]')
    .description('Adds a member into the cluster')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the new member.', '')
    .option('--learner', 'indicates if the new member is raft learner', false)
    .action(async (name: string | undefined, o: { peerUrls: string; learner: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (name === undefined) throw new CtlError('member name not provided', ExitCode.BadArgs);
      if (o.peerUrls === '') throw new CtlError('member peer urls not provided', ExitCode.BadArgs);
      const urls = checkUrls(o.peerUrls);
      const learner = o.learner === true || String(o.learner) === 'true';
      const { r, list } = await withClient(g, async (c) => {
        const r = await c.unary<MembersResp>('Cluster', 'MemberAdd', { peerURLs: urls, isLearner: learner });
        const list = g.writeOut === 'json' ? undefined : await c.unary<MembersResp>('Cluster', 'MemberList', {});
        return { r, list };
      });
      const h = headerFromWire(r.header);
      if (g.writeOut === 'json') {
        printJson(out, h, r);
        return;
      }
      const id = BigInt(r.member!.ID);
      // etcdctl 3.4 prints the same line for a learner (" as learner" came with 3.5).
      out(`Member ${hex16(id)} added to cluster ${hex16(h.clusterId)}\n`);
      const conf: string[] = [];
      for (const m of list!.members) for (const u of m.peerURLs) conf.push(`${BigInt(m.ID) === id ? name : m.name}=${u}`);
      out('\n');
      out(`ETCD_NAME=${JSON.stringify(name)}\n`);
      out(`ETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}\n`);
      out(`ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(urls.join(','))}\n`);
      out(`ETCD_INITIAL_CLUSTER_STATE="existing"\n`);
    });

  const simpleChange = (verb: 'remove' | 'promote', rpc: string, past: string, desc: string) =>
    member
      .command(verb)
      .argument('[memberID]')
      .description(desc)
      .action(async (idArg: string | undefined, _o: unknown, cmd: Command) => {
        const g = globals(cmd);
        const id = parseId(idArg, verb);
        const r = await withClient(g, (c) => c.unary<MembersResp>('Cluster', rpc, { ID: id.toString() }));
        const h = headerFromWire(r.header);
        if (g.writeOut === 'json') return printJson(out, h, r);
        out(`Member ${hex16(id)} ${past} cluster ${hex16(h.clusterId)}\n`);
      });
  simpleChange('remove', 'MemberRemove', 'removed from', 'Removes a member from the cluster');
  simpleChange('promote', 'MemberPromote', 'promoted in', 'Promotes a non-voting member in the cluster');

  member
    .command('update')
    .argument('[memberID]')
    .description('Updates a member in the cluster')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the updated member.', '')
    .action(async (idArg: string | undefined, o: { peerUrls: string }, cmd: Command) => {
      const g = globals(cmd);
      const id = parseId(idArg, 'update');
      if (o.peerUrls === '') throw new CtlError('member peer urls not provided', ExitCode.BadArgs);
      const urls = checkUrls(o.peerUrls);
      const r = await withClient(g, (c) => c.unary<MembersResp>('Cluster', 'MemberUpdate', { ID: id.toString(), peerURLs: urls }));
      const h = headerFromWire(r.header);
      if (g.writeOut === 'json') return printJson(out, h, r);
      out(`Member ${hex16(id)} updated in cluster ${hex16(h.clusterId)}\n`);
    });

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
