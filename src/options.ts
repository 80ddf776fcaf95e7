/**
 * Option types, their frozen defaults, and the one resolve-and-validate step.
 *
 * Inner code only ever sees {@link ResolvedArenaOptions}: every size in bytes and in
 * segments, every constraint already checked. A broken option throws ERR_INVALID_OPTION
 * with a message that names the option and the constraint it breaks.
 */
import { ArenaError, invalidArgument, invalidOption } from './errors.js';

/** A size: a non-negative integer number of bytes, or a string such as `'32KiB'`, `'64MiB'`, `'1GB'`. */
export type ByteSize = number | string;

/** Options of {@link Arena}. */
export interface ArenaOptions {
  /** Initial size of the data buffer; a whole number of segments. */
  size: ByteSize;
  /** Size of one segment: a power of two from 4 KiB to 16 MiB. Default `'32KiB'`. */
  segmentSize?: ByteSize;
  /** Largest size the arena may grow to (at most 4 GiB). Default: `size` (no growth). */
  maxSize?: ByteSize;
  /** Growth step: the segment count is multiplied by this (> 1). Default 1.5. */
  growthFactor?: number;
  /** Fraction of segments in use (allocated or cached) that triggers `pressure` and growth. Default 0.9. */
  pressureThreshold?: number;
  /** Zero a segment before a different lease receives it. Default true. */
  scrub?: boolean;
  /** Size of the lease table: how many leases may be open at once. Default 4096. */
  maxLeases?: number;
  /**
   * Debug mode: poison released segments and check the poison on reuse, hold released
   * segments in a reuse quarantine, and treat a leak as an error on close. Default false.
   */
  debug?: boolean;
  /**
   * How many Arena objects (threads) may be attached at once; each takes a thread slot with its
   * cache and counters. Default 64. A TaskManager that creates its own arena raises it to fit
   * its slots.
   */
  maxThreads?: number;
  /**
   * @internal Test-only: switch the ABA tag of the central free list off, to prove that the
   * stress tests can see ABA. Never set this outside tests.
   */
  unsafeDisableAbaTag?: boolean;
  /**
   * @internal Test-only: charge a lease first and check its limit after the charge is
   * published (undoing it when over), the mutation the interleaving checker must catch.
   */
  unsafeLateLimitCheck?: boolean;
  /**
   * @internal Test-only: a waiting `allocateAsync` never re-checks on its own (no POLL_MS
   * timer), so a wake that is lost shows as a hang (ERR_TIMEOUT) instead of a 100 ms delay.
   */
  unsafeDisableWaitPoll?: boolean;
}

/** Options of {@link Arena.lease}. */
export interface LeaseOptions {
  /** A name for messages, stats and leak reports. */
  name?: string;
  /** Hard limit in bytes; the lease holds at most `floor(limit / segmentSize)` segments. Default: unlimited. */
  limit?: ByteSize;
  /** Bytes set aside for this lease alone: it can always draw them, whatever other leases hold. Default 0. */
  reserve?: ByteSize;
}

/** Arena options after validation: sizes in bytes and segments, all fields present. */
export interface ResolvedArenaOptions {
  readonly size: number;
  readonly segmentSize: number;
  readonly segmentShift: number;
  readonly segmentCount: number;
  readonly maxSize: number;
  readonly maxSegments: number;
  readonly growthFactor: number;
  readonly pressureThreshold: number;
  readonly scrub: boolean;
  readonly maxLeases: number;
  readonly debug: boolean;
  readonly maxThreads: number;
  readonly abaTag: boolean;
  readonly lateLimitCheck: boolean;
  readonly waitPoll: boolean;
}

/** Hard bounds of the shared-memory layout (see src/core/layout.ts). */
export const LIMITS = Object.freeze({
  minSegmentSize: 4 * 1024,
  maxSegmentSize: 16 * 1024 * 1024,
  /** Node 20 caps a growable SharedArrayBuffer at 4 GiB; fixed arenas keep the same bound. */
  maxArenaBytes: 2 ** 32,
  /** A segment index must fit the handle (index * 2^32 + generation < 2^53) and a lease's count field. */
  maxSegments: 2 ** 21 - 1,
  maxLeases: 2 ** 20,
  maxThreads: 4096,
});

