/**
 * The lab bridge: a Linux bridge holding the operator's address, the hosts' veth peers attached by
 * systemd-nspawn (--network-bridge). No uplink, no NAT: hosts reach only each other and the operator.
 */
import { BRIDGE, BRIDGE_ADDRESS } from './config.js';
import { run, runOk } from './run.js';

/** True when the bridge exists. */
export async function bridgeExists(): Promise<boolean> {
  return (await run(['ip', 'link', 'show', 'dev', BRIDGE])).code === 0;
}

/** Creates the bridge with BRIDGE_ADDRESS and brings it up; a no-op for the parts already done. */
export async function ensureBridge(): Promise<void> {
  if (!(await bridgeExists())) await runOk(['ip', 'link', 'add', BRIDGE, 'type', 'bridge']);
  const addrs = await runOk(['ip', '-o', '-4', 'addr', 'show', 'dev', BRIDGE]);
  if (!addrs.includes(` ${BRIDGE_ADDRESS} `)) await runOk(['ip', 'addr', 'add', BRIDGE_ADDRESS, 'dev', BRIDGE]);
  await runOk(['ip', 'link', 'set', BRIDGE, 'up']);
}

/** Deletes the bridge when it exists (its veth ports vanish with the containers). */
export async function deleteBridge(): Promise<void> {
  if (await bridgeExists()) await runOk(['ip', 'link', 'del', BRIDGE]);
}
