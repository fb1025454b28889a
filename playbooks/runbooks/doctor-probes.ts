/**
 * The doctor's read-only probes, run on every member host itself (one `bash -s` script per host over the
 * existing connector, nothing installed): name resolution, TCP reachability of every other member's peer and
 * client ports (`timeout 3 bash -c '</dev/tcp/ADDR/PORT'`, the equivalent of `nc -zv ADDR PORT`), the data dir
 * (the member ID in the first WAL segment's metadata record), fsync latency of the data dir's filesystem
 * (`dd oflag=dsync`), quorumd's own metrics (read through /dev/tcp from the metrics URL) and its unit state.
 *
 * Pure: the script text (shown by the plan and the docs) and the parser of its output into `HostProbe`.
 * Every output line is `<tag> <fields...>`; unknown lines are ignored.
 */
import type { Inventory } from '../../toolkit/inventory/types.js';
import { UNIT } from '../provision/defaults.js';

/** Number of 2300-byte dsync writes of the fsync probe (etcd's WAL writes are of this order). */
export const FSYNC_PROBE_WRITES = 100;
/** Seconds a port probe waits before calling the port unreachable. */
export const PORT_PROBE_TIMEOUT_S = 3;

/** One TCP probe from a host to another member's port. `code` 0 = open, 124 = timed out, else refused/error. */
export interface PortProbe { address: string; port: number; code: number }

/** quorumd's metrics as read on the host (undefined fields = not exposed). */
export interface ProbeMetrics {
  /** etcd_disk_wal_fsync_duration_seconds cumulative buckets: [upper bound s, count], ascending; +Inf last. */
  walFsyncBuckets: [number, number][];
  /** etcd_server_leader_changes_seen_total. */
  leaderChanges?: number;
  /** process_start_time_seconds (unix s). */
  startTime?: number;
}

/** What one host reported. `error` set = the host could not be reached or the script failed. */
export interface HostProbe {
  host: string;
  error?: string;
  /** Inventory host name -> the IPv4 address it resolves to on this host (undefined = does not resolve). */
  resolve: Record<string, string | undefined>;
  ports: PortProbe[];
  /** Whether the data dir exists; `walMemberId`/`walClusterId`: lowercase hex from the first WAL segment. */
  dataDir: { present: boolean; walMemberId?: string; walClusterId?: string };
  /** Mean latency of one dsync write, ms (FSYNC_PROBE_WRITES writes). */
  fsyncMeanMs?: number;
  metrics?: ProbeMetrics;
  /** Host clock, unix s. */
  now?: number;
  /** `systemctl is-active quorumd`. */
  unit?: string;
  /** The last journal line of quorumd mentioning corruption (a member that refuses to start). */
  corruption?: string;
}

/** The probe script's sections, in order: a title (for the plan) and the bash lines. */
export interface ProbeSection { title: string; lines: string[] }

/** The script's sections for `inv` (the same on every host: a host skips its own addresses). */
export function probeSections(inv: Inventory): ProbeSection[] {
  const c = inv.cluster;
  const names = inv.hosts.map((h) => h.name).join(' ');
  const targets = inv.hosts.flatMap((h) => [`${h.address}:${c.peerPort}`, `${h.address}:${c.clientPort}`]).join(' ');
  const d = c.dataDir;
  return [
    { title: 'resolve every member\'s host name (as /etc/hosts and DNS answer on this host)', lines: [
      `for n in ${names}; do a=$(getent ahostsv4 "$n" | awk 'NR==1{print $1}'); echo "resolve $n \${a:--}"; done`,
    ] },
    { title: `probe the peer (${c.peerPort}) and client (${c.clientPort}) ports of every other member from this host`, lines: [
      `MY=" $(ip -4 -o addr show | awk '{split($4,a,"/"); printf "%s ", a[1]}')"`,
      `for t in ${targets}; do case "$MY" in *" \${t%:*} "*) continue;; esac; `
        + `( timeout ${PORT_PROBE_TIMEOUT_S} bash -c "</dev/tcp/\${t%:*}/\${t#*:}" 2>/dev/null; echo "port $t $?" ) & done; wait`,
    ] },
    { title: `inspect the data dir ${d} (member ID in the first WAL segment)`, lines: [
      `if [ -d ${d} ]; then echo "datadir present"; f=$(ls ${d}/member/wal/*.wal 2>/dev/null | head -n 1); `
        + `if [ -n "$f" ]; then echo "walhead $(od -An -tx1 -N25 -v "$f" | tr -d ' \\n')"; fi; else echo "datadir absent"; fi`,
    ] },
    { title: `measure fsync latency on the data dir's filesystem (${FSYNC_PROBE_WRITES} dsync writes of 2300 bytes)`, lines: [
      `p=${d}; [ -d "$p" ] || p=$(dirname ${d}); f="$p/.quorum-doctor-fsync"; `
        + `s=$(dd if=/dev/zero of="$f" bs=2300 count=${FSYNC_PROBE_WRITES} oflag=dsync 2>&1 | awk '/copied/{print $(NF-3)}'); rm -f "$f"; echo "fsync \${s:--}"`,
    ] },
    { title: `read quorumd's metrics (http://ADDR:${c.metricsPort}/metrics) and unit state`, lines: [
      `echo "now $(date +%s)"; echo "unit $(systemctl is-active ${UNIT} 2>/dev/null || true)"`,
      `for a in $(ip -4 -o addr show | awk '{split($4,b,"/"); print b[1]}'); do timeout 5 bash -c "exec 3<>/dev/tcp/$a/${c.metricsPort} && `
        + `printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3" 2>/dev/null | grep -E '^(etcd_disk_wal_fsync_duration_seconds_bucket|etcd_server_leader_changes_seen_total|process_start_time_seconds)[ {]' `
        + `| sed 's/^/metric /' && break; done`,
      `journalctl -u ${UNIT} -n 40 --no-pager -o cat 2>/dev/null | grep -i corrupt | tail -n 1 | sed 's/^/corrupt /'`,
    ] },
  ];
}

