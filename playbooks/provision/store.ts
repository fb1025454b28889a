/**
 * The provision playbook's view of a running cluster, through StoreClient (store/client, see
 * docs/CONTRACTS.md) over mTLS with the operator's client certificate.
 */
import { readFileSync } from 'node:fs';
import type { Inventory } from '../../toolkit/inventory/types.js';
import { STATUS_RPC_TIMEOUT_MS } from './defaults.js';
import { clientTlsPaths } from './pki.js';

/** What `StoreClient.status()` returns (docs/CONTRACTS.md "store/client"). */
export interface MemberStatus {
  version: string; dbSize: number; leader: bigint; raftIndex: number; raftTerm: number;
  raftAppliedIndex: number; memberId: bigint; clusterId: bigint; revision: number; errors: string[];
  /** Not in the CONTRACTS.md shape; StoreClient reports it. */
  isLearner?: boolean;
}

/** The part of StoreClient the toolkit uses. */
export interface StatusClient {
  status(): Promise<MemberStatus>;
  close(): void;
}

async function storeClientClass(): Promise<new (endpoint: string, tls?: { ca: Buffer; cert: Buffer; key: Buffer }, opts?: { timeoutMs?: number }) => StatusClient> {
  // Loaded on first use so `quorum --help` and dry runs do not load gRPC.
  return (await import('../../store/client/client.js')).StoreClient;
}

/** `https://ADDR:clientPort` of every member, in inventory order. */
export function clientEndpoints(inv: Inventory): string[] {
  return inv.hosts.map((h) => `https://${h.address}:${inv.cluster.clientPort}`);
}

/** The operator's client TLS material (ca.pem, client.pem, client-key.pem in inv.pki.dir). Throws when missing. */
export function readClientTls(inv: Inventory): { ca: Buffer; cert: Buffer; key: Buffer } {
  const p = clientTlsPaths(inv);
  try {
    return { ca: readFileSync(p.ca), cert: readFileSync(p.cert), key: readFileSync(p.key) };
  } catch (e) {
    throw new Error(`cannot read the client certificate in ${inv.pki.dir}: ${(e as Error).message} (fix: run \`quorum provision\` first)`);
  }
}

/** gRPC's connection errors are long; keep the cause (`connect ECONNREFUSED 10.88.0.11:2379`). */
export function shortError(msg: string): string {
  const m = /connect (E[A-Z]+ \S+?)\.?(?:\s|$)/.exec(msg);
  if (m) return `connect ${m[1]}`;
  return msg.split('\n')[0]!.replace(/\s*Resolution note:\s*$/, '').trim();
}

/** Status of one member, or the error text when it does not answer. */
export type StatusResult = { endpoint: string; name: string; status?: MemberStatus; error?: string };

/** Asks every member for its status in parallel (each with a short RPC timeout). Never throws. */
export async function statusAll(inv: Inventory, tls = readClientTls(inv)): Promise<StatusResult[]> {
  const Client = await storeClientClass();
  return Promise.all(inv.hosts.map(async (h, i) => {
    const endpoint = clientEndpoints(inv)[i]!;
    let client: StatusClient | undefined;
    try {
      client = new Client(endpoint, tls, { timeoutMs: STATUS_RPC_TIMEOUT_MS });
      return { endpoint, name: h.name, status: await client.status() };
    } catch (e) {
      return { endpoint, name: h.name, error: shortError((e as Error).message) };
    } finally {
      try { client?.close(); } catch { /* already closed */ }
    }
  }));
}

/**
 * Judges one round of statuses: healthy when every member answered without errors, all name the
 * same non-zero leader, and exactly one member is that leader. Returns the problems (empty = healthy).
 */
export function healthProblems(results: StatusResult[]): string[] {
  const problems: string[] = [];
  for (const r of results) {
    if (r.error) problems.push(`${r.name}: ${r.error}`);
    else if (r.status!.errors.length) problems.push(`${r.name}: ${r.status!.errors.join('; ')}`);
    else if (r.status!.leader === 0n) problems.push(`${r.name}: no leader`);
  }
  if (problems.length) return problems;
  const leaders = new Set(results.map((r) => r.status!.leader));
  if (leaders.size !== 1) return [`members disagree on the leader (${[...leaders].map((l) => l.toString(16)).join(', ')})`];
  const self = results.filter((r) => r.status!.memberId === r.status!.leader);
  if (self.length !== 1) return [`expected exactly one leader, found ${self.length}`];
  const clusters = new Set(results.map((r) => r.status!.clusterId));
  if (clusters.size !== 1) return ['members belong to different clusters (a split bootstrap: see the runbook "wipe and re-bootstrap")'];
  return [];
}
