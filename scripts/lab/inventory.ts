/**
 * inventory/lab.yaml: the inventory of the lab hosts that are up, in the shape of inventory/example.yaml
 * (checked by toolkit/inventory's schema). Written by `lab up` only when its content differs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SSH_KEY, type LabHost } from './config.js';

/** The project root: the nearest ancestor of this module holding a package.json named `quorum`. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'quorum') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('lab: cannot find the quorum project root (package.json)');
    dir = up;
  }
}

/** Default path of the lab inventory: <project>/inventory/lab.yaml. */
export function defaultInventoryPath(): string {
  return join(projectRoot(), 'inventory', 'lab.yaml');
}

/** The YAML text of the lab inventory for `hosts` (sorted by number). */
export function labInventoryYaml(hosts: LabHost[]): string {
  const sorted = [...hosts].sort((a, b) => a.index - b.index);
  return [
    "# The reference article's cluster on the local test hosts (`quorum lab up`).",
    '# Written and checked by `quorum lab up`; provision it with:',
    '#   quorum provision -i inventory/lab.yaml',
    'cluster:',
    '  name: lab',
    '  initial-cluster-token: lab-cluster-1',
    '  heartbeat-interval: 100',
    '  election-timeout: 1000',
    '  log-level: info',
    'ssh:',
    '  user: root',
    `  private-key: ${SSH_KEY}`,
    'pki:',
    '  dir: /var/lib/quorum-lab/pki',
    'hosts:',
    ...sorted.flatMap((h) => [`  - name: ${h.name}`, `    address: ${h.address}`]),
    '',
  ].join('\n');
}

/**
 * Makes `path` hold the inventory for `hosts`; returns true when it wrote the file, false when it
 * already matched.
 */
export function writeLabInventory(hosts: LabHost[], path = defaultInventoryPath()): boolean {
  const text = labInventoryYaml(hosts);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(path, text);
  return true;
}
