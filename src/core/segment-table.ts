/**
 * Per-segment words: GEN, STATE, LAST, NEXT (4 Int32 words per segment, out of band).
 *
 * Owned words and who writes them:
 *   GEN[i]   the generation; ODD while a lease owns the segment, EVEN while it is free or in
 *            transit. Transitions:
 *              bind      even → odd    seq-cst store by the exclusive holder, after STATE/LAST
 *              release   odd → even    compareExchange (any thread), also close() and transfer
 *              transfer  odd → even (CAS), STATE = OWNED(target), even → odd (store)
 *            The odd → even CAS is the single linearization point of every ownership change:
 *            of all threads racing to release, transfer or close-scan one epoch, exactly one
 *            wins; the others see ERR_SEGMENT_RELEASED. Because STATE is written only while GEN
 *            is even, a reader that sees the same odd GEN before and after reading STATE (the
 *            CAS confirms "after") knows STATE named the owner of that epoch. This is what lets
 *            close() scan for its segments while other threads allocate and release on the
 *            same lease (regression: with GEN bumped only on release, a closer could win the
 *            CAS for an epoch it did not own and recycle a segment twice).
 *   STATE[i] where the segment is:
 *              FREE              linked into the central list (leaders carry the batch length)
 *              CACHED(t)         in thread slot t's private cache
 *              OWNED(s)          owned by the lease in slot s
 *              QUARANTINED(t)    debug only: held by thread t before reuse
 *            Written with a plain store by the one thread that holds the segment exclusively:
 *            the thread that popped it from the central list, the thread whose cache holds it,
 *            or the thread that just won the GEN CAS. No other thread can hold it at the same
 *            time, so no two writers ever race on STATE.
 *   LAST[i]  uid of the last lease that owned the segment (0 = bytes known zero, -1 =
 *            poisoned). Written by the exclusive holder on allocation.
 *   NEXT[i]  link in the central list; written by the pusher before the head CAS publishes it.
 *
 * Invariant between operations (quiescent): every segment index < SEG_COUNT is in exactly one
 * of {central list (STATE FREE), a live thread cache (CACHED), a lease (OWNED)}, and for every
 * lease slot s: count(STATE == OWNED(s)) == charged(s).
 *
 * Reader assumptions: a plain read of GEN may be stale; any decision taken on it is confirmed
 * by the CAS. A plain read of STATE is exact for the exclusive holder, advisory for others.
 * The 32-bit GEN wraps only after 2^31 owned epochs of ONE segment; an epoch is at least an
 * allocation and a release (>= 2 atomic operations, >= 20 ns), so that is >= 43 s, far longer
 * than any stall of a thread holding a stale handle (a GC pause), so a stale handle is never
 * mistaken for a live one in practice.
 */
import { S_GEN, S_LAST, S_NEXT, S_STATE, segWord, type Layout } from './layout.js';

export const KIND_SHIFT = 28;
export const KIND_MASK = 3 << KIND_SHIFT;
export const ID_MASK = (1 << KIND_SHIFT) - 1;
export const KIND_FREE = 0;
export const KIND_CACHED = 1 << KIND_SHIFT;
export const KIND_OWNED = 2 << KIND_SHIFT;
export const KIND_QUARANTINED = 3 << KIND_SHIFT;

export const stateCached = (thread: number): number => KIND_CACHED | thread;
export const stateOwned = (leaseSlot: number): number => KIND_OWNED | leaseSlot;
export const stateQuarantined = (thread: number): number => KIND_QUARANTINED | thread;
/** FREE state of a batch leader: the low bits hold the batch length. */
export const stateFreeLeader = (count: number): number => KIND_FREE | count;

/** LAST value meaning "the bytes are zero". */
export const LAST_ZERO = 0;
/** LAST value meaning "debug poison was written on release". */
export const LAST_POISONED = -1;

/** Direct word indices of segment `i`, for code that touches several of its words. */
export const genIdx = (l: Layout, i: number): number => segWord(l, i, S_GEN);
export const stateIdx = (l: Layout, i: number): number => segWord(l, i, S_STATE);
export const lastIdx = (l: Layout, i: number): number => segWord(l, i, S_LAST);
export const nextIdx = (l: Layout, i: number): number => segWord(l, i, S_NEXT);

/**
 * End the owned epoch `gen` (odd) of segment `i`: CAS gen → gen + 1 (even).
 * Races with: every other release/transfer of the same segment and with close() scans.
 * Losing means the segment epoch `gen` is over (someone released or transferred it first):
 * the caller reports ERR_SEGMENT_RELEASED and touches nothing. Winning publishes the end of the
 * epoch; the winner is now the exclusive holder and may write STATE.
 */
export function bumpGeneration(i32: Int32Array, l: Layout, i: number, gen: number): boolean {
  return Atomics.compareExchange(i32, genIdx(l, i), gen | 0, (gen + 1) | 0) === (gen | 0);
}

/** A handle is a plain number: index * 2^32 + (gen as uint32); exact below 2^53. */
export const makeHandle = (index: number, gen: number): number => index * 4294967296 + (gen >>> 0);
export const handleIndex = (handle: number): number => Math.floor(handle / 4294967296);
export const handleGen = (handle: number): number => (handle % 4294967296) | 0;
