/**
 * The provision playbook's per-host tasks, in order: preflight, hostname, /etc/hosts, user, dirs,
 * release, pki files, config, unit, firewall, service enabled. Each is an operation computed from the
 * facts read in ONE round trip (`gatherFacts`); planning changes nothing anywhere.
 */
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError, type Step } from '../../toolkit/engine/index.js';
import {
  type FactRequest, type FactSet, directoryFact, fileContentFact, fileFact, gatherFacts, hostToolsFact, hostnameFact,
  listeningPortsFact, nftTableFact, osFact, releaseFact, sshClientFact, systemdUnitFact, userFact, want,
} from '../../toolkit/facts/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import {
  type OperationResult, directoryOp, fileOp, hostnameOp, noChange, releaseOp, serviceOp,
  sha256, systemUserOp, systemdUnitOp,
} from '../../toolkit/operations/index.js';
import {
  HANDLER_RESTART, NFT_FAMILY, NFT_TABLE, RELEASE_LINKS, RELEASE_ROOT, UNIT, WAL_SUBDIR,
} from './defaults.js';
import { memberPaths, renderMemberFiles } from './files.js';
import { firewallFactRequests, firewallStepOp } from './firewall.js';
import type { MemberPki } from './pki.js';
import type { LocalRelease } from './release.js';

/** Inputs shared by all hosts of one run. */
export interface ProvisionInputs {
  inv: Inventory;
  release: LocalRelease;
  /** Per member name: its PEM files (content undefined in a dry run when not issued yet). */
  pki: Map<string, MemberPki>;
}

/** What the cluster phases need to know about a member after planning. */
export interface MemberState {
  host: HostSpec;
  connector: Connector;
  /** quorumd.service was active (serving, READY=1) when the facts were read. */
  wasActive: boolean;
  /** The data dir holds a WAL: the member has bootstrapped before. */
  bootstrapped: boolean;
  /** The operator's IPv4 as this host sees it (allowed through the firewall to peer/metrics ports). */
  operatorAddress?: string;
}

/** Facts read from one member, before the cluster-wide decisions. */
export interface MemberFacts {
  host: HostSpec;
  connector: Connector;
  facts: FactSet;
  state: MemberState;
}

function factRequests(inv: Inventory, release: LocalRelease): FactRequest[] {
  const c = inv.cluster;
  const p = memberPaths(inv);
  const pkiFiles = ['ca.pem', 'server.pem', 'server-key.pem', 'peer.pem', 'peer-key.pem'].map((f) => `${p.pkiDir}/${f}`);
  return [
    want(osFact, {}), want(listeningPortsFact, {}), want(sshClientFact, {}), want(hostnameFact, {}),
    want(fileContentFact, { path: p.hosts }), want(fileFact, { path: p.hosts }),
    want(userFact, { name: c.user }),
    want(directoryFact, { path: c.dataDir }), want(directoryFact, { path: c.configDir }),
    want(directoryFact, { path: p.pkiDir }), want(directoryFact, { path: `${c.dataDir}/${WAL_SUBDIR}` }),
    want(releaseFact, { root: RELEASE_ROOT, version: release.version, links: RELEASE_LINKS }),
    ...pkiFiles.map((path) => want(fileFact, { path })),
    want(fileFact, { path: p.config }), want(fileFact, { path: p.unit }), want(fileFact, { path: p.nft }),
    want(systemdUnitFact, { unit: UNIT }), want(systemdUnitFact, { unit: 'nftables.service' }),
    want(nftTableFact, { family: NFT_FAMILY, table: NFT_TABLE }),
    want(fileContentFact, { path: '/etc/nftables.conf' }),
    ...firewallFactRequests(inv),
  ];
}

/**
 * Connects and reads all facts of one member in one round trip, then runs the preflight checks.
 * Throws StepError (step `preflight`) when the host is unreachable, not a systemd Linux host, lacks a
 * required command, or has a store port taken by another program.
 */
