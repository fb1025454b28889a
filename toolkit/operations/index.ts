export * from './types.js';
export * from './files.js';
export * from './system.js';
export * from './release.js';
export * from './systemd.js';
export * from './firewall.js';
export * from './ufw.js';
