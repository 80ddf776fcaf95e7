/**
 * The one error class of segment-arena, and the small factories that build it.
 *
 * Errors cross threads as plain data (structured clone keeps `message` but not the
 * prototype), so callers and tests check {@link ArenaError.code}, never `instanceof`.
 * This module imports nothing.
 */

/** Every stable error code (DESIGN.md §5). */
export type ArenaErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_LEASE_LIMIT'
  | 'ERR_ARENA_EXHAUSTED'
  | 'ERR_SEGMENT_RELEASED'
  | 'ERR_FOREIGN_SEGMENT'
  | 'ERR_OUT_OF_BOUNDS'
  | 'ERR_LEASE_CLOSED'
  | 'ERR_ARENA_CLOSED'
  | 'ERR_TOO_MANY_LEASES'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_TASK_CRASHED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_LEAK'
  | 'ERR_INTERNAL';

/** All codes, for tests and for validating errors that arrive from another thread. */
export const ERROR_CODES: readonly ArenaErrorCode[] = Object.freeze([
  'ERR_INVALID_OPTION',
  'ERR_INVALID_ARGUMENT',
  'ERR_LEASE_LIMIT',
  'ERR_ARENA_EXHAUSTED',
  'ERR_SEGMENT_RELEASED',
  'ERR_FOREIGN_SEGMENT',
  'ERR_OUT_OF_BOUNDS',
  'ERR_LEASE_CLOSED',
  'ERR_ARENA_CLOSED',
  'ERR_TOO_MANY_LEASES',
  'ERR_ABORTED',
  'ERR_TIMEOUT',
  'ERR_TASK_CRASHED',
  'ERR_QUEUE_FULL',
  'ERR_LEAK',
  'ERR_INTERNAL',
]);

/**
 * The error every segment-arena call throws. `code` is stable; `message` is for people.
 *
 * @example
 * ```ts
 * try { lease.allocate(); } catch (e) { if ((e as ArenaError).code === 'ERR_LEASE_LIMIT') wait(); }
 * ```
 */
export class ArenaError extends Error {
  /** The stable code (see DESIGN.md §5). */
  readonly code: ArenaErrorCode;

  constructor(code: ArenaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArenaError';
    this.code = code;
  }
}

/** True when `e` looks like an ArenaError, whichever thread built it. */
export function isArenaError(e: unknown): e is ArenaError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (ERROR_CODES as readonly string[]).includes((e as { code: string }).code)
  );
}

export const invalidOption = (name: string, constraint: string, value: unknown): ArenaError =>
  new ArenaError('ERR_INVALID_OPTION', `option '${name}' ${constraint} (got ${describe(value)})`);

export const invalidArgument = (name: string, constraint: string, value: unknown): ArenaError =>
  new ArenaError('ERR_INVALID_ARGUMENT', `argument '${name}' ${constraint} (got ${describe(value)})`);

export const leaseLimit = (lease: string, want: number, used: number, limit: number): ArenaError =>
  new ArenaError(
    'ERR_LEASE_LIMIT',
    `lease '${lease}' cannot take ${want} more segment(s): it holds ${used} of at most ${limit}`,
  );

export const arenaExhausted = (want: number): ArenaError =>
  new ArenaError('ERR_ARENA_EXHAUSTED', `no free segment for ${want} more segment(s) and the arena cannot grow`);

export const segmentReleased = (what: string): ArenaError =>
  new ArenaError('ERR_SEGMENT_RELEASED', `segment ${what} was released (use after release, double release or stale handle)`);

export const foreignSegment = (what: string, owner: 'lease' | 'arena'): ArenaError =>
  new ArenaError('ERR_FOREIGN_SEGMENT', `segment ${what} does not belong to this ${owner}`);

export const outOfBounds = (offset: number, width: number, size: number): ArenaError =>
  new ArenaError('ERR_OUT_OF_BOUNDS', `access of ${width} byte(s) at offset ${offset} is outside the segment [0, ${size})`);

export const leaseClosed = (lease: string): ArenaError =>
  new ArenaError('ERR_LEASE_CLOSED', `lease '${lease}' is closed`);

export const arenaClosed = (): ArenaError => new ArenaError('ERR_ARENA_CLOSED', 'the arena is closed');

export const tooManyLeases = (max: number): ArenaError =>
  new ArenaError('ERR_TOO_MANY_LEASES', `the lease table is full (maxLeases = ${max})`);

export const aborted = (reason: unknown): ArenaError =>
  new ArenaError('ERR_ABORTED', 'the operation was aborted', { cause: reason });

export const timedOut = (ms: number): ArenaError =>
  new ArenaError('ERR_TIMEOUT', `the operation timed out after ${ms} ms`);

export const internal = (what: string): ArenaError =>
  new ArenaError('ERR_INTERNAL', `internal invariant broken: ${what} (please report this)`);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  return Array.isArray(value) ? 'an array' : 'an object';
}
