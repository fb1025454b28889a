/**
 * The lab on this machine, for real: lab up (3 systemd-nspawn hosts) -> each answers over SSH with its
 * own hostname, address, machine-id and host key -> hosts reach each other on the bridge -> nftables in a
 * host works and really blocks a peer -> a reboot inside a host is survived -> lab up again changes
 * nothing -> lab down leaves no mount, bridge, veth, cgroup or process behind (and is idempotent) while
 * the base image cache stays. Plus the pure parts (names, inventory text, mirror parsing).
 * The lab part needs root and systemd-nspawn (skipped otherwise). Slow on a machine without the cached
 * base (debootstrap, about 45 s); generous timeouts, no timing assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  labDown, labExec, labHost, labHostByName, labInventoryYaml, labStatus, labUp, type LabHost,
} from '../../scripts/lab/index.js';
import { debianMirror } from '../../scripts/lab/base.js';
import { BASE_TAR, BRIDGE, CGROUP_NAME, CGROUP_ROOTS, HOSTS_DIR } from '../../scripts/lab/config.js';

const canRunLab =
  process.getuid?.() === 0 && spawnSync('systemd-nspawn', ['--version']).status === 0;

test('lab host names and addresses', () => {
  assert.deepEqual(labHost(1), { name: 'etcd-01', index: 1, address: '10.88.0.11' });
  assert.deepEqual(labHost(7), { name: 'etcd-07', index: 7, address: '10.88.0.17' });
  assert.throws(() => labHost(0), RangeError);
  assert.throws(() => labHost(8), RangeError);
  assert.equal(labHostByName('etcd-03')?.address, '10.88.0.13');
  assert.equal(labHostByName('etcd-08'), undefined);
  assert.equal(labHostByName('web-01'), undefined);
});

test('lab inventory text lists the hosts in order and keeps the pki block', () => {
  const text = labInventoryYaml([labHost(2), labHost(1)]);
  assert.match(text, /^pki:\n {2}dir: \/var\/lib\/quorum-lab\/pki$/m);
  assert.match(text, /^ {2}private-key: \/var\/lib\/quorum-lab\/ssh\/id_ed25519$/m);
  assert.ok(
    text.endsWith('hosts:\n  - name: etcd-01\n    address: 10.88.0.11\n  - name: etcd-02\n    address: 10.88.0.12\n'),
    text,
  );
});

test('mirror is read from the bookworm stanza of a deb822 sources file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-mirror-'));
  try {
    const f = join(dir, 'debian.sources');
    writeFileSync(
      f,
      [
        'Types: deb', 'URIs: http://security.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
        'Types: deb', '# a comment', 'URIs: http://mirror.example/debian/', 'Suites: bookworm bookworm-updates',
        'Components: main', '',
      ].join('\n'),
    );
    assert.equal(debianMirror(f), 'http://mirror.example/debian');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab up rejects a bad host count without touching anything', async () => {
  await assert.rejects(labUp({ hosts: 0, inventoryPath: false }), RangeError);
  await assert.rejects(labUp({ hosts: 8, inventoryPath: false }), RangeError);
  await assert.rejects(labExec('nohost', 'true'), /unknown host/);
});

async function sh(h: LabHost, cmd: string): Promise<string> {
  const r = await labExec(h, cmd, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${h.name}: \`${cmd}\` exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Exit code of a TCP connect from `from` to `to`:22 (nc -z), 0 = reachable. */
async function tcpProbe(from: LabHost, to: LabHost): Promise<number> {
  return (await labExec(from, `nc -z -w 3 ${to.address} 22`, { timeoutMs: 60_000 })).code;
}

function leftovers(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    if (line.includes('/var/lib/quorum-lab/hosts') || line.startsWith('quorum-lab-')) out.push(`mount: ${line}`);
  }
  if (spawnSync('ip', ['link', 'show', 'dev', BRIDGE]).status === 0) out.push(`bridge ${BRIDGE}`);
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  for (const l of links.split('\n')) if (/ vb-etcd-0\d/.test(l)) out.push(`veth: ${l}`);
  for (const r of CGROUP_ROOTS) if (existsSync(join(r, CGROUP_NAME))) out.push(`cgroup ${join(r, CGROUP_NAME)}`);
  if (existsSync(HOSTS_DIR) && readdirSync(HOSTS_DIR).length > 0) out.push(`host dirs: ${readdirSync(HOSTS_DIR).join(' ')}`);
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  for (const l of ps.split('\n')) if (/systemd-nspawn|quorum-lab\/hosts\/.*launch\.sh/.test(l)) out.push(`process: ${l.trim()}`);
  return out;
}