/** The whole script (run as root with `bash -s`, LC_ALL=C). */
export function probeScript(inv: Inventory): string {
  return `export LC_ALL=C\n${probeSections(inv).flatMap((s) => s.lines).join('\n')}\nexit 0\n`;
}

/** Decodes the first 25 bytes of a WAL segment (hex): the metadata record (memberId, clusterId, little endian). */
export function parseWalHead(hex: string): { memberId: string; clusterId: string } | undefined {
  if (!/^[0-9a-f]{50}$/.test(hex)) return undefined;
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  if (bytes[8] !== 1) return undefined; // record type Metadata (store/wal/record.ts)
  const u64 = (off: number) => bytes.slice(off, off + 8).reverse().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n).toString(16);
  return { memberId: u64(9), clusterId: u64(17) };
}

/** Parses the probe script's output on `host`. */
export function parseProbeOutput(host: string, stdout: string): HostProbe {
  const p: HostProbe = { host, resolve: {}, ports: [], dataDir: { present: false } };
  const buckets: [number, number][] = [];
  for (const line of stdout.split('\n')) {
    const [tag, ...f] = line.trim().split(/\s+/);
    switch (tag) {
      case 'resolve': if (f[0]) p.resolve[f[0]] = f[1] && f[1] !== '-' ? f[1] : undefined; break;
      case 'port': {
        const m = /^(.+):(\d+)$/.exec(f[0] ?? '');
        if (m && f[1] !== undefined) p.ports.push({ address: m[1]!, port: Number(m[2]), code: Number(f[1]) });
        break;
      }
      case 'datadir': p.dataDir.present = f[0] === 'present'; break;
      case 'walhead': {
        const w = parseWalHead(f[0] ?? '');
        if (w) { p.dataDir.walMemberId = w.memberId; p.dataDir.walClusterId = w.clusterId; }
        break;
      }
      case 'fsync': if (f[0] && f[0] !== '-' && Number.isFinite(Number(f[0]))) p.fsyncMeanMs = (Number(f[0]) * 1000) / FSYNC_PROBE_WRITES; break;
      case 'now': if (f[0]) p.now = Number(f[0]); break;
      case 'unit': p.unit = f[0] ?? ''; break;
      case 'corrupt': p.corruption = line.trim().slice('corrupt '.length); break;
      case 'metric': {
        const m = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(f.join(' '));
        if (!m) break;
        const v = Number(m[3]);
        p.metrics ??= { walFsyncBuckets: [] };
        if (m[1] === 'etcd_disk_wal_fsync_duration_seconds_bucket') {
          const le = /le="([^"]+)"/.exec(m[2] ?? '')?.[1];
          if (le) buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v]);
        } else if (m[1] === 'etcd_server_leader_changes_seen_total') p.metrics.leaderChanges = v;
        else if (m[1] === 'process_start_time_seconds') p.metrics.startTime = v;
        break;
      }
      default: break;
    }
  }
  if (p.metrics) p.metrics.walFsyncBuckets = buckets.sort((a, b) => a[0] - b[0]);
  return p;
}

/**
 * The q-quantile (0..1) of a cumulative histogram, linearly interpolated inside the bucket as Prometheus'
 * histogram_quantile does; seconds. undefined when the histogram is empty. The +Inf bucket yields the
 * highest finite bound.
 */
export function histogramQuantile(q: number, buckets: [number, number][]): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(count - prevCount, 1e-9);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}