export async function readMember(inputs: ProvisionInputs, host: HostSpec, connector: Connector,
  gather: (conn: Connector, reqs: FactRequest[]) => Promise<FactSet> = gatherFacts): Promise<MemberFacts> {
  const { inv, release } = inputs;
  let facts: FactSet;
  try {
    await connector.connect();
    facts = await gather(connector, factRequests(inv, release));
  } catch (e) {
    throw StepError.from(host.name, 'preflight', e, 'check that the host is up and reachable over SSH with the inventory key');
  }
  const os = facts.get(osFact, {});
  if (os.kernel !== 'Linux' || os.init !== 'systemd') {
    throw new StepError(host.name, 'preflight', `${os.prettyName || os.kernel} with PID 1 "${os.init}" is not supported`,
      'use a Linux host booted with systemd (Debian 12 is tested)');
  }
  if (os.missing.length) {
    throw new StepError(host.name, 'preflight', `missing commands: ${os.missing.join(', ')}`,
      'install systemd, nftables, iproute2, tar, coreutils and passwd (Debian: apt-get install nftables iproute2)');
  }
  const unit = facts.get(systemdUnitFact, { unit: UNIT });
  // Only an `active` member serves (Type=notify: it reported READY=1); one that is activating or in an
  // auto-restart loop is not part of the quorum, so restarting it cannot lower the quorum.
  const wasActive = unit.activeState === 'active' || unit.activeState === 'reloading';
  const running = wasActive || unit.activeState === 'activating';
  const c = inv.cluster;
  for (const port of [c.clientPort, c.peerPort, c.metricsPort]) {
    for (const s of facts.get(listeningPortsFact, {}).filter((x) => x.port === port)) {
      const ours = s.processes.includes('quorumd') || (running && s.processes.includes('node'));
      if (!ours) {
        throw new StepError(host.name, 'preflight',
          `port ${port} is already taken by ${s.processes.join(', ') || 'another program'} (listening on ${s.address})`,
          `stop that program on ${host.name} (e.g. systemctl disable --now etcd) or change the port in the inventory`);
      }
    }
  }
  const wal = facts.get(directoryFact, { path: `${c.dataDir}/${WAL_SUBDIR}` });
  const operatorAddress = facts.get(sshClientFact, {});
  return {
    host, connector, facts,
    state: { host, connector, wasActive, bootstrapped: wal.exists, ...(operatorAddress ? { operatorAddress } : {}) },
  };
}

/** All operator addresses seen by the members (deduplicated, sorted) for the firewall. */
export function operatorAddresses(members: MemberFacts[]): string[] {
  return [...new Set(members.map((m) => m.state.operatorAddress).filter((a): a is string => !!a))].sort();
}

/**
 * The config task. `existing` replaces an on-disk `new` config WITHOUT a restart (the running
 * member already bootstrapped; the state only matters on its next start); any other difference
 * notifies `restart`.
 */
export function configOp(inv: Inventory, m: MemberFacts, state: 'new' | 'existing', ops: string[]): OperationResult {
  const p = memberPaths(inv);
  const fact = m.facts.get(fileFact, { path: p.config });
  const content = Buffer.from(renderMemberFiles(inv, m.host, { clusterState: state, operatorAddresses: ops }).config);
  const desired = { path: p.config, content, owner: inv.cluster.user, group: inv.cluster.user, mode: '0644' };
  const r = fileOp(fact, { ...desired, notify: [HANDLER_RESTART] });
  if (r.changed && state === 'existing' && fact.exists) {
    const asNew = sha256(renderMemberFiles(inv, m.host, { clusterState: 'new', operatorAddresses: ops }).config);
    if (fact.sha256 === asNew) {
      return { ...fileOp(fact, desired), reason: 'initial-cluster-state new -> existing (bootstrapped; no restart needed)' };
    }
  }
  return r;
}

/**
 * The ordered steps of one member, given the cluster-wide `clusterState` and operator addresses.
 * Throws Error when the host holds something unexpected (e.g. a file where a directory must be).
 */
