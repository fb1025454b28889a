import { shq } from '../connectors/types.js';
import type { DirectoryFact, FileFact } from '../facts/files.js';
import { type Command, type OperationResult, changes, modeString, noChange, run, sha256 } from './types.js';

/** Desired directory: path, owner, group, mode ("0700"). */
export interface DirectoryDesired { path: string; owner: string; group: string; mode: string }

/**
 * Ensures a directory with owner, group and mode (pyinfra `files.directory`). Fails (throws) when
 * something that is not a directory sits at the path: the operator must look at it.
 */
export function directoryOp(fact: DirectoryFact, d: DirectoryDesired): OperationResult {
  const p = shq(d.path);
  const mode = modeString(d.mode);
  const owner = `${d.owner}:${d.group}`;
  if (!fact.exists) {
    return changes([run(`mkdir -p ${p}`), run(`chown ${owner} ${p}`), run(`chmod ${mode} ${p}`)],
      `${d.path} does not exist`);
  }
  if (!fact.directory) throw new Error(`${d.path} exists but is not a directory (move it away and rerun)`);
  const cmds: Command[] = [];
  const why: string[] = [];
  if (fact.owner !== d.owner || fact.group !== d.group) {
    cmds.push(run(`chown ${owner} ${p}`));
    why.push(`owner ${fact.owner}:${fact.group} -> ${owner}`);
  }
  if (fact.mode !== mode) {
    cmds.push(run(`chmod ${mode} ${p}`));
    why.push(`mode ${fact.mode} -> ${mode}`);
  }
  return cmds.length ? changes(cmds, `${d.path}: ${why.join(', ')}`) : noChange(`${d.path} exists with ${owner} ${mode}`);
}

/** Desired file: content (undefined = generated on apply, dry runs only), owner, group, mode. */
export interface FileDesired {
  path: string;
  content: Buffer | undefined;
  owner: string;
  group: string;
  mode: string;
  /** Handlers to notify when the file changes. */
  notify?: string[];
}

/**
 * Ensures a file's content, owner and mode. Content differences (by SHA-256) rewrite the file
 * atomically; metadata-only differences chown/chmod it. Notifies `notify` on any change.
 */
export function fileOp(fact: FileFact, d: FileDesired): OperationResult {
  const mode = modeString(d.mode);
  const owner = `${d.owner}:${d.group}`;
  const put: Command = { kind: 'put', path: d.path, content: d.content, mode, owner };
  if (!fact.exists) return changes([put], `${d.path} does not exist`, d.notify);
  if (!fact.regular) throw new Error(`${d.path} exists but is not a regular file (move it away and rerun)`);
  if (d.content === undefined) return changes([put], `${d.path} will be regenerated`, d.notify);
  const want = sha256(d.content);
  if (fact.sha256 !== want) return changes([put], `${d.path} content differs`, d.notify);
  const cmds: Command[] = [];
  const why: string[] = [];
  if (fact.owner !== d.owner || fact.group !== d.group) {
    cmds.push(run(`chown ${owner} ${shq(d.path)}`));
    why.push(`owner ${fact.owner}:${fact.group} -> ${owner}`);
  }
  if (fact.mode !== mode) {
    cmds.push(run(`chmod ${mode} ${shq(d.path)}`));
    why.push(`mode ${fact.mode} -> ${mode}`);
  }
  return cmds.length
    ? changes(cmds, `${d.path}: ${why.join(', ')}`, d.notify)
    : noChange(`${d.path} is up to date`);
}
