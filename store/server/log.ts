/**
 * JSON-lines logging to stderr in the shape of etcd's zap logger:
 * {"level":"info","ts":"2026-01-01T00:00:00.000Z","caller":"quorumd/node","msg":"...", ...fields}.
 * Never log secrets (key material, passwords).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, panic: 4, fatal: 5 };

/** A structured logger bound to a component name. */
export class Logger {
  constructor(
    private level: Level = 'info',
    private readonly caller = 'quorumd',
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  /** A logger for a sub-component sharing this one's level and sink. */
  child(caller: string): Logger {
    return new Logger(this.level, caller, this.sink);
  }

  setLevel(level: Level): void {
    this.level = level;
  }

  debug(msg: string, fields?: Record<string, unknown>): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: Record<string, unknown>): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: Record<string, unknown>): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: Record<string, unknown>): void { this.log('error', msg, fields); }

  private log(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const rec: Record<string, unknown> = { level, ts: new Date().toISOString(), caller: this.caller, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = typeof v === 'bigint' ? v.toString(16) : v;
    this.sink(JSON.stringify(rec));
  }
}