export function planMember(inputs: ProvisionInputs, m: MemberFacts, clusterState: 'new' | 'existing', ops: string[]): Step[] {
  const { inv, release } = inputs;
  const c = inv.cluster;
  const p = memberPaths(inv);
  const f = m.facts;
  const files = renderMemberFiles(inv, m.host, { clusterState, operatorAddresses: ops });
  const os = f.get(osFact, {});
  const restart = [HANDLER_RESTART];
  const steps: Step[] = [
    { name: 'preflight', result: noChange(`reachable, ${os.prettyName || os.id} ${os.arch}, ports ${c.clientPort}/${c.peerPort}/${c.metricsPort} free or ours`) },
    { name: 'hostname', result: hostnameOp(f.get(hostnameFact, {}), { name: m.host.name }, f.get(hostToolsFact, {})) },
    {
      name: 'hosts file',
      result: fileOp(f.get(fileFact, { path: p.hosts }), {
        path: p.hosts, content: Buffer.from(files.hosts(f.get(fileContentFact, { path: p.hosts }) ?? '')),
        owner: 'root', group: 'root', mode: '0644',
      }),
    },
    { name: 'user', result: systemUserOp(f.get(userFact, { name: c.user }), { name: c.user }) },
    { name: 'data dir', result: directoryOp(f.get(directoryFact, { path: c.dataDir }), { path: c.dataDir, owner: c.user, group: c.user, mode: '0700' }) },
    { name: 'config dir', result: directoryOp(f.get(directoryFact, { path: c.configDir }), { path: c.configDir, owner: c.user, group: c.user, mode: '0755' }) },
    { name: 'pki dir', result: directoryOp(f.get(directoryFact, { path: p.pkiDir }), { path: p.pkiDir, owner: c.user, group: c.user, mode: '0700' }) },
    {
      name: 'release',
      result: releaseOp(f.get(releaseFact, { root: RELEASE_ROOT, version: release.version, links: RELEASE_LINKS }), {
        layout: { root: RELEASE_ROOT, version: release.version, links: RELEASE_LINKS },
        tarball: release.tarball, sha256: release.sha256, notify: restart,
      }),
      remedy: 'rerun; if the checksum keeps failing rebuild the release with `npm run release`',
    },
  ];
  const pki = inputs.pki.get(m.host.name);
  const pem: [string, Buffer | undefined, string][] = [
    ['ca.pem', pki?.ca, '0644'], ['server.pem', pki?.server, '0644'], ['server-key.pem', pki?.serverKey, '0600'],
    ['peer.pem', pki?.peer, '0644'], ['peer-key.pem', pki?.peerKey, '0600'],
  ];
  for (const [name, content, mode] of pem) {
    const path = `${p.pkiDir}/${name}`;
    steps.push({
      name: `pki ${name}`,
      result: fileOp(f.get(fileFact, { path }), { path, content, owner: c.user, group: c.user, mode, notify: restart }),
    });
  }
  steps.push(
    { name: 'config', result: configOp(inv, m, clusterState, ops) },
    {
      name: 'unit',
      result: systemdUnitOp(f.get(fileFact, { path: p.unit }), f.get(systemdUnitFact, { unit: UNIT }),
        { path: p.unit, content: Buffer.from(files.unit), notify: restart }),
    },
    {
      name: 'firewall',
      result: firewallStepOp(f, inv, m.host, files.nft, ops),
      remedy: `check the rendered ${p.nft} with \`nft -c -f ${p.nft}\` on the host`,
    },
    { name: 'service enabled', result: serviceOp(f.get(systemdUnitFact, { unit: UNIT }), { unit: UNIT, enabled: true }) },
  );
  return steps;
}

/**
 * The cluster's `initial-cluster-state`: `existing` as soon as any member has a WAL (the cluster
 * has bootstrapped; saying `new` again would split it), else `new`.
 */
export function clusterStateOf(members: MemberFacts[]): 'new' | 'existing' {
  return members.some((m) => m.state.bootstrapped) ? 'existing' : 'new';
}
