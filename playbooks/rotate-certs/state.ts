/**
 * The operator's record of a CA rotation: `<pki dir>/rotation-state.json`, written atomically after every
 * finished member, so a rotation that is interrupted (killed, a host down, a failed gate) resumes where it
 * stopped on the next `quorum certs rotate --ca`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeAtomic } from '../../toolkit/pki/files.js';
import { CA_PHASES, type CaRotationState } from './plan.js';

/** File name of the state inside the inventory's pki dir. */
export const STATE_FILE = 'rotation-state.json';

/** Path of the state file for the pki dir `dir`. */
export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

/**
 * The saved state, or undefined when there is none.
 * @throws Error when the file exists but is not a CA rotation state (names the file and the fix).
 */
export function readRotationState(dir: string): CaRotationState | undefined {
  const p = statePath(dir);
  if (!existsSync(p)) return undefined;
  let s: Partial<CaRotationState>;
  try {
    s = JSON.parse(readFileSync(p, 'utf8')) as Partial<CaRotationState>;
  } catch (e) {
    throw new Error(`${p}: not JSON: ${(e as Error).message} (fix: restore it, or remove it when no CA rotation is in progress)`);
  }
  const phases: string[] = [...CA_PHASES, 'done'];
  if (s.version !== 1 || s.kind !== 'ca' || !phases.includes(String(s.phase)) || !Array.isArray(s.done)
    || typeof s.oldCaSerial !== 'string' || typeof s.newCaSerial !== 'string') {
    throw new Error(`${p}: not a CA rotation state (fix: restore it, or remove it when no CA rotation is in progress)`);
  }
  return s as CaRotationState;
}

/** Writes the state atomically (temp + rename, mode 0600). */
export function writeRotationState(dir: string, state: CaRotationState): void {
  ensureDir(dir);
  writeAtomic(dir, STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
