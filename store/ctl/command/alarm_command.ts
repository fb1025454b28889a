/**
 * `alarm list` and `alarm disarm` (etcdctl 3.4 ctlv3/command/alarm_command.go). Both print each alarm as
 * protobuf's text form, "memberID:<decimal id> alarm:NOSPACE " (trailing space included); json prints the
 * AlarmResponse ({"alarms":[{"memberID":<bare uint64>,"alarm":1}]}, "{}" when none: etcd sends no header).
 * `disarm` lists the alarms and deactivates each (clientv3 AlarmDisarm). table is refused (exit 4) as etcdctl
 * does; extra arguments exit 128.
 */
import { Command } from 'commander';
import { alarm, disarmAll, type AlarmResult } from '../../client/maintenance.js';
import { alarmText } from '../../server/alarm_store.js';
import { CtlError, globals, headerJson, withClient } from '../global.js';
import { ExitCode, RawJson, display, fieldsHeader, goJson } from '../printer.js';

const TYPE_NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/** Print an AlarmResponse in the selected format (etcdctl display.Alarm). */
export function printAlarms(format: Parameters<typeof display>[0], out: (s: string | Uint8Array) => void, r: AlarmResult): void {
  display(format, out, {
    simple: () => r.alarms.map((a) => alarmText(a) + '\n').join(''),
    json: () => goJson({
      header: r.header ? headerJson(r.header) : undefined,
      alarms: r.alarms.length > 0 ? r.alarms.map((a) => ({ memberID: a.memberId !== 0n ? new RawJson(a.memberId.toString()) : undefined, alarm: a.alarm || undefined })) : undefined,
    }) + '\n',
    fields: () => (r.header ? fieldsHeader(r.header) : '') + r.alarms.map((a) => `"MemberID" : ${a.memberId}\n"AlarmType" : ${TYPE_NAMES[a.alarm] ?? a.alarm}\n`).join(''),
  });
}

export function alarmCommand(out: (s: string | Uint8Array) => void): Command {
  const c = new Command('alarm').description('Alarm related commands');
  c.command('list')
    .description('Lists all alarms')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) throw new CtlError('alarm list command accepts no arguments', ExitCode.BadArgs);
      const g = globals(cmd);
      const r = await withClient(g, (cl) => alarm(cl, 0));
      printAlarms(g.writeOut, out, r);
    });
  c.command('disarm')
    .description('Disarms all alarms')
    .argument('[args...]')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (args.length !== 0) throw new CtlError('alarm disarm command accepts no arguments', ExitCode.BadArgs);
      const g = globals(cmd);
      const r = await withClient(g, (cl) => disarmAll(cl));
      printAlarms(g.writeOut, out, r);
    });
  return c;
}
