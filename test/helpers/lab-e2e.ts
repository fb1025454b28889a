/**
 * Shared pieces of the e2e files: the lab's hosts and root key, `ssh` and `must` (the test/e2e files but lab.test.ts),
 * the client TLS files of a pki dir and the inventory text of a lab cluster (scale, upgrade, ssh_real). For the
 * runbook files (test/e2e/runbooks*.test.ts): a 3-member lab cluster provisioned from a private copy of the
 * toolkit and a release built from this tree, the `quorum`, lab and ssh runners, mTLS clients to the members, and
 * the checks every drill ends with (`quorum status` exit 0, HashKV equal on every member).
 * Needs root (the lab). One `LabCluster` per test file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreClient } from '../../store/client/client.js';
import { hashKV } from '../../store/client/maintenance.js';
import { privateQuorumTree } from './private-tree.js';
import { run, type RunResult } from './proc.js';

/** A lab member. */
export interface LabHost { name: string; address: string }

/** The lab's three members (scripts/lab, inventory/lab.yaml). */
export const LAB_HOSTS: readonly LabHost[] = [
  { name: 'etcd-01', address: '10.88.0.11' },
  { name: 'etcd-02', address: '10.88.0.12' },
  { name: 'etcd-03', address: '10.88.0.13' },
];

/** The lab's root ssh key (scripts/lab). */
export const SSH_KEY = '/var/lib/quorum-lab/ssh/id_ed25519';

