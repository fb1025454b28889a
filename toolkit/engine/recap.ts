/** Per-host counters, Ansible style: `ok` counts every task that succeeded (changed ones included). */
export interface HostCounts { ok: number; changed: number; failed: number; skipped: number }

/** The end-of-run summary: `etcd-01 : ok=12 changed=3 failed=0 skipped=0`. */
export class Recap {
  private readonly hosts = new Map<string, HostCounts>();

  constructor(hostNames: string[] = []) {
    for (const h of hostNames) this.counts(h);
  }

  /** The counters of `host` (created at zero). */
  counts(host: string): HostCounts {
    let c = this.hosts.get(host);
    if (!c) {
      c = { ok: 0, changed: 0, failed: 0, skipped: 0 };
      this.hosts.set(host, c);
    }
    return c;
  }

  /** Records one task outcome on `host`. */
  record(host: string, outcome: 'ok' | 'changed' | 'failed' | 'skipped'): void {
    const c = this.counts(host);
    if (outcome === 'changed') { c.ok++; c.changed++; } else c[outcome]++;
  }

  /** Total changed tasks over all hosts. */
  totalChanged(): number {
    return [...this.hosts.values()].reduce((n, c) => n + c.changed, 0);
  }

  /** True when some task failed. */
  anyFailed(): boolean {
    return [...this.hosts.values()].some((c) => c.failed > 0);
  }

  /** The recap block, one line per host, names padded to align. */
  format(): string {
    const width = Math.max(0, ...[...this.hosts.keys()].map((h) => h.length));
    const lines = [...this.hosts].map(([h, c]) =>
      `${h.padEnd(width)} : ok=${c.ok} changed=${c.changed} failed=${c.failed} skipped=${c.skipped}`);
    return `RECAP\n${lines.join('\n')}\n`;
  }
}
