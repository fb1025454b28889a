import { ConnectorError } from '../connectors/types.js';

/**
 * A failure on one host during one step. The message is one line:
 * `etcd-02: step "release": sha256 mismatch (fix: rerun; ...)`.
 */
export class StepError extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly detail: string,
    readonly remedy?: string,
  ) {
    super(`${host}: step "${step}": ${detail}${remedy ? ` (fix: ${remedy})` : ''}`);
    this.name = 'StepError';
  }

  /** Wraps any error thrown while `host` ran `step` (keeps an existing StepError as is). */
  static from(host: string, step: string, e: unknown, remedy?: string): StepError {
    if (e instanceof StepError) return e;
    if (e instanceof ConnectorError) {
      const detail = e.message.startsWith(`${e.host}: `) ? e.message.slice(e.host.length + 2) : e.message;
      return new StepError(host, step, detail, e.remedy ?? remedy);
    }
    const msg = e instanceof Error ? e.message : String(e);
    return new StepError(host, step, msg.split('\n')[0]!, remedy);
  }
}
