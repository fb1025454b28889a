/**
 * Facts of a host that was never touched: a fresh Debian 12 host booted with systemd, as the provision
 * playbook would find it. Used by `quorum provision --dry-run --offline` to print the full plan of an
 * inventory whose hosts cannot (or must not) be reached from here, such as inventory/example.yaml.
 * Each value is the raw output the fact's own command prints on such a host, so the facts' parsers,
 * not a second model, decide what it means.
 */
import { createHash } from 'node:crypto';
import { FactSet, type FactRequest, type RawFact } from './types.js';

/** /etc/hosts as Debian's installer writes it. */
function freshHosts(hostname: string): string {
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n`;
}

/** Raw output, per fact name, on a fresh host named `hostname`. Throws for a fact it has no answer for. */
export function freshHostRaw(req: FactRequest, hostname: string): RawFact {
  switch (req.fact.name) {
    case 'os':
      return {
        code: 0,
        stdout: 'kernel=Linux\narch=x86_64\ninit=systemd\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
      };
    case 'hostname':
      return { code: 0, stdout: `${hostname}\n${hostname}\n` };
    case 'host_tools':
      return { code: 0, stdout: 'has=hostnamectl\nhas=nft\nend\n' };
    case 'listening_ports':
      return { code: 0, stdout: '' };
    case 'ssh_client':
      return { code: 0, stdout: '\n' };
    case 'user':
      return { code: 2, stdout: '' };
    case 'file':
      if ((req.args as { path?: string }).path === '/etc/hosts') {
        const sha = createHash('sha256').update(freshHosts(hostname)).digest('hex');
        return { code: 0, stdout: `regular file|root|root|644\n${sha}  /etc/hosts\n` };
      }
      return { code: 1, stdout: '' };
    case 'directory':
    case 'nft_table':
      return { code: 1, stdout: '' };
    case 'file_content':
      return (req.args as { path?: string }).path === '/etc/hosts'
        ? { code: 0, stdout: freshHosts(hostname) }
        : { code: 1, stdout: '' };
    case 'release': {
      const links = Object.keys((req.args as { links?: Record<string, string> }).links ?? {});
      return { code: 0, stdout: ['sha256=', ...links.map((l) => `link ${l}=`)].join('\n') + '\n' };
    }
    case 'systemd_unit':
      return { code: 0, stdout: 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nNeedDaemonReload=no\n' };
    default:
      throw new Error(`no assumed value for fact ${req.fact.name}: the offline plan cannot model it`);
  }
}

/** A FactSet answering every request as a fresh host would (see `freshHostRaw`). */
export function freshHostFacts(reqs: FactRequest[], hostname: string): FactSet {
  return FactSet.fromRequests(reqs, (r) => freshHostRaw(r, hostname));
}
