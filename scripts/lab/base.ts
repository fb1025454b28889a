/**
 * The lab's base image: a minimal Debian root filesystem shared read-only by every host (the overlay
 * lower dir), built once with debootstrap and cached as a zstd tar (DESIGN.md "The local test hosts").
 *
 * Recipe: `debootstrap --variant=minbase --include=<BASE_PACKAGES> bookworm <mirror>`, `apt-get clean`,
 * lists/docs/man pages removed, empty /etc/machine-id, no SSH host keys (each host makes its own),
 * systemd-networkd enabled, root login by key only, volatile journal. Root's authorized_keys is the lab
 * key and is written after extraction, so the tar stays independent of the key.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  BASE_DIR, BASE_PACKAGES, BASE_RECIPE_VERSION, BASE_STAMP_DIR, BASE_STAMP_TAR, BASE_TAR, LAB_ROOT, SSH_DIR,
  SSH_KEY, SUITE,
} from './config.js';
import { runOk } from './run.js';

/** The recipe identity stored beside the tar and the extracted dir; a mismatch means "rebuild". */
export function baseRecipe(): string {
  return JSON.stringify({ version: BASE_RECIPE_VERSION, suite: SUITE, packages: BASE_PACKAGES });
}

/**
 * The Debian mirror URI for the base: the first `URIs:` of the deb822 stanza in
 * /etc/apt/sources.list.d/debian.sources whose Suites include `bookworm` (else the first `deb` line of
 * /etc/apt/sources.list, else http://deb.debian.org/debian).
 */
export function debianMirror(sourcesFile = '/etc/apt/sources.list.d/debian.sources'): string {
  if (existsSync(sourcesFile)) {
    for (const stanza of readFileSync(sourcesFile, 'utf8').split(/\n\s*\n/)) {
      const field = (name: string): string[] => {
        const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza);
        return m ? m[1]!.trim().split(/\s+/) : [];
      };
      if (field('Suites').includes(SUITE) && field('Types').includes('deb')) {
        const uri = field('URIs')[0];
        if (uri) return uri.replace(/\/+$/, '');
      }
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(readFileSync('/etc/apt/sources.list', 'utf8'));
    if (m) return m[1]!.replace(/\/+$/, '');
  }
  return 'http://deb.debian.org/debian';
}

/** Creates the lab SSH key pair (ed25519, no passphrase) once; returns the public key line. */
export async function ensureSshKey(): Promise<string> {
  mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
  if (!existsSync(SSH_KEY) || !existsSync(`${SSH_KEY}.pub`)) {
    rmSync(SSH_KEY, { force: true });
    rmSync(`${SSH_KEY}.pub`, { force: true });
    await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'quorum-lab', '-f', SSH_KEY]);
  }
  chmodSync(SSH_KEY, 0o600);
  return readFileSync(`${SSH_KEY}.pub`, 'utf8').trim();
}

/** Applies the recipe's post-debootstrap steps to the root filesystem at `root`. */
async function customize(root: string): Promise<void> {
  await runOk(['chroot', root, 'apt-get', 'clean']);
  for (const d of ['var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/cache/debconf']) {
    await runOk(['find', join(root, d), '-mindepth', '1', '-delete']).catch(() => undefined);
  }
  writeFileSync(join(root, 'etc/machine-id'), '');
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await runOk(['sh', '-c', 'rm -f "$1"/etc/ssh/ssh_host_*', 'sh', root]);
  await runOk(['systemctl', `--root=${root}`, 'enable', 'systemd-networkd.service']);
  // Nothing in the lab waits for "online"; skip the unit so boot never stalls on it.
  await runOk(['systemctl', `--root=${root}`, 'disable', 'systemd-networkd-wait-online.service']).catch(() => '');
  mkdirSync(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
  writeFileSync(
    join(root, 'etc/ssh/sshd_config.d/quorum-lab.conf'),
    'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n',
  );
  mkdirSync(join(root, 'etc/systemd/journald.conf.d'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd/journald.conf.d/quorum-lab.conf'), '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n');
  mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(join(root, 'root/.ssh'), 0o700);
}

const TAR_FLAGS = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** debootstraps, customises and archives a fresh base into BASE_TAR (+ stamp). Logs to `log`. */
async function buildTar(log: (line: string) => void): Promise<void> {
  const build = join(LAB_ROOT, 'base.build');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  const mirror = debianMirror();
  log(`lab: building base image (debootstrap ${SUITE} from ${mirror}) ...`);
  await runOk([
    'debootstrap', '--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, SUITE, build, mirror,
  ]);
  await customize(build);
  log('lab: archiving base image ...');
  const tmp = `${BASE_TAR}.tmp`;
  await runOk(['tar', ...TAR_FLAGS, '-I', 'zstd -T0 -3 -q', '-C', build, '-cf', tmp, '.']);
  renameSync(tmp, BASE_TAR);
  writeFileSync(BASE_STAMP_TAR, baseRecipe());
  rmSync(build, { recursive: true, force: true });
}

/** Unpacks BASE_TAR into BASE_DIR (replacing it) and stamps it. */
async function extractTar(log: (line: string) => void): Promise<void> {
  log('lab: unpacking cached base image ...');
  const tmp = `${BASE_DIR}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await runOk(['tar', ...TAR_FLAGS, '-I', 'zstd -q', '-C', tmp, '-xf', BASE_TAR]);
  rmSync(BASE_STAMP_DIR, { force: true });
  rmSync(BASE_DIR, { recursive: true, force: true });
  renameSync(tmp, BASE_DIR);
  writeFileSync(BASE_STAMP_DIR, readFileSync(BASE_STAMP_TAR, 'utf8'));
}

function readStamp(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** True when BASE_DIR is present, built by the current recipe and carries the lab key. */
export function baseIsCurrent(pubKey: string): boolean {
  const keyFile = join(BASE_DIR, 'root/.ssh/authorized_keys');
  return (
    readStamp(BASE_STAMP_DIR) === baseRecipe() &&
    existsSync(keyFile) &&
    readFileSync(keyFile, 'utf8').trim() === pubKey
  );
}

/**
 * Makes BASE_DIR current: rebuilds the tar when it is missing or from another recipe, unpacks it when
 * the dir is missing or stale, and installs `pubKey` as root's authorized key. Must only be called while
 * no host overlay uses the base (callers check; DESIGN.md: never change the base while hosts run on it).
 * Throws CommandError when debootstrap/tar fail. Returns what it did: 'kept' | 'unpacked' | 'built'.
 */
export async function ensureBase(pubKey: string, log: (line: string) => void): Promise<'kept' | 'unpacked' | 'built'> {
  if (baseIsCurrent(pubKey)) return 'kept';
  mkdirSync(dirname(BASE_TAR), { recursive: true });
  let did: 'unpacked' | 'built' = 'unpacked';
  if (readStamp(BASE_STAMP_TAR) !== baseRecipe() || !existsSync(BASE_TAR)) {
    await buildTar(log);
    did = 'built';
  }
  if (readStamp(BASE_STAMP_DIR) !== baseRecipe() || !existsSync(BASE_DIR)) await extractTar(log);
  const sshDir = join(BASE_DIR, 'root/.ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(sshDir, 'authorized_keys'), `${pubKey}\n`, { mode: 0o600 });
  chmodSync(join(sshDir, 'authorized_keys'), 0o600);
  return did;
}
