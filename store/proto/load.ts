/**
 * Loads the wire definitions in this directory with @grpc/proto-loader at run time.
 *
 * Where the .proto files are: $QUORUM_PROTO_DIR when set (a bundled release ships them beside the bundle),
 * else the first of: this module's directory, `./proto` beside it, or the source tree `store/proto` seen
 * from `dist/store/proto` (tsc does not copy .proto files).
 *
 * Conversions (the same on server and client): field names as in the .proto (`keepCase`), 64-bit integers as
 * decimal strings (`longs: String`, so uint64 member IDs above 2^53 keep their precision: convert with
 * BigInt(); int64 revisions with Number()), enums as numbers, bytes as Buffer, unset fields defaulted.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Options shared by every load of our protos. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** The directory holding rpc.proto, kv.proto, auth.proto and raftpb.proto. Throws when none is found. */
export function protoDir(): string {
  const candidates: string[] = [];
  if (process.env.QUORUM_PROTO_DIR) candidates.push(process.env.QUORUM_PROTO_DIR);
  const here = dirname(fileURLToPath(import.meta.url));
  candidates.push(here, join(here, 'proto'), resolve(here, '../../../store/proto'), resolve(here, '../store/proto'));
  for (const dir of candidates) {
    if (existsSync(join(dir, 'rpc.proto')) && existsSync(join(dir, 'raftpb.proto'))) return dir;
  }
  throw new Error(`quorum: cannot find the .proto files (looked in ${candidates.join(', ')}); set QUORUM_PROTO_DIR`);
}

let cachedEtcd: grpc.GrpcObject | undefined;
let cachedRaft: grpc.GrpcObject | undefined;

/** The etcdserverpb package: `.KV`, `.Watch`, `.Lease`, `.Cluster`, `.Maintenance`, `.Auth` service constructors. */
export function etcdPackage(): grpc.GrpcObject {
  if (!cachedEtcd) {
    const dir = protoDir();
    const def = protoLoader.loadSync('rpc.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
    cachedEtcd = (grpc.loadPackageDefinition(def) as grpc.GrpcObject).etcdserverpb as grpc.GrpcObject;
  }
  return cachedEtcd;
}

/** The quorum.raft package: `.Transport` (peer transport). */
export function raftPackage(): grpc.GrpcObject {
  if (!cachedRaft) {
    const dir = protoDir();
    const def = protoLoader.loadSync('raftpb.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
    const quorum = (grpc.loadPackageDefinition(def) as grpc.GrpcObject).quorum as grpc.GrpcObject;
    cachedRaft = quorum.raft as grpc.GrpcObject;
  }
  return cachedRaft;
}

/** A service's client constructor from a loaded package, e.g. `service(etcdPackage(), 'KV')`. */
export function serviceClient(pkg: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  return pkg[name] as grpc.ServiceClientConstructor;
}
