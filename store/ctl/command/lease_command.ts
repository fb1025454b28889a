/**
 * `lease grant|revoke|timetolive|list|keep-alive` (etcdctl 3.4 ctlv3/command/lease_command.go), with etcdctl's
 * messages, exit codes and output formats (printer_simple.go; -w json prints the clientv3 response structs:
 * grant/keep-alive with the header flattened and "ID"/"TTL", timetolive/list with "id"/"ttl"/"granted-ttl").
 * Lease IDs are read and printed in hexadecimal.
 */
import { Command } from 'commander';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { headerFromWire, StoreError, type StoreClient } from '../../client/client.js';
import { CtlError, errorMessage, globals, headerJson, withClient, type Globals } from '../global.js';
import { ExitCode, goJson } from '../printer.js';

type WireHeader = Parameters<typeof headerFromWire>[0];
const hex16 = (id: bigint) => BigInt.asUintN(64, id).toString(16).padStart(16, '0');

/** etcdctl leaseFromArgs (`what` "bad lease ID arg"; put's --lease: "bad lease ID"): an int64 in hex. Throws CtlError (exit 128). */
export function parseLeaseId(arg: string, what = 'bad lease ID arg'): bigint {
  const ok = /^[+-]?[0-9a-fA-F]+$/.test(arg);
  let v = 0n;
  if (ok) v = BigInt((arg.startsWith('-') ? '-0x' : '0x') + arg.replace(/^[+-]/, ''));
  if (!ok) throw new CtlError(`${what} (strconv.ParseInt: parsing ${JSON.stringify(arg)}: invalid syntax), expecting ID in Hex`, ExitCode.BadArgs);
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) {
    throw new CtlError(`${what} (strconv.ParseInt: parsing ${JSON.stringify(arg)}: value out of range), expecting ID in Hex`, ExitCode.BadArgs);
  }
  return v;
}

const flat = (h: WireHeader) => headerJson(headerFromWire(h));

/** Wrap an error as etcdctl's ExitWithError(code, err). */
function fail(code: number, e: unknown, wrap?: (m: string) => string): never {
  const m = errorMessage(e);
  throw new CtlError(wrap ? wrap(m) : m, code);
}

interface KaRes { header: WireHeader; ID: string; TTL: string }

/** One keep-alive round trip on a fresh stream; resolves with the response. */
function keepAliveOnce(c: StoreClient, id: bigint, timeoutMs: number): Promise<KaRes> {
  const raw = c.rawClient('Lease') as unknown as { LeaseKeepAlive: (md: unknown, o: unknown) => ClientDuplexStream<unknown, KaRes> };
  return new Promise((resolve, reject) => {
    const s = raw.LeaseKeepAlive(c.metadata(), { deadline: Date.now() + timeoutMs });
    let done = false;
    s.on('data', (r: KaRes) => {
      done = true;
      s.cancel();
      resolve(r);
    });
    s.on('error', (e: { code: number; details: string; message: string }) => {
      if (!done) reject(new StoreError('', e.code, e.details || e.message));
    });
    s.on('end', () => {
      if (!done) reject(new StoreError('', 14, 'keep-alive stream closed'));
    });
    s.write({ ID: id.toString() });
  });
}

