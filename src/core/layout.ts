/**
 * The word map: every shared word of an arena, its offset, width and meaning, in one place.
 *
 * An arena is two SharedArrayBuffers:
 *   - the CONTROL buffer: Int32 words only, fixed size, sized up front for `maxSize`;
 *   - the DATA buffer: segment bytes only, growable when `maxSize > size`.
 * Keeping metadata in its own buffer is stronger than "out of band": a raw view of a segment
 * (`segment.as(...)`, whose `.buffer` exposes the whole data buffer) cannot reach a free-list
 * link, a generation or a lease counter, whatever it writes.
 *
 * Control buffer (Int32 word indices; one line = 16 words = 64 bytes):
 *
 *   line 0   H_*        immutable configuration, written once by the creator before any attach
 *   line 1   SEG_COUNT  current segment count (grows), CLOSED flag, GROWS counter
 *   line 2   CENTRAL    64-bit central free-list head (BigInt64 at word 32): [index+1 | tag]
 *   line 3   AVAIL      unreserved free segments in the central list; CENTRAL_COUNT physical count
 *   line 4   WAITERS    pending async allocation requests; EPOCH, the word waiters wait on
 *   line 5   counters   lease uid source, lease slot cursor, thread uid source, pressure state, peak
 *   then     THREADS    maxThreads entries x 4 words
 *   then     COUNTERS   maxThreads entries x 8 Float64 (one line each): activity counters
 *   then     LEASES     maxLeases entries x 8 words (32 bytes; handed out 4 apart, see leaseSlotForCursor)
 *   then     SEGMENTS   maxSegments entries x 4 words: GEN, STATE, LAST, NEXT
 *
 * Owners: each group of words has exactly one module that writes it and documents its
 * protocol: central + AVAIL + CENTRAL_COUNT → free-list.ts; WAITERS/EPOCH → waiters.ts;
 * THREADS → thread-table.ts; COUNTERS → counters.ts; LEASES → lease-table.ts; SEGMENTS → segment-table.ts;
 * header, SEG_COUNT, GROWS, counters → arena-core.ts. Nothing else computes an offset.
 */
import type { ResolvedArenaOptions } from '../options.js';

/** Words per cache line (64 bytes). */
export const LINE_WORDS = 16;

// ---- line 0: immutable header -------------------------------------------------------------
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_ARENA_ID = 2;
export const H_SEGMENT_SHIFT = 3;
export const H_MAX_SEGMENTS = 4;
export const H_MAX_LEASES = 5;
export const H_MAX_THREADS = 6;
export const H_FLAGS = 7;
export const H_BATCH = 8;
export const H_INITIAL_SEGMENTS = 9;
export const H_GROWTH_MILLI = 10;
export const H_PRESSURE_MICRO = 11;

export const MAGIC = 0x5345_4741; // "SEGA"
export const LAYOUT_VERSION = 1;
export const FLAG_SCRUB = 1 << 0;
export const FLAG_DEBUG = 1 << 1;
export const FLAG_ABA_TAG = 1 << 2;
/** Test-only mutation (options.unsafeLateLimitCheck): see lease-table.ts chargeLate. */
export const FLAG_LATE_LIMIT = 1 << 3;
/** Test-only (options.unsafeDisableWaitPoll): waiters never re-check on a timer (waiters.ts POLL_MS). */
export const FLAG_NO_WAIT_POLL = 1 << 4;

// ---- line 1: size and lifecycle -------------------------------------------------------------
/** Current number of segments; only grows (arena-core.ts). */
export const W_SEG_COUNT = 16;
/** 0 while open, 1 once the creating thread closed the arena. */
export const W_CLOSED = 17;
/** Number of successful grows. */
export const W_GROWS = 18;

// ---- line 2: central free-list head, a BigInt64 element -----------------------------------
/** Word index of the 64-bit head; its BigInt64Array index is this / 2. */
export const W_CENTRAL_HEAD = 32;

// ---- line 3: free counts (written by free-list.ts) ----------------------------------------
/** Free segments in the central list that any lease may take (the rest back reservations). */
export const W_AVAIL = 48;
/** Segments physically linked into the central list. */
export const W_CENTRAL_COUNT = 49;

// ---- line 4: waiting (waiters.ts) -----------------------------------------------------------
export const W_WAITERS = 64;
export const W_EPOCH = 65;
/**
 * Bumped (Atomics.add) by a thread that found the arena exhausted; every thread compares it on
 * each release with the value it last saw and, when it moved, flushes its whole cache
 * (cache.ts). Same line as W_WAITERS: releases read both.
 */
export const W_DRAIN = 66;

// ---- line 5: counters (arena-core.ts, lease-table.ts, thread-table.ts) --------------------
export const W_LEASE_UID = 80;
export const W_LEASE_CURSOR = 81;
export const W_THREAD_UID = 82;
export const W_PRESSURE = 83;
export const W_PEAK_OUT = 84;
/** Debug: segments found written after their release (damaged poison); Atomics.add. */
export const W_POISON_DAMAGE = 85;

export const HEADER_WORDS = 96;

// ---- thread table -------------------------------------------------------------------------
/** Thread slots are written only at attach and detach: no need for a line each. */
export const THREAD_WORDS = 4;
/** Uid of the attached context in this slot, 0 when the slot is free. */
export const T_UID = 0;
/** 1 while this thread counts itself in W_WAITERS (waiters.ts), so a reclaimer can undo it. */
export const T_WAITING = 1;

