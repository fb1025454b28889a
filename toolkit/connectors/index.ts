export * from './types.js';
export { LocalConnector, type LocalConnectorOptions } from './local.js';
export { SshConnector, type SshTarget } from './ssh.js';
export { sshConnectorFor, sshRunOptions, type SshRunOptions } from './inventory.js';
export { HostKeyCheck, SshLimiter, type JumpTarget } from './ssh_jump.js';
export { KnownHosts, fingerprintOf } from './known_hosts.js';
export { OfflineConnector } from './offline.js';
