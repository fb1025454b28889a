import { shq } from '../connectors/types.js';
import { type Fact, FactParseError } from './types.js';

/** `hostname` fact: the running (kernel) host name and the static one in /etc/hostname. */
export interface HostnameFact { current: string; static?: string }

export const hostnameFact: Fact<Record<string, never>, HostnameFact> = {
  name: 'hostname',
  command: () => 'hostname; cat /etc/hostname',
  parse(stdout) {
    const [current, stat] = stdout.split('\n').map((l) => l.trim());
    if (!current) throw new FactParseError('hostname', 'empty output');
    return stat ? { current, static: stat } : { current };
  },
};

/** A system user from `getent passwd`; `exists: false` when absent (getent exits 2). */
export type UserFact =
  | { exists: false }
  | { exists: true; name: string; uid: number; gid: number; home: string; shell: string };

export const userFact: Fact<{ name: string }, UserFact> = {
  name: 'user',
  command: (a) => `getent passwd ${shq(a.name)}`,
  parse(stdout, code) {
    if (code === 2 || stdout.trim() === '') return { exists: false };
    const f = stdout.trim().split('\n')[0]!.split(':');
    if (f.length < 7) throw new FactParseError('user', `unexpected passwd line: ${stdout.trim()}`);
    return { exists: true, name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
  },
};

/** One listening TCP socket from `ss -ltnpH`. */
export interface ListeningSocket {
  /** Local address as printed (`0.0.0.0`, `10.88.0.11`, `[::]`, `*`). */
  address: string;
  port: number;
  /** Process names holding the socket (`quorumd`, `etcd`); empty when unknown. */
  processes: string[];
}

export const listeningPortsFact: Fact<Record<string, never>, ListeningSocket[]> = {
  name: 'listening_ports',
  command: () => 'ss -ltnpH',
  parse(stdout, code) {
    if (code !== 0) throw new FactParseError('listening_ports', `ss exited ${code} (is iproute2 installed?)`);
    const out: ListeningSocket[] = [];
    for (const line of stdout.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const local = cols[3]!;
      const i = local.lastIndexOf(':');
      const port = Number(local.slice(i + 1));
      if (i < 0 || !Number.isInteger(port)) continue;
      const processes = [...line.matchAll(/\("([^"]+)",pid=\d+/g)].map((m) => m[1]!);
      out.push({ address: local.slice(0, i).replace(/%\w+$/, ''), port, processes: [...new Set(processes)] });
    }
    return out;
  },
};

/** Operating system facts. */
export interface OsFact {
  /** `uname -s`: Linux. */
  kernel: string;
  /** `uname -m`: x86_64. */
  arch: string;
  /** /etc/os-release ID and VERSION_ID (debian, 12). */
  id: string;
  versionId: string;
  prettyName: string;
  /** Name of PID 1 (`systemd` when systemd runs the host). */
  init: string;
  /** Required commands not found on PATH. */
  missing: string[];
}

/**
 * Commands the provisioning needs on every host. The firewall and host name tools depend on the host
 * (host_tools fact: nft unless ufw is in charge; hostnamectl optional).
 */
export const REQUIRED_COMMANDS = ['systemctl', 'ss', 'tar', 'sha256sum', 'getent', 'useradd'];

export const osFact: Fact<Record<string, never>, OsFact> = {
  name: 'os',
  command: () => [
    'echo "kernel=$(uname -s)"',
    'echo "arch=$(uname -m)"',
    'echo "init=$(cat /proc/1/comm)"',
    `for c in ${REQUIRED_COMMANDS.join(' ')}; do command -v "$c" >/dev/null || echo "missing=$c"; done`,
    'cat /etc/os-release',
  ].join('; '),
  parse(stdout) {
    const kv = new Map<string, string>();
    const missing: string[] = [];
    for (const line of stdout.split('\n')) {
      const m = /^([A-Za-z_]+)=(.*)$/.exec(line.trim());
      if (!m) continue;
      const v = m[2]!.replace(/^"(.*)"$/, '$1');
      if (m[1] === 'missing') missing.push(v);
      else kv.set(m[1]!, v);
    }
    if (!kv.has('kernel')) throw new FactParseError('os', 'no uname output');
    return {
      kernel: kv.get('kernel')!, arch: kv.get('arch') ?? '', id: kv.get('ID') ?? 'unknown',
      versionId: kv.get('VERSION_ID') ?? '', prettyName: kv.get('PRETTY_NAME') ?? '',
      init: kv.get('init') ?? '', missing,
    };
  },
};

/** The operator's address as the host sees it (`$SSH_CLIENT`); undefined when not over SSH. */
export const sshClientFact: Fact<Record<string, never>, string | undefined> = {
  name: 'ssh_client',
  command: () => 'echo "${SSH_CLIENT%% *}"',
  parse(stdout) {
    const a = stdout.trim();
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(a) ? a : undefined;
  },
};