/** Defaults of {@link ArenaOptions}. */
export const ARENA_DEFAULTS = Object.freeze({
  segmentSize: 32 * 1024,
  growthFactor: 1.5,
  pressureThreshold: 0.9,
  scrub: true,
  maxLeases: 4096,
  debug: false,
  maxThreads: 64,
});

const UNITS: Readonly<Record<string, number>> = Object.freeze({
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
});

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/;

/**
 * Parse a {@link ByteSize} into a whole number of bytes.
 * `KiB`/`MiB`/`GiB` are powers of 1024, `KB`/`MB`/`GB` powers of 1000, `B` (or no unit) bytes.
 * @throws ArenaError ERR_INVALID_ARGUMENT when the value is not a size or not a whole number of bytes.
 */
export function parseByteSize(value: ByteSize): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw invalidArgument('size', 'must be a non-negative integer number of bytes', value);
  }
  if (typeof value !== 'string') throw invalidArgument('size', 'must be a number or a string like "32KiB"', value);
  const m = SIZE_RE.exec(value);
  const unit = m ? UNITS[m[2] ?? 'B'] : undefined;
  if (!m || unit === undefined) throw invalidArgument('size', 'must look like "512", "32KiB", "64MiB" or "1GB"', value);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw invalidArgument('size', 'must be a whole number of bytes', value);
  return bytes;
}

function sizeOption(name: string, value: ByteSize): number {
  try {
    return parseByteSize(value);
  } catch (e) {
    throw invalidOption(name, (e as ArenaError).message.replace(/^argument 'size' /, '').replace(/ \(got .*\)$/, ''), value);
  }
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(name, 'must be a boolean', value);
  return value;
}

const KNOWN_ARENA_OPTIONS = new Set([
  'size', 'segmentSize', 'maxSize', 'growthFactor', 'pressureThreshold', 'scrub', 'maxLeases', 'debug',
  'maxThreads', 'unsafeDisableAbaTag', 'unsafeLateLimitCheck', 'unsafeDisableWaitPoll',
]);

/**
 * Validate arena options once and fill in defaults.
 * `size` and `maxSize` must be whole numbers of segments: rounding would silently change how
 * much memory a caller gets, so a size that does not divide is an error that says so.
 */
