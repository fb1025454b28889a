export * from './types.js';
export * from './system.js';
export * from './files.js';
export * from './services.js';
export * from './release.js';
export * from './assumed.js';
export * from './host_tools.js';
import type { Fact } from './types.js';
import { hostnameFact, listeningPortsFact, osFact, sshClientFact, userFact } from './system.js';
import { directoryFact, fileContentFact, fileFact } from './files.js';
import { nftTableFact, systemdUnitFact } from './services.js';
import { releaseFact } from './release.js';
import { hostToolsFact } from './host_tools.js';

/** Every fact by name (fixture tests look facts up here). */
export const FACTS: Record<string, Fact<any, any>> = Object.fromEntries(
  [hostnameFact, sshClientFact, userFact, listeningPortsFact, osFact, directoryFact, fileFact, fileContentFact,
    systemdUnitFact, nftTableFact, releaseFact, hostToolsFact].map((f) => [f.name, f]),
);
