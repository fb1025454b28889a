/**
 * Shared pieces of the auth-family commands (user, role, auth): the Auth RPC call with etcdctl's client
 * setup, and the response printers of etcdctl 3.4 (simple text; json and protobuf of the response message;
 * fields and table unsupported, exit 4).
 */
import type { Command } from 'commander';
import { headerFromWire, type ResponseHeader } from '../../client/client.js';
import { CtlError, globals, headerJson, withClient, type Globals } from '../global.js';
import { ExitCode, PbWriter, display, fieldsHeader, goJson, pbHeader } from '../printer.js';

/** Wire header as proto-loader gives it. */
export type WireHeaderLike = Parameters<typeof headerFromWire>[0];

/** Throw etcdctl's bad-arguments error (exit 128). */
export function badArgs(message: string): never {
  throw new CtlError(message, ExitCode.BadArgs);
}

/** Call Auth.<method> with the global flags of `cmd`; resolves with the globals, header and the raw response. */
export async function authCall<T extends { header: WireHeaderLike }>(cmd: Command, method: string, req: unknown, g?: Globals): Promise<{ g: Globals; header: ResponseHeader; r: T }> {
  const gl = g ?? globals(cmd);
  const r = await withClient(gl, (c) => c.unary<T>('Auth', method, req));
  return { g: gl, header: headerFromWire(r.header), r };
}

/**
 * Print an Auth response: `simple` text, else JSON `{"header":..., ...extraJson}` or the protobuf message
 * (header = field 1, then `extraPb` adds fields 2+). `fields`: the header lines plus `extraFields`, or
 * unsupported (exit 4) when `extraFields` is null (etcdctl 3.4 has no fields printer for user get / user list).
 */
export function printAuth(
  g: Globals,
  out: (s: string | Uint8Array) => void,
  header: ResponseHeader,
  simple: string,
  extraJson: Record<string, unknown> = {},
  extraPb: (w: PbWriter) => void = () => undefined,
  extraFields: string | null = '',
): void {
  display(g.writeOut, out, {
    fields: extraFields === null ? undefined : () => fieldsHeader(header) + extraFields,
    simple: () => simple,
    json: () => goJson({ header: headerJson(header), ...extraJson }) + '\n',
    protobuf: () => {
      const w = new PbWriter().message(1, pbHeader(header));
      extraPb(w);
      return w.finish();
    },
  });
}
