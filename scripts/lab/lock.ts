/**
 * A lock file serialising lab changes (up/down) between processes on this machine.
 */
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOCK_FILE } from './config.js';
import { sleep } from './run.js';

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LOCK_FILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding the lab lock (a file with the holder's pid; a lock whose holder is dead is taken over).
 * Waits up to `waitMs` (default 300000) for another holder; throws Error naming it after that.
 */
export async function withLabLock<T>(fn: () => Promise<T>, waitMs = 300_000): Promise<T> {
  mkdirSync(dirname(LOCK_FILE), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = holder();
      if (pid === process.pid) throw new Error('lab: lab up/down re-entered in the same process');
      if (pid === undefined) {
        // Just created and not yet written, or a crash in between: give the writer a moment.
        await sleep(500);
        if (holder() === undefined) rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (!alive(pid)) {
        rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab: another lab up/down (pid ${pid}) holds ${LOCK_FILE}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    if (holder() === process.pid) rmSync(LOCK_FILE, { force: true });
  }
}