// ---- activity counters (counters.ts) -------------------------------------------------------
/** Float64 counters per thread slot (one 64-byte line). */
export const COUNTER_SLOTS = 8;

// ---- lease table ----------------------------------------------------------------------------
export const LEASE_WORDS = 8;
/** Charged segments + incarnation + closed bit; see lease-table.ts. */
export const L_USED = 0;
export const L_LIMIT = 1;
export const L_PEAK = 2;
export const L_RESERVE = 3;
export const L_RES_USED = 4;
/** Unique lease id (never reused within an arena), 0 when the slot is free. */
export const L_UID = 5;
/** Segments released by `close()` (leaks) over the lease's life. */
export const L_LEAKED = 6;
/** Transfers out of the lease in flight (low bits) and the CLOSING bit; see lease-table.ts. */
export const L_OUT = 7;

// ---- segment table --------------------------------------------------------------------------
export const SEG_WORDS = 4;
/** Generation: bumped by CAS on every release and transfer. */
export const S_GEN = 0;
/** Where the segment is: FREE | CACHED(thread) | OWNED(lease slot); see segment-table.ts. */
export const S_STATE = 1;
/** Uid of the last lease that owned the segment; 0 = known zero; -1 = poisoned (debug). */
export const S_LAST = 2;
/** Next segment in the central list (-1 = none). */
export const S_NEXT = 3;

/** Offsets derived from the options; one instance per arena, identical in every thread. */
export interface Layout {
  readonly threadBase: number;
  /** Byte offset of the activity counters (Float64, COUNTER_SLOTS per thread slot). */
  readonly counterByteBase: number;
  readonly leaseBase: number;
  readonly segBase: number;
  readonly controlWords: number;
  readonly controlBytes: number;
  readonly maxSegments: number;
  readonly maxLeases: number;
  readonly maxThreads: number;
  readonly segmentSize: number;
  readonly segmentShift: number;
  /** Segments per batch moved between a thread cache and the central list. */
  readonly batch: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Batch size: 32 for large arenas, smaller for small ones so caches never hoard the arena. */
export function batchFor(segmentCount: number): number {
  return Math.max(1, Math.min(32, Math.floor(segmentCount / 64)));
}

export function computeLayout(
  o: Pick<ResolvedArenaOptions, 'maxSegments' | 'maxLeases' | 'maxThreads' | 'segmentSize' | 'segmentShift'> & {
    batch: number;
  },
): Layout {
  const threadBase = HEADER_WORDS;
  const counterBase = alignUp(threadBase + o.maxThreads * THREAD_WORDS, LINE_WORDS);
  const leaseBase = alignUp(counterBase + o.maxThreads * COUNTER_SLOTS * 2, LINE_WORDS);
  const segBase = alignUp(leaseBase + o.maxLeases * LEASE_WORDS, LINE_WORDS);
  const controlWords = alignUp(segBase + o.maxSegments * SEG_WORDS, LINE_WORDS);
  return Object.freeze({
    threadBase,
    counterByteBase: counterBase * 4,
    leaseBase,
    segBase,
    controlWords,
    controlBytes: controlWords * 4,
    maxSegments: o.maxSegments,
    maxLeases: o.maxLeases,
    maxThreads: o.maxThreads,
    segmentSize: o.segmentSize,
    segmentShift: o.segmentShift,
    batch: o.batch,
  });
}

/** Word index of a segment's word `w` (S_GEN, S_STATE, S_LAST, S_NEXT). */
export const segWord = (l: Layout, index: number, w: number): number => l.segBase + index * SEG_WORDS + w;
/** Word index of a lease slot's word `w`. */
export const leaseWord = (l: Layout, slot: number, w: number): number => l.leaseBase + slot * LEASE_WORDS + w;
/** Word index of a thread slot's word `w`. */
export const threadWord = (l: Layout, slot: number, w: number): number => l.threadBase + slot * THREAD_WORDS + w;

/**
 * Lease slots are 32 bytes. A SharedArrayBuffer is only 16-byte aligned on Node (malloc), so a
 * "line" of the layout may straddle two physical cache lines: words that must not share a line
 * need 64 bytes BETWEEN them, whatever the alignment. Slots are therefore handed out with a
 * stride of 4 (0, 4, 8, …, then 2, 6, …, then 1, 5, …, then 3, 7, …): leases opened one after
 * the other sit at least 96 bytes apart until a quarter of the table is in use, so one lease's
 * hot USED word never shares a line with another busy lease's words. (Regression, found by the
 * bench: with a stride of 2, when the buffer sat at 48 mod 64, slot 0's UID shared a line with
 * slot 2's USED and two threads scaled 0.9–1.5x instead of ~1.9x.)
 */
const STRIDE_ORDER = [0, 2, 1, 3] as const;

export function leaseSlotForCursor(cursor: number, maxLeases: number): number {
  let c = cursor % maxLeases;
  for (const r of STRIDE_ORDER) {
    const inClass = r < maxLeases ? Math.floor((maxLeases - 1 - r) / 4) + 1 : 0;
    if (c < inClass) return r + 4 * c;
    c -= inClass;
  }
  return c; // unreachable: the classes cover every slot
}
