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
  /** How many threads may attach at once (each attached Arena object takes one slot). Default 256. */
  maxThreads?: number;
  /**
   * @internal Test-only: switch the ABA tag of the central free list off, to prove that the
   * stress tests can see ABA. Never set this outside tests.
   */
  unsafeDisableAbaTag?: boolean;
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
  maxThreads: 256,
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
  'maxThreads', 'unsafeDisableAbaTag',
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
  if (typeof growthFactor !== 'number' || !Number.isFinite(growthFactor) || growthFactor <= 1) {
    throw invalidOption('growthFactor', 'must be a finite number greater than 1', options.growthFactor);
  }
  const pressureThreshold = options.pressureThreshold ?? ARENA_DEFAULTS.pressureThreshold;
  if (typeof pressureThreshold !== 'number' || !(pressureThreshold > 0 && pressureThreshold <= 1)) {
    throw invalidOption('pressureThreshold', 'must be a number in (0, 1]', options.pressureThreshold);
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
