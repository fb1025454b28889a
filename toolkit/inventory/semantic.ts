/**
 * Checks the schema cannot express: name and address syntax, uniqueness, member count, etcd's timing
 * rules and port clashes. Each returns located problems; none throws.
 */
import type { Document, LineCounter } from 'yaml';
import type { InventoryProblem } from './errors.js';
import { effectiveStore } from './defaults.js';
import { locate } from './locate.js';
import type { RawInventory } from './raw.js';

/** RFC 1123 host label: 1-63 letters, digits and hyphens, not starting or ending with a hyphen. */
export function isRfc1123Label(s: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(s);
}

/** Dotted-quad IPv4 address: four decimal octets 0-255 without leading zeros. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** etcd rejects election timeouts above 50 s (`--election-timeout` "is too long"). */
export const MAX_ELECTION_TIMEOUT_MS = 50000;

/**
 * Semantic problems of a schema-valid inventory (document order is restored by the caller).
 * Rules: host names are RFC 1123 labels and unique (case-insensitive); addresses are IPv4 and unique;
 * the member count is odd and 1..7 (Raft majority: 3/5/7 tolerate 1/2/3 failures); per effective host
 * settings election-timeout >= 5 x heartbeat-interval and <= 50000 ms (etcd's tuning guide and
 * server checks); client, peer and metrics ports are distinct.
 */
export function semanticProblems(raw: RawInventory, file: string, doc: Document, lc: LineCounter, opts: { allowEven?: boolean } = {}): InventoryProblem[] {
  const out: InventoryProblem[] = [];
  const add = (path: string, message: string, fix: string) => out.push({ file, ...locate(doc, lc, path), path, message, fix });

  if (raw.cluster?.name !== undefined && !isRfc1123Label(raw.cluster.name)) {
    add('/cluster/name', `${JSON.stringify(raw.cluster.name)} is not a valid cluster name`, 'use letters, digits and hyphens (an RFC 1123 label), e.g. etcd-prod');
  }

  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  raw.hosts.forEach((h, i) => {
    if (!isRfc1123Label(h.name)) {
      add(`/hosts/${i}/name`, `${JSON.stringify(h.name)} is not a valid host name`,
        'use 1-63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123), e.g. etcd-01');
    } else {
      const prev = names.get(h.name.toLowerCase());
      if (prev !== undefined) {
        add(`/hosts/${i}/name`, `duplicate host name ${JSON.stringify(h.name)} (also /hosts/${prev}/name)`, 'give every member its own name');
      } else names.set(h.name.toLowerCase(), i);
    }
    if (!isIPv4(h.address)) {
      add(`/hosts/${i}/address`, `${JSON.stringify(h.address)} is not an IPv4 address`, "use the host's IPv4 address, e.g. 192.168.1.12");
    } else {
      const prev = addrs.get(h.address);
      if (prev !== undefined) {
        add(`/hosts/${i}/address`, `duplicate address ${h.address} (also /hosts/${prev}/address)`, 'give every member its own address');
      } else addrs.set(h.address, i);
    }
  });

  const n = raw.hosts.length;
  if (n > 7) {
    add('/hosts', `${n} members is more than 7`, 'use 3, 5 or 7 members: larger clusters replicate every write to more members and tolerate no more than they need');
  } else if (n % 2 === 0 && !opts.allowEven) {
    add('/hosts', `${n} members is an even count`, `use ${[n - 1, n + 1].filter((x) => x >= 3 && x <= 7).join(' or ')} members (odd: 3, 5 or 7): an even count tolerates no more failures than one fewer member (or pass --allow-even)`);
  }

  // Timing: check the cluster level once, then each host whose overrides change the pair.
  const checkTiming = (hb: number, et: number, path: string, where: string) => {
    if (et < 5 * hb) {
      add(path, `election-timeout ${et} ms is less than 5 x heartbeat-interval ${hb} ms${where}`,
        `raise election-timeout to at least ${5 * hb} ms (10 x heartbeat-interval is typical) or lower heartbeat-interval`);
    } else if (et > MAX_ELECTION_TIMEOUT_MS) {
      add(path, `election-timeout ${et} ms is above etcd's maximum ${MAX_ELECTION_TIMEOUT_MS} ms${where}`, `use at most ${MAX_ELECTION_TIMEOUT_MS} ms`);
    }
  };
  const cs = effectiveStore(raw, undefined);
  const c = raw.cluster ?? {};
  checkTiming(cs.heartbeatIntervalMs, cs.electionTimeoutMs,
    c['election-timeout'] !== undefined ? '/cluster/election-timeout' : c['heartbeat-interval'] !== undefined ? '/cluster/heartbeat-interval' : '/cluster', '');
  raw.hosts.forEach((h, i) => {
    const o = h.overrides ?? {};
    if (o['election-timeout'] === undefined && o['heartbeat-interval'] === undefined) return;
    const hs = effectiveStore(raw, i);
    const path = o['election-timeout'] !== undefined ? `/hosts/${i}/overrides/election-timeout` : `/hosts/${i}/overrides/heartbeat-interval`;
    checkTiming(hs.heartbeatIntervalMs, hs.electionTimeoutMs, path, ` on ${h.name}`);
  });

  const ports: Array<[string, number | undefined, number]> = [
    ['client-port', c['client-port'], 2379],
    ['peer-port', c['peer-port'], 2380],
    ['metrics-port', c['metrics-port'], 2381],
  ];
  for (let i = 0; i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ports[j][1] ?? ports[j][2];
      const b = ports[i][1] ?? ports[i][2];
      if (a === b) {
        const key = ports[i][1] !== undefined ? ports[i][0] : ports[j][0];
        add(`/cluster/${key}`, `${ports[i][0]} and ${ports[j][0]} are both ${a}`, 'give client, peer and metrics distinct ports (2379, 2380, 2381 by default)');
      }
    }
  }
  return out;
}
