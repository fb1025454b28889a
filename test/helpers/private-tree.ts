/**
 * A private copy of the built toolkit for long e2e runs: `quorum` runs from it, so a rebuild of dist/ during the
 * run (by a developer working beside it) cannot swap modules under a running command.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Copies dist/, templates, protos, bin/quorum.js, package.json and the schema of `root` into `dir`. */
export function privateQuorumTree(root: string, dir: string): { quorum: string; env: NodeJS.ProcessEnv } {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'templates'), join(dir, 'templates'), { recursive: true });
  cpSync(join(root, 'store', 'proto'), join(dir, 'proto'), { recursive: true });
  cpSync(join(root, 'bin', 'quorum.js'), join(dir, 'bin', 'quorum.js'));
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'inventory', 'schema.json'), join(dir, 'inventory', 'schema.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return {
    quorum: join(dir, 'bin', 'quorum.js'),
    env: { ...process.env, QUORUM_TEMPLATES_DIR: join(dir, 'templates'), QUORUM_PROTO_DIR: join(dir, 'proto') },
  };
}