export function resolveArenaOptions(options: ArenaOptions): ResolvedArenaOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_ARENA_OPTIONS.has(key)) throw invalidOption(key, 'is not an arena option', (options as unknown as Record<string, unknown>)[key]);
  }
  if (options.size === undefined) throw invalidOption('size', 'is required', undefined);
  const size = sizeOption('size', options.size);
  if (size <= 0) throw invalidOption('size', 'must be greater than 0', options.size);
  if (size > LIMITS.maxArenaBytes) throw invalidOption('size', 'must be at most 4 GiB', options.size);

  const segmentSize = sizeOption('segmentSize', options.segmentSize ?? ARENA_DEFAULTS.segmentSize);
  if (!isPowerOfTwo(segmentSize) || segmentSize < LIMITS.minSegmentSize || segmentSize > LIMITS.maxSegmentSize) {
    throw invalidOption('segmentSize', 'must be a power of two from 4 KiB to 16 MiB', options.segmentSize);
  }
  if (segmentSize > size) throw invalidOption('segmentSize', `must not be above size (${size} bytes)`, options.segmentSize);
  if (size % segmentSize !== 0) {
    throw invalidOption('size', `must be a whole number of segments of ${segmentSize} bytes`, options.size);
  }

  const maxSize = options.maxSize === undefined ? size : sizeOption('maxSize', options.maxSize);
  if (maxSize < size) throw invalidOption('maxSize', `must be at least size (${size} bytes)`, options.maxSize);
  if (maxSize > LIMITS.maxArenaBytes) {
    throw invalidOption('maxSize', 'must be at most 4 GiB (the largest growable SharedArrayBuffer on Node 20)', options.maxSize);
  }
  if (maxSize % segmentSize !== 0) {
    throw invalidOption('maxSize', `must be a whole number of segments of ${segmentSize} bytes`, options.maxSize);
  }
  const maxSegments = maxSize / segmentSize;
  if (maxSegments > LIMITS.maxSegments) {
    throw invalidOption('maxSize', `must hold at most ${LIMITS.maxSegments} segments (use larger segments)`, options.maxSize);
  }

  const growthFactor = options.growthFactor ?? ARENA_DEFAULTS.growthFactor;
  if (typeof growthFactor !== 'number' || !(growthFactor > 1 && growthFactor <= 1000)) {
    throw invalidOption('growthFactor', 'must be a number greater than 1 and at most 1000', options.growthFactor);
  }
  const pressureThreshold = options.pressureThreshold ?? ARENA_DEFAULTS.pressureThreshold;
  // Both are stored in Int32 header words (milli, micro): bounds keep them exact.
  if (typeof pressureThreshold !== 'number' || !(pressureThreshold >= 1e-6 && pressureThreshold <= 1)) {
    throw invalidOption('pressureThreshold', 'must be a number from 0.000001 to 1', options.pressureThreshold);
  }
  return Object.freeze({
    size,
    segmentSize,
    segmentShift: Math.log2(segmentSize),
    segmentCount: size / segmentSize,
    maxSize,
    maxSegments,
    growthFactor,
    pressureThreshold,
    scrub: checkBoolean('scrub', options.scrub ?? ARENA_DEFAULTS.scrub),
    maxLeases: checkInteger('maxLeases', options.maxLeases ?? ARENA_DEFAULTS.maxLeases, 1, LIMITS.maxLeases),
    debug: checkBoolean('debug', options.debug ?? ARENA_DEFAULTS.debug),
    maxThreads: checkInteger('maxThreads', options.maxThreads ?? ARENA_DEFAULTS.maxThreads, 1, LIMITS.maxThreads),
    abaTag: !checkBoolean('unsafeDisableAbaTag', options.unsafeDisableAbaTag ?? false),
    lateLimitCheck: checkBoolean('unsafeLateLimitCheck', options.unsafeLateLimitCheck ?? false),
    waitPoll: !checkBoolean('unsafeDisableWaitPoll', options.unsafeDisableWaitPoll ?? false),
  });
}

/** Lease options after validation, in segments. */
export interface ResolvedLeaseOptions {
  readonly name: string;
  /** Hard limit in segments. */
  readonly limit: number;
  /** Reserved segments. */
  readonly reserve: number;
}

/**
 * Validate lease options against an arena's segment size and capacity.
 * A limit is rounded down to whole segments (DESIGN §4); a reserve is rounded up, so the
 * lease always has at least the bytes it asked to be set aside.
 */
export function resolveLeaseOptions(
  options: LeaseOptions | undefined,
  segmentSize: number,
  maxSegments: number,
  defaultName: string,
): ResolvedLeaseOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw invalidOption('lease options', 'must be an object', o);
  for (const key of Object.keys(o)) {
    if (key !== 'name' && key !== 'limit' && key !== 'reserve') {
      throw invalidOption(key, 'is not a lease option', (o as Record<string, unknown>)[key]);
    }
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw invalidOption('name', 'must be a string', o.name);
  const limitBytes = o.limit === undefined ? Infinity : sizeOption('limit', o.limit);
  const limit = limitBytes === Infinity ? maxSegments : Math.min(maxSegments, Math.floor(limitBytes / segmentSize));
  const reserveBytes = o.reserve === undefined ? 0 : sizeOption('reserve', o.reserve);
  const reserve = Math.ceil(reserveBytes / segmentSize);
  if (reserve > limit) throw invalidOption('reserve', `must not be above the limit (${limit} segments)`, o.reserve);
  return Object.freeze({ name: o.name ?? defaultName, limit, reserve });
}

