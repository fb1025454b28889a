/**
 * The files a member needs, rendered from templates/: its quorumd config (etcd's config-file keys),
 * the systemd unit, the /etc/hosts block and the nftables ruleset. Pure and deterministic: the same
 * inventory, host and options give byte-identical output.
 */
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { hostsMarkers, mergeHosts } from './files-hosts.js';
import { renderTemplate } from './files-templates.js';

/** Paths on a member host. */
export interface MemberPaths {
  /** `<configDir>/quorumd.conf.yml` */
  config: string;
  /** `/etc/systemd/system/quorumd.service` */
  unit: string;
  /** `<configDir>/pki`: ca.pem, server.pem, server-key.pem, peer.pem, peer-key.pem */
  pkiDir: string;
  /** `/etc/nftables.d/quorum.nft` */
  nft: string;
  hosts: '/etc/hosts';
}

/** Where `renderMemberFiles`' outputs go on a host of `inv`. */
export function memberPaths(inv: Inventory): MemberPaths {
  const c = inv.cluster.configDir.replace(/\/+$/, '');
  return {
    config: `${c}/quorumd.conf.yml`,
    unit: '/etc/systemd/system/quorumd.service',
    pkiDir: `${c}/pki`,
    nft: '/etc/nftables.d/quorum.nft',
    hosts: '/etc/hosts',
  };
}

/** Options of `renderMemberFiles`. */
export interface RenderOptions {
  /** etcd `initial-cluster-state`: `new` only when bootstrapping the whole cluster, else `existing`. */
  clusterState: 'new' | 'existing';
  /** IPv4 addresses or CIDRs (besides the members) allowed to reach the peer and metrics ports. */
  operatorAddresses?: string[];
}

/** The rendered files of one member. */
export interface MemberFiles {
  /** `<configDir>/quorumd.conf.yml` */
  config: string;
  /** quorumd.service */
  unit: string;
  /** The new /etc/hosts given the current one (see `mergeHosts`): idempotent. */
  hosts(existing: string): string;
  /** nftables ruleset, loadable with `nft -f` (replaces only `table inet quorum`). */
  nft: string;
}

const IPV4_OR_CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(\/(3[0-2]|[12]?\d))?$/;

/** etcd's `initial-cluster`: `name=https://addr:peerPort` for every member, in inventory order. */
export function initialCluster(inv: Inventory): string {
  return inv.hosts.map((h) => `${h.name}=https://${h.address}:${inv.cluster.peerPort}`).join(',');
}

/**
 * Render the config file, unit, hosts block and firewall of `host` (a member of `inv`).
 * URLs: clients https://ADDR:clientPort (also listened on https://127.0.0.1:clientPort), peers
 * https://ADDR:peerPort, metrics http://ADDR:metricsPort. Certificates under `<configDir>/pki`.
 * @throws Error when `host` is not in `inv.hosts` or an operator address is not IPv4[/prefix].
 */
export function renderMemberFiles(inv: Inventory, host: HostSpec, opts: RenderOptions): MemberFiles {
  if (!inv.hosts.some((h) => h.name === host.name && h.address === host.address)) {
    throw new Error(`renderMemberFiles: ${host.name} (${host.address}) is not a member of ${inv.cluster.name}`);
  }
  const bad = (opts.operatorAddresses ?? []).filter((a) => !IPV4_OR_CIDR.test(a));
  if (bad.length > 0) throw new Error(`renderMemberFiles: operator addresses must be IPv4 addresses or CIDRs: ${bad.join(', ')}`);
  const c = inv.cluster;
  const paths = memberPaths(inv);
  const common = { name: host.name, cluster: c.name, configDir: c.configDir.replace(/\/+$/, '') };
  const a = host.address;

  const config = renderTemplate('quorumd.conf.yml.hbs', {
    ...common,
    dataDir: c.dataDir,
    listenClientUrls: `https://${a}:${c.clientPort},https://127.0.0.1:${c.clientPort}`,
    advertiseClientUrls: `https://${a}:${c.clientPort}`,
    listenPeerUrls: `https://${a}:${c.peerPort}`,
    initialAdvertisePeerUrls: `https://${a}:${c.peerPort}`,
    initialCluster: initialCluster(inv),
    clusterState: opts.clusterState,
    token: c.token,
    listenMetricsUrls: `http://${a}:${c.metricsPort}`,
    logLevel: host.store.logLevel,
    heartbeatIntervalMs: host.store.heartbeatIntervalMs,
    electionTimeoutMs: host.store.electionTimeoutMs,
    quotaBackendBytes: host.store.quotaBackendBytes,
    caCert: `${paths.pkiDir}/ca.pem`,
    serverCert: `${paths.pkiDir}/server.pem`,
    serverKey: `${paths.pkiDir}/server-key.pem`,
    peerCert: `${paths.pkiDir}/peer.pem`,
    peerKey: `${paths.pkiDir}/peer-key.pem`,
  });

  const unit = renderTemplate('quorumd.service.hbs', { ...common, user: c.user });

  const { begin, end } = hostsMarkers(c.name);
  const block = renderTemplate('hosts.hbs', {
    beginMarker: begin, endMarker: end,
    members: inv.hosts.map((h) => ({ address: h.address, name: h.name })),
  });
  const memberMap = new Map(inv.hosts.map((h) => [h.name.toLowerCase(), h.address]));

  const peers = [...new Set([...inv.hosts.map((h) => h.address), ...(opts.operatorAddresses ?? [])])];
  const nft = renderTemplate('quorum.nft.hbs', {
    ...common, peers, sshPort: host.ssh.port, clientPort: c.clientPort, peerPort: c.peerPort, metricsPort: c.metricsPort,
  });

  return { config, unit, hosts: (existing: string) => mergeHosts(existing, block, begin, end, memberMap), nft };
}
