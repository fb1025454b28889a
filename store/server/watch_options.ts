/** Parsing of the Watch service's server options (etcd flag --experimental-watch-progress-notify-interval). */
import { ConfigError } from './config.js';

/**
 * A Go duration ("10m", "500ms", "1m30s", "0.5s") in ms, for `flag`; a bare number is taken as seconds.
 * @throws ConfigError naming the flag when the text is not a duration or is not positive.
 */
export function parseWatchInterval(flag: string, text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  if (text.length === 0 || pos !== text.length || total <= 0) {
    throw new ConfigError(`${flag}: invalid duration ${JSON.stringify(text)} (expected e.g. 10m, 5s, 500ms)`);
  }
  return total;
}
