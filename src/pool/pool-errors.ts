/**
 * Errors of the pool, and errors as data.
 *
 * Structured clone keeps an Error's message and stack but drops `code` and the class, so a slot
 * sends every error it catches as {@link ErrorData}, and the main thread rebuilds it: an
 * ArenaError when the code is one of ours, otherwise an Error with the original name and code.
 * Callers check `code`, never `instanceof` (DESIGN §5).
 */
import { ArenaError, ERROR_CODES, type ArenaErrorCode } from '../errors.js';
import type { ErrorData } from '../protocol.js';

/** How deep a chain of causes is kept. */
const MAX_CAUSE_DEPTH = 4;

/** Turn anything thrown into data that survives a postMessage with its code. */
export function errorToData(e: unknown, depth = 0): ErrorData {
  if (typeof e === 'object' && e !== null) {
    const o = e as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; cause?: unknown };
    const cause = o.cause;
    let causeData: ErrorData['cause'];
    if (cause === null || typeof cause === 'string' || typeof cause === 'number' || typeof cause === 'boolean') causeData = cause;
    else if (typeof cause === 'object' && depth < MAX_CAUSE_DEPTH) causeData = errorToData(cause, depth + 1);
    return {
      name: typeof o.name === 'string' ? o.name : 'Error',
      message: typeof o.message === 'string' ? o.message : String(e),
      code: typeof o.code === 'string' ? o.code : undefined,
      stack: typeof o.stack === 'string' ? o.stack : undefined,
      cause: causeData,
    };
  }
  return { name: 'Error', message: String(e) };
}

const isArenaCode = (code: string | undefined): code is ArenaErrorCode =>
  code !== undefined && (ERROR_CODES as readonly string[]).includes(code);

/** Rebuild an error sent as data: same code, name and message; the thread's stack. */
export function errorFromData(d: ErrorData): Error {
  const cause = typeof d.cause === 'object' && d.cause !== null ? errorFromData(d.cause) : d.cause;
  const options = d.cause === undefined ? undefined : { cause };
  let e: Error;
  if (d.name === 'ArenaError' && isArenaCode(d.code)) {
    e = new ArenaError(d.code, d.message, options);
  } else {
    e = new Error(d.message, options);
    e.name = d.name;
    if (d.code !== undefined) (e as Error & { code?: string }).code = d.code;
  }
  if (d.stack !== undefined) e.stack = d.stack;
  return e;
}

/** The thread running a task (or actor) died: exit, uncaught exception, heap limit, terminate. */
export const taskCrashed = (what: string, slot: number, cause: unknown): ArenaError =>
  new ArenaError('ERR_TASK_CRASHED', `the thread of slot ${slot} died while running ${what}`, { cause });

export const queueFull = (maxQueue: number): ArenaError =>
  new ArenaError('ERR_QUEUE_FULL', `${maxQueue} task(s) already wait for admission (maxQueue = ${maxQueue})`);

/**
 * Use after close. There is no dedicated code for a closed TaskManager; ERR_ARENA_CLOSED is the
 * "use after close" code callers already handle.
 */
export const managerClosed = (): ArenaError => new ArenaError('ERR_ARENA_CLOSED', 'the TaskManager is closed');

/** A call on an actor after its close(): its lease is closed. */
export const actorClosed = (): ArenaError => new ArenaError('ERR_LEASE_CLOSED', 'the actor is closed');

/** The result holds segments but run() was given no lease to move them into. */
export const resultNeedsInto = (segments: number): ArenaError =>
  new ArenaError(
    'ERR_INVALID_ARGUMENT',
    `argument 'into' is required: the task's result holds MemorySegments (${segments} reference(s)), and without a ` +
      'lease to move them into they were released with the task lease',
  );
