/**
 * `move-leader <transferee-member-id>` (etcdctl 3.4 ctlv3/command/move_leader_command.go): finds the leader among
 * --endpoints with Status (error "no leader endpoint given at [...]", exit 128, when none of them leads), asks it
 * to MoveLeader, and prints "Leadership transferred from <leader> to <target>" (hex IDs).
 */
import { Command } from 'commander';
import { CtlError, clientFor, globals, logRpcError } from '../global.js';
import { StoreError } from '../../client/client.js';
import { ExitCode } from '../printer.js';

export function moveLeaderCommand(out: (s: string) => void): Command {
  return new Command('move-leader')
    .argument('[transferee-member-id]')
    .description('Transfers leadership to another etcd cluster member.')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      if (arg === undefined) throw new CtlError('move-leader command needs 1 argument', ExitCode.BadArgs);
      if (!/^[0-9a-fA-F]{1,16}$/.test(arg)) throw new CtlError(`strconv.ParseUint: parsing "${arg}": invalid syntax`, ExitCode.BadArgs);
      const target = BigInt('0x' + arg);
      for (const ep of g.endpoints) {
        const c = clientFor(g, ep);
        try {
          const s = await c.status();
          if (s.memberId !== s.leader) continue;
          await c.unary('Maintenance', 'MoveLeader', { targetID: target.toString() });
          out(`Leadership transferred from ${s.leader.toString(16)} to ${target.toString(16)}\n`);
          return;
        } catch (e) {
          if (e instanceof StoreError) logRpcError(e);
          throw e;
        } finally {
          c.close();
        }
      }
      throw new CtlError(`no leader endpoint given at [${g.endpoints.join(' ')}]`, ExitCode.BadArgs);
    });
}
