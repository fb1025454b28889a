export * from './types.js';
export { LocalConnector, type LocalConnectorOptions } from './local.js';
export { SshConnector, type SshTarget } from './ssh.js';
export { sshConnectorFor } from './inventory.js';
export { OfflineConnector } from './offline.js';