// ---- TaskManager ------------------------------------------------------------------------------
// Type-only imports: erased at runtime, so options.ts still loads nothing but errors.ts.
import type { Arena } from './core/arena.js';
import type { Lease } from './core/lease.js';

/** Options of {@link TaskManager}. */
export interface TaskManagerOptions {
  /** The arena tasks draw from: an Arena, or the options to create one. Default `{ size: '256MiB' }`. */
  arena?: Arena | ArenaOptions;
  /** Worker threads (slots); piscina runs exactly this many. Default `os.availableParallelism()`. */
  slots?: number;
  /**
   * Arena memory one slot may hand out to the tasks running on it at once, rounded down to whole
   * segments. Default: the arena size / `slots`. `slots × slotMemory` may not exceed the arena's maxSize.
   */
  slotMemory?: ByteSize;
  /**
   * V8 old-generation heap limit of each slot's thread (piscina `resourceLimits.maxOldGenerationSizeMb`,
   * rounded up to whole MiB). A task that exhausts it kills its slot: the run rejects with
   * ERR_TASK_CRASHED. Arena memory is not heap and does not count. A thread needs about 8 MiB to
   * start at all; below that every run fails with ERR_TASK_CRASHED. Default: V8's own limit.
   */
  slotHeap?: ByteSize;
  /** Tasks (and actors) one slot runs at once. Default 1. */
  concurrentTasksPerSlot?: number;
  /** Most tasks waiting for admission; one more rejects with ERR_QUEUE_FULL. Default: unbounded. */
  maxQueue?: number;
  /**
   * Passed to piscina's `idleTimeout` (ms). Slots are fixed (piscina's min = max = `slots`), so piscina
   * never retires an idle slot; the option exists for parity with piscina. Default: piscina's.
   */
  idleTimeout?: number;
  /**
   * Milliseconds an aborted task (or a closing actor) gets to stop on its own after its signal fires;
   * past that its slot's thread is terminated and replaced. Default 1000.
   */
  abortGrace?: number;
}

/** Options of {@link TaskManager.run}. */
export interface RunOptions {
  /** The task lease's hard limit (rounded down to whole segments). Default: slotMemory / concurrentTasksPerSlot. */
  memory?: ByteSize;
  /** Abort the task: it sees `ctx.signal` fire; the run rejects with ERR_ABORTED (`cause` = the reason). */
  signal?: AbortSignal;
  /** The lease that receives the segments found in the result (zero-copy). Required when the result holds any. */
  into?: Lease;
  /** Call this named export of the task module instead of its default export. */
  name?: string;
}

/** Options of {@link TaskManager.spawn}. */
export interface SpawnOptions {
  /** The actor lease's hard limit (rounded down to whole segments). Default: slotMemory / concurrentTasksPerSlot. */
  memory?: ByteSize;
  /** Call this named export of the actor module (the factory) instead of its default export. */
  name?: string;
}

/** TaskManager options after validation (sizes in bytes and segments). */
export interface ResolvedTaskManagerOptions {
  readonly slots: number;
  /** Segments one slot may hand out at once. */
  readonly slotSegments: number;
  /** `slotSegments × segmentSize`. */
  readonly slotMemory: number;
  /** `resourceLimits.maxOldGenerationSizeMb`, or undefined for V8's default. */
  readonly slotHeapMb: number | undefined;
  readonly concurrentTasksPerSlot: number;
  readonly maxQueue: number;
  readonly idleTimeout: number | undefined;
  readonly abortGrace: number;
  /** Default task memory in segments: floor(slotSegments / concurrentTasksPerSlot). */
  readonly defaultTaskSegments: number;
  readonly segmentSize: number;
}

/** Defaults of {@link TaskManagerOptions}. */
export const TASK_MANAGER_DEFAULTS = Object.freeze({
  arenaSize: '256MiB',
  concurrentTasksPerSlot: 1,
  maxQueue: Infinity,
  abortGrace: 1000,
});

