/**
 * How long the calling thread has waited on a CPU run queue (runnable, but another thread had
 * the core), from Linux's /proc/thread-self/schedstat (field 2, ns). The parallel-sum suite uses
 * it to tell a rep that measured scaling from one that measured time slicing with some other
 * process. Undefined where the file does not exist (not Linux, or schedstats unavailable).
 */
import { readFileSync } from 'node:fs';

export function runQueueWaitMs(): number | undefined {
  try {
    const wait = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[1]);
    return Number.isFinite(wait) ? wait / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