export function leaseCommand(out: (s: string) => void): Command {
  const lease = new Command('lease').description('Lease related commands');

  lease
    .command('grant')
    .description('Creates leases')
    .argument('[ttl]')
    .action(async (ttlArg: string | undefined, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      if (ttlArg === undefined || cmd.args.length !== 1) throw new CtlError('lease grant command needs TTL argument', ExitCode.BadArgs);
      if (!/^[+-]?\d+$/.test(ttlArg)) throw new CtlError(`bad TTL (strconv.ParseInt: parsing ${JSON.stringify(ttlArg)}: invalid syntax)`, ExitCode.BadArgs);
      const r = await withClient(g, (c) => c.unary<{ header: WireHeader; ID: string; TTL: string; error: string }>('Lease', 'LeaseGrant', { TTL: ttlArg, ID: '0' }))
        .catch((e) => fail(ExitCode.Error, e, (m) => `failed to grant lease (${m})`));
      if (g.writeOut === 'json') {
        out(goJson({ ...flat(r.header), ID: BigInt(r.ID), TTL: Number(r.TTL), Error: r.error ?? '' }) + '\n');
        return;
      }
      out(`lease ${hex16(BigInt(r.ID))} granted with TTL(${r.TTL}s)\n`);
    });

  lease
    .command('revoke')
    .description('Revokes leases')
    .argument('[leaseID]')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      if (arg === undefined || cmd.args.length !== 1) throw new CtlError('lease revoke command needs 1 argument', ExitCode.BadArgs);
      const id = parseLeaseId(arg);
      const r = await withClient(g, (c) => c.unary<{ header: WireHeader }>('Lease', 'LeaseRevoke', { ID: id.toString() }))
        .catch((e) => fail(ExitCode.Error, e, (m) => `failed to revoke lease (${m})`));
      if (g.writeOut === 'json') {
        out(goJson({ header: flat(r.header) }) + '\n');
        return;
      }
      out(`lease ${hex16(id)} revoked\n`);
    });

  lease
    .command('timetolive')
    .description('Get lease information')
    .argument('[leaseID]')
    .option('--keys', 'Get keys attached to this lease')
    .action(async (arg: string | undefined, opts: { keys?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (arg === undefined || cmd.args.length !== 1) throw new CtlError('lease timetolive command needs lease ID as argument', ExitCode.BadArgs);
      const id = parseLeaseId(arg);
      const r = await withClient(g, (c) =>
        c.unary<{ header: WireHeader; ID: string; TTL: string; grantedTTL: string; keys: Buffer[] }>('Lease', 'LeaseTimeToLive', { ID: id.toString(), keys: !!opts.keys }),
      ).catch((e) => fail(ExitCode.BadConnection, e));
      const ttl = Number(r.TTL);
      const granted = Number(r.grantedTTL);
      if (g.writeOut === 'json') {
        const keys = r.keys && r.keys.length > 0 ? r.keys.map((k) => new Uint8Array(k)) : null;
        out(goJson({ ...flat(r.header), id: BigInt(r.ID), ttl, 'granted-ttl': granted, keys }) + '\n');
        return;
      }
      if (granted === 0 && ttl === -1) {
        out(`lease ${hex16(BigInt(r.ID))} already expired\n`);
        return;
      }
      let txt = `lease ${hex16(BigInt(r.ID))} granted with TTL(${granted}s), remaining(${ttl}s)`;
      if (opts.keys) txt += `, attached keys([${(r.keys ?? []).map((k) => k.toString('latin1')).join(' ')}])`;
      out(txt + '\n');
    });

  lease
    .command('list')
    .description('List all active leases')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.unary<{ header: WireHeader; leases: { ID: string }[] }>('Lease', 'LeaseLeases', {}))
        .catch((e) => fail(ExitCode.BadConnection, e));
      if (g.writeOut === 'json') {
        out(goJson({ ...flat(r.header), leases: r.leases.map((l) => ({ id: BigInt(l.ID) })) }) + '\n');
        return;
      }
      out(`found ${r.leases.length} leases\n`);
      for (const l of r.leases) out(`${hex16(BigInt(l.ID))}\n`);
    });

  lease
    .command('keep-alive')
    .description('Keeps leases alive (renew)')
    .argument('[leaseID]')
    .option('--once', 'Resets the keep-alive time to its original value and exits immediately')
    .action(async (arg: string | undefined, opts: { once?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (arg === undefined || cmd.args.length !== 1) throw new CtlError('lease keep-alive command needs lease ID as argument', ExitCode.BadArgs);
      const id = parseLeaseId(arg);
      const print = (r: KaRes) => {
        if (g.writeOut === 'json') out(goJson({ ...flat(r.header), ID: BigInt(r.ID), TTL: Number(r.TTL) }) + '\n');
        else out(`lease ${hex16(BigInt(r.ID))} keepalived with TTL(${r.TTL})\n`);
      };
      if (opts.once) {
        const r = await withClient(g, (c) => keepAliveOnce(c, id, g.commandTimeoutMs)).catch((e) => fail(ExitCode.BadConnection, e));
        if (Number(r.TTL) <= 0) fail(ExitCode.BadConnection, new Error('etcdserver: requested lease not found'));
        print(r);
        return;
      }
      await keepAliveLoop(g, id, print);
      if (g.writeOut === 'simple') out(`lease ${hex16(id)} expired or revoked.\n`);
    });
  return lease;
}

/**
 * Renew every TTL/3 (at least every 500 ms check, as clientv3's keep-alive loop) until the lease is gone
 * (a response with TTL <= 0); connection failures move to the next endpoint after 500 ms.
 */
async function keepAliveLoop(g: Globals, id: bigint, print: (r: KaRes) => void): Promise<void> {
  let i = 0;
  for (;;) {
    const endpoint = g.endpoints[i++ % g.endpoints.length]!;
    const gone = await withClient({ ...g, endpoints: [endpoint] }, async (c) => {
      for (;;) {
        const r = await keepAliveOnce(c, id, g.commandTimeoutMs);
        const ttl = Number(r.TTL);
        if (ttl <= 0) return true;
        print(r);
        await new Promise((res) => setTimeout(res, Math.max(500, (ttl * 1000) / 3)));
      }
    }).catch(() => false);
    if (gone) return;
    await new Promise((res) => setTimeout(res, 500));
  }
}