const KNOWN_TASK_MANAGER_OPTIONS = new Set([
  'arena', 'slots', 'slotMemory', 'slotHeap', 'concurrentTasksPerSlot', 'maxQueue', 'idleTimeout', 'abortGrace',
]);

function checkMilliseconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw invalidOption(name, 'must be a non-negative finite number of milliseconds', value);
  }
  return value;
}

/**
 * Validate TaskManager options once, against the arena they will use (the caller creates or
 * checks the arena: this module cannot import it). `parallelism` is the default slot count.
 */
export function resolveTaskManagerOptions(
  options: TaskManagerOptions,
  arena: { readonly size: number; readonly maxSize: number; readonly segmentSize: number },
  parallelism: number,
): ResolvedTaskManagerOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_TASK_MANAGER_OPTIONS.has(key)) {
      throw invalidOption(key, 'is not a TaskManager option', (options as unknown as Record<string, unknown>)[key]);
    }
  }
  const seg = arena.segmentSize;
  const slots = checkInteger('slots', options.slots ?? Math.max(1, parallelism), 1, 1024);
  const slotBytes = options.slotMemory === undefined ? Math.floor(arena.size / slots) : sizeOption('slotMemory', options.slotMemory);
  const slotSegments = Math.floor(slotBytes / seg);
  if (slotSegments < 1) {
    throw invalidOption('slotMemory', `must hold at least one segment (${seg} bytes)`, options.slotMemory ?? slotBytes);
  }
  if (slotSegments * slots * seg > arena.maxSize) {
    throw invalidOption('slotMemory', `times slots (${slots}) must not exceed the arena's maxSize (${arena.maxSize} bytes)`, options.slotMemory);
  }
  let slotHeapMb: number | undefined;
  if (options.slotHeap !== undefined) {
    const bytes = sizeOption('slotHeap', options.slotHeap);
    if (bytes < 2 ** 20) throw invalidOption('slotHeap', 'must be at least 1 MiB', options.slotHeap);
    slotHeapMb = Math.ceil(bytes / 2 ** 20);
  }
  const concurrentTasksPerSlot = checkInteger(
    'concurrentTasksPerSlot', options.concurrentTasksPerSlot ?? TASK_MANAGER_DEFAULTS.concurrentTasksPerSlot, 1, 1024,
  );
  const maxQueue = options.maxQueue ?? TASK_MANAGER_DEFAULTS.maxQueue;
  if (typeof maxQueue !== 'number' || !(maxQueue >= 0) || (maxQueue !== Infinity && !Number.isInteger(maxQueue))) {
    throw invalidOption('maxQueue', 'must be a non-negative integer or Infinity', options.maxQueue);
  }
  return Object.freeze({
    slots,
    slotSegments,
    slotMemory: slotSegments * seg,
    slotHeapMb,
    concurrentTasksPerSlot,
    maxQueue,
    idleTimeout: options.idleTimeout === undefined ? undefined : checkMilliseconds('idleTimeout', options.idleTimeout),
    abortGrace: checkMilliseconds('abortGrace', options.abortGrace ?? TASK_MANAGER_DEFAULTS.abortGrace),
    defaultTaskSegments: Math.floor(slotSegments / concurrentTasksPerSlot),
    segmentSize: seg,
  });
}

/**
 * The memory of one task or actor, in segments (rounded down, like a lease limit).
 * @throws ArenaError ERR_INVALID_ARGUMENT when it is not a size, or more than one slot has.
 */
export function resolveTaskMemory(memory: ByteSize | undefined, o: ResolvedTaskManagerOptions): number {
  if (memory === undefined) return o.defaultTaskSegments;
  let bytes: number;
  try {
    bytes = parseByteSize(memory);
  } catch {
    throw invalidArgument('memory', 'must be a size such as 65536 or "64KiB"', memory);
  }
  if (bytes > o.slotMemory) {
    throw invalidArgument('memory', `must be at most slotMemory (${o.slotMemory} bytes): no slot could ever run it`, memory);
  }
  return Math.floor(bytes / o.segmentSize);
}
