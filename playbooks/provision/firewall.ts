/**
 * The member firewall step, decided from the host's facts (issue 9, "hosts as they are"): when ufw is
 * installed and enabled, quorum's rules go through ufw (the operator's rules, SSH included, are kept and
 * nftables is not touched); otherwise quorum loads its own nftables table beside the host's other tables.
 */
import {
  type FactRequest, type FactSet, fileContentFact, fileFact, firewallBackend, hostToolsFact, nftTableFact, systemdUnitFact, want,
} from '../../toolkit/facts/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type OperationResult, firewallOp, ufwOp } from '../../toolkit/operations/index.js';
import { NFT_FAMILY, NFT_TABLE } from './defaults.js';
import { memberPaths } from './files.js';

/** Where quorum records the ufw rules it added: `<configDir>/ufw.rules`. */
export function ufwStatePath(inv: Inventory): string {
  return `${inv.cluster.configDir.replace(/\/+$/, '')}/ufw.rules`;
}

/** The facts `firewallStepOp` reads (both backends: the decision is made from them). */
export function firewallFactRequests(inv: Inventory): FactRequest[] {
  const p = memberPaths(inv);
  return [
    want(hostToolsFact, {}),
    want(fileFact, { path: p.nft }), want(nftTableFact, { family: NFT_FAMILY, table: NFT_TABLE }),
    want(fileContentFact, { path: '/etc/nftables.conf' }), want(systemdUnitFact, { unit: 'nftables.service' }),
    want(fileContentFact, { path: ufwStatePath(inv) }),
  ];
}

/**
 * The firewall operation of `host` in `inv` (the membership to enforce): through ufw when the host's ufw
 * is active, else the nftables table rendered in `nft` (templates/quorum.nft.hbs). `operatorAddresses` are
 * let in to the peer and metrics ports beside the members. Throws Error when nftables is the backend but
 * the host has no `nft` command (the message names the host and both ways out).
 */
export function firewallStepOp(f: FactSet, inv: Inventory, host: HostSpec, nft: string, operatorAddresses: string[]): OperationResult {
  const tools = f.get(hostToolsFact, {});
  const c = inv.cluster;
  if (firewallBackend(tools) === 'ufw') {
    return ufwOp(f.get(fileContentFact, { path: ufwStatePath(inv) }), {
      sshPort: host.ssh.port, clientPort: c.clientPort, peerPorts: [c.peerPort, c.metricsPort],
      peers: [...inv.hosts.map((h) => h.address), ...operatorAddresses], comment: `quorum ${c.name}`,
      statePath: ufwStatePath(inv),
    });
  }
  if (!tools.nft) {
    throw new Error(`${host.name}: no firewall tool: nft is not installed and ufw is ${tools.ufw === 'absent' ? 'not installed' : 'not enabled'} `
      + '(fix: apt-get install nftables, or enable ufw with your SSH rule first: ufw allow OpenSSH && ufw enable)');
  }
  const p = memberPaths(inv);
  return firewallOp({
    file: f.get(fileFact, { path: p.nft }),
    table: f.get(nftTableFact, { family: NFT_FAMILY, table: NFT_TABLE }),
    nftablesConf: f.get(fileContentFact, { path: '/etc/nftables.conf' }),
    service: f.get(systemdUnitFact, { unit: 'nftables.service' }),
  }, { path: p.nft, content: Buffer.from(nft), family: NFT_FAMILY, table: NFT_TABLE });
}
