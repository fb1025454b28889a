/**
 * The CLI edge: every error is converted ONCE here into a clear message (host, step, remedy) and an
 * exit code: 0 ok, 1 failure, 2 bad input (inventory, usage).
 */
import { ConnectorError } from '../connectors/types.js';
import { StepError } from '../engine/errors.js';
import { InventoryError } from '../inventory/errors.js';

/** Exit codes of `quorum`. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** A usage or input problem found by the CLI itself (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure already reported (lines printed) that only needs its exit code. */
export class ReportedFailure extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The exit code and stderr text for `e`. Unknown errors print their first line only. */
export function describeError(e: unknown): { code: number; text: string } {
  if (e instanceof ReportedFailure) return { code: e.code, text: '' };
  if (e instanceof InventoryError) return { code: EXIT_BAD_INPUT, text: `quorum: invalid inventory:\n${e.message}\n` };
  if (e instanceof UsageError) return { code: EXIT_BAD_INPUT, text: `quorum: ${e.message}\n` };
  if (e instanceof StepError || e instanceof ConnectorError) return { code: EXIT_FAILURE, text: `quorum: ${e.message}\n` };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: EXIT_FAILURE, text: `quorum: ${msg.split('\n')[0]}\n` };
}