test('lab up / again / down on real hosts', { skip: !canRunLab && 'needs root and systemd-nspawn', timeout: 900_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-e2e-'));
  const inventory = join(dir, 'lab.yaml');
  const quiet = (): void => undefined;
  try {
    await labDown({ log: quiet });
    assert.deepEqual(leftovers(), [], 'clean start');

    const hosts = await labUp({ hosts: 3, inventoryPath: inventory, log: quiet });
    assert.deepEqual(hosts.map((h) => h.name), ['etcd-01', 'etcd-02', 'etcd-03']);
    assert.equal(readFileSync(inventory, 'utf8'), labInventoryYaml(hosts));

    await t.test('each host has its own hostname, address, machine-id and SSH host key', async () => {
      const ids = new Set<string>();
      const keys = new Set<string>();
      for (const h of hosts) {
        assert.equal((await sh(h, 'hostname')).trim(), h.name);
        assert.equal((await sh(h, 'cat /etc/hostname')).trim(), h.name);
        assert.match(await sh(h, 'ip -4 -o addr show dev host0'), new RegExp(`inet ${h.address.replace(/\./g, '\\.')}/24 `));
        assert.equal((await sh(h, 'systemctl is-system-running')).trim(), 'running');
        ids.add((await sh(h, 'cat /etc/machine-id')).trim());
        keys.add((await sh(h, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!);
      }
      assert.equal(ids.size, 3, 'distinct machine-ids');
      assert.equal(keys.size, 3, 'distinct SSH host keys');
    });

    await t.test('hosts reach each other on the bridge and nothing beyond it', async () => {
      for (const a of hosts) for (const b of hosts) if (a !== b) assert.equal(await tcpProbe(a, b), 0, `${a.name} -> ${b.name}`);
      assert.equal((await labExec(hosts[0]!, 'ip route get 1.1.1.1')).code !== 0, true, 'no route out of the lab');
    });

    await t.test('nftables inside a host works and blocks a peer', async () => {
      const [h1, h2, h3] = hosts as [LabHost, LabHost, LabHost];
      await sh(h2, 'nft list ruleset');
      await sh(h2, `nft add table inet labtest && nft add chain inet labtest in '{ type filter hook input priority 0; }' && nft add rule inet labtest in ip saddr ${h1.address} tcp dport 22 drop`);
      try {
        assert.match(await sh(h2, 'nft list ruleset'), /table inet labtest/);
        assert.notEqual(await tcpProbe(h1, h2), 0, 'etcd-01 blocked');
        assert.equal(await tcpProbe(h3, h2), 0, 'etcd-03 still allowed');
      } finally {
        await sh(h2, 'nft delete table inet labtest');
      }
      assert.equal(await tcpProbe(h1, h2), 0, 'etcd-01 allowed again');
    });

    await t.test('a reboot inside a host is survived (nspawn exit 133 relaunch)', async () => {
      const before = (await labStatus({ probe: false })).hosts.find((s) => s.name === 'etcd-03')!;
      const r = await labExec(hosts[2]!, 'systemctl reboot');
      assert.ok(r.code === 0 || r.code === 255, `reboot: ${r.code} ${r.stderr}`);
      let after = before;
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        after = (await labStatus()).hosts.find((s) => s.name === 'etcd-03')!;
        if (after.running && after.pid !== before.pid && after.state === 'running') break;
        await new Promise((res) => setTimeout(res, 500));
      }
      assert.notEqual(after.pid, before.pid, 'a new nspawn process');
      assert.equal(after.state, 'running');
    });

    await t.test('lab up again changes nothing', async () => {
      const before = await labStatus({ probe: false });
      const mtime = statSync(inventory).mtimeMs;
      const again = await labUp({ hosts: 3, inventoryPath: inventory, log: quiet });
      assert.deepEqual(again, hosts);
      const after = await labStatus({ probe: false });
      assert.deepEqual(after.hosts.map((h) => [h.name, h.pid]), before.hosts.map((h) => [h.name, h.pid]), 'same processes');
      assert.equal(statSync(inventory).mtimeMs, mtime, 'inventory not rewritten');
    });

    await t.test('lab down leaves nothing behind, keeps the base cache, and is idempotent', async () => {
      await labDown({ log: quiet });
      assert.deepEqual(leftovers(), []);
      assert.ok(existsSync(BASE_TAR), 'base cache kept');
      await labDown({ log: quiet });
      assert.deepEqual(leftovers(), []);
      assert.deepEqual((await labStatus()).hosts, []);
    });
  } finally {
    await labDown({ log: quiet }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
