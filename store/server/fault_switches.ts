/**
 * Test-only switches read once from the environment (docs/FAULTS.md). They exist so the fault suite can
 * (a) lose what a member wrote but did not fsync when it kills it (the page cache survives kill -9, so the
 * harness needs to know how far each WAL segment is durable) and (b) check that the checker catches a
 * deliberately broken build. Production never sets them; each one logs a warning at start (main.ts does not
 * need to know: node.ts passes them to the WAL).
 *
 *   QUORUMD_TEST_SYNC_MARKER=1        after every fdatasync the WAL writes `<wal-dir>/synced.mark`
 *                                     ("<segment seq hex> <offset>": the durable prefix) for the harness.
 *   QUORUMD_FAULT_ACK_BEFORE_FSYNC=1  BROKEN BUILD: the WAL never fdatasyncs appended records, so entries are
 *                                     acknowledged (and writes answered) before they are durable.
 */
import type { WalOptions } from '../wal/wal.js';

/** The switches as read at first call. */
export interface FaultSwitches {
  walOptions: Pick<WalOptions, 'syncMarker' | 'unsafeNoSync'>;
}

let cached: FaultSwitches | undefined;

/** Reads the switches once per process (later changes to the environment are ignored). */
export function faultSwitches(): FaultSwitches {
  if (cached) return cached;
  const on = (name: string) => process.env[name] === '1';
  cached = {
    walOptions: {
      ...(on('QUORUMD_TEST_SYNC_MARKER') ? { syncMarker: true } : {}),
      ...(on('QUORUMD_FAULT_ACK_BEFORE_FSYNC') ? { unsafeNoSync: true } : {}),
    },
  };
  if (cached.walOptions.unsafeNoSync) process.stderr.write('quorumd: QUORUMD_FAULT_ACK_BEFORE_FSYNC=1: the WAL does not fsync (a deliberately broken build for tests)\n');
  return cached;
}