/** Asserts exit 0 (message with both outputs); returns stdout. */
export function must(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs `fn` and prints `# drill NAME: recovered in S s` (recovery times are printed, never asserted). */
export async function drill(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  await fn();
  console.log(`# drill ${name}: recovered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** `ssh root@ADDRESS CMD` with the lab key, host keys not checked (limit `timeoutMs`, default 60 s; then code 124). */
export function ssh(address: string, cmd: string, timeoutMs = 60_000): Promise<RunResult> {
  return run('ssh', ['-i', SSH_KEY, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=10', `root@${address}`, cmd], { timeoutMs });
}

/** The operator's client TLS material in a pki dir: ca.pem, client.pem, client-key.pem (read now; throws ENOENT). */
export function clientTls(pki: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(join(pki, 'ca.pem')), cert: readFileSync(join(pki, 'client.pem')), key: readFileSync(join(pki, 'client-key.pem')) };
}

/** What `labInventoryYaml` writes: the lab cluster's settings with these changes. */
export interface LabInventoryOptions {
  /** Members, in order. */
  hosts: readonly LabHost[];
  /** Release tarball path (cluster.release). */
  release: string;
  /** PKI dir (pki.dir). */
  pki: string;
  /** cluster.heartbeat-interval, ms (default 100). */
  heartbeat?: number;
  /** cluster.election-timeout, ms (default 1000). */
  election?: number;
  /** cluster.log-level (default info). */
  logLevel?: string;
  /** The `ssh:` section's lines, indented (default: user root with the lab key). */
  ssh?: string[];
}

/** An inventory YAML text for lab hosts (the settings of inventory/lab.yaml, token lab-cluster-1), newline-ended. */
export function labInventoryYaml(o: LabInventoryOptions): string {
  return [
    'cluster:', '  name: lab', '  initial-cluster-token: lab-cluster-1', `  heartbeat-interval: ${o.heartbeat ?? 100}`,
    `  election-timeout: ${o.election ?? 1000}`, `  log-level: ${o.logLevel ?? 'info'}`, `  release: ${o.release}`,
    'ssh:', ...(o.ssh ?? ['  user: root', `  private-key: ${SSH_KEY}`]), 'pki:', `  dir: ${o.pki}`, 'hosts:',
    ...o.hosts.flatMap((h) => [`  - name: ${h.name}`, `    address: ${h.address}`]), '',
  ].join('\n');
}

/** A provisioned lab cluster of one e2e file: its work dir, inventory, pki and runners. */
export class LabCluster {
  readonly root = new URL('../../../', import.meta.url).pathname;
  readonly hosts = LAB_HOSTS;
  readonly work: string;
  readonly pki: string;
  readonly inventory: string;
  private quorum = join(this.root, 'bin', 'quorum.js');
  private env: NodeJS.ProcessEnv = process.env;

  /** @param prefix names the work dir under the OS temp dir. */
  constructor(prefix: string) {
    this.work = mkdtempSync(join(tmpdir(), prefix));
    this.pki = join(this.work, 'pki');
    this.inventory = join(this.work, 'lab.yaml');
  }

  /** `quorum ARGS` from the private tree (default limit 300 s). */
  q(args: string[], timeoutMs = 300_000): Promise<RunResult> {
    return run(process.execPath, [this.quorum, ...args], { cwd: this.root, timeoutMs, env: this.env });
  }

  /** The lab script (`up`, `down`, `status`). */
  lab(args: string[]): Promise<RunResult> {
    return run(process.execPath, [join(this.root, 'dist', 'scripts', 'lab', 'main.js'), ...args], { cwd: this.root, timeoutMs: 600_000 });
  }

  /**
   * Builds a release into the work dir, copies the toolkit, brings up 3 lab hosts and provisions them from a
   * copy of inventory/lab.yaml with its own pki dir (and `quota-backend-bytes` when given).
   */
  async setUp(o: { quotaBytes?: number } = {}): Promise<void> {
    assert.equal(process.getuid?.(), 0, 'the e2e tier needs root (systemd-nspawn)');
    must(await run(process.execPath, [join(this.root, 'scripts', 'release.mjs'), '--out', join(this.work, 'release')], { cwd: this.root, timeoutMs: 600_000 }), 'release build');
    const version = JSON.parse(readFileSync(join(this.root, 'package.json'), 'utf8')).version as string;
    ({ quorum: this.quorum, env: this.env } = privateQuorumTree(this.root, join(this.work, 'tree')));
    await this.lab(['down']);
    must(await this.lab(['up', '--hosts', '3']), 'lab up');
    const quota = o.quotaBytes ? `  quota-backend-bytes: ${o.quotaBytes}\n` : '';
    const labYaml = readFileSync(join(this.root, 'inventory', 'lab.yaml'), 'utf8')
      .replace(/^pki:\n {2}dir: .*$/m, `pki:\n  dir: ${this.pki}`)
      .replace(/^cluster:\n/m, `cluster:\n  release: ${join(this.work, 'release', `quorum-${version}-linux-x64.tar.gz`)}\n${quota}`);
    if (o.quotaBytes) assert.match(labYaml, new RegExp(`quota-backend-bytes: ${o.quotaBytes}`));
    writeFileSync(this.inventory, labYaml);
    must(await this.q(['provision', '-i', this.inventory]), 'provision');
  }

  /** Takes the lab down (errors printed, not thrown). */
  async tearDown(): Promise<void> {
    const r = await this.lab(['down']);
    if (r.code !== 0) console.error(`lab down failed:\n${r.stdout}\n${r.stderr}`);
  }

  /** The operator's client TLS material. */
  tls(): { ca: Buffer; cert: Buffer; key: Buffer } {
    return clientTls(this.pki);
  }

  /** An mTLS client to `h` (10 s RPC limit); close it. */
  client(h: { address: string }): StoreClient {
    return new StoreClient(`https://${h.address}:2379`, this.tls(), { timeoutMs: 10_000 });
  }

  /** Runs `fn` with a client to `h`, closing it after. */
  async withClient<T>(h: { address: string }, fn: (c: StoreClient) => Promise<T>): Promise<T> {
    const c = this.client(h);
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  /** Every key and value (serializable read from `h`), as `key=value` lines. */
  async contents(h: { address: string }): Promise<string[]> {
    return this.withClient(h, async (c) => (await c.range('\0', { rangeEnd: new Uint8Array([0]), serializable: true })).kvs
      .map((kv) => `${kv.key.toString()}=${kv.value.toString()}`));
  }

  /** `quorum status` exits 0, and HashKV at one revision is equal on every member (retried while they catch up). */
  async assertHealthyAndConsistent(what: string): Promise<void> {
    must(await this.q(['status', '-i', this.inventory]), `${what}: quorum status`);
    let last = '';
    for (let i = 0; i < 20; i++) {
      const rev = Math.min(...await Promise.all(this.hosts.map((h) => this.withClient(h, async (c) => (await c.status()).revision))));
      const hashes = await Promise.all(this.hosts.map((h) => this.withClient(h, async (c) => (await hashKV(c, rev)).hash)));
      if (new Set(hashes).size === 1) return;
      last = `HashKV@${rev}: ${hashes.join(', ')}`;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`${what}: members disagree: ${last}`);
  }
}
