/**
 * Per-lease accounting words (8 Int32 words per lease slot, two slots per cache line).
 *
 * Owned words:
 *   USED      bits 0..20  charged segments (count; maxSegments < 2^21)
 *             bits 21..30 incarnation: a per-slot reuse counter (+1 mod 1024 each time the
 *                         slot is opened), so two successive leases of one slot always differ
 *             bit  31     CLOSED
 *             Written ONLY by compareExchange (charge, close) and Atomics.sub (uncharge).
 *   LIMIT     hard limit in segments. Written once by the creator before the lease is shared.
 *   PEAK      highest count ever charged; raised by a CAS loop (max), never lowered.
 *   RESERVE   reserved segments. Written once by the creator.
 *   RES_USED  segments currently drawn from the reservation; CAS up (draw) / CAS down (restore).
 *   UID       unique id of the lease in this slot (0 = slot free). CAS 0 → uid claims the slot;
 *             a store of 0 by the closer frees it.
 *   LEAKED    segments that close() had to release (the lease leaked them); Atomics.add.
 *
 * Invariants:
 *   count(USED) <= LIMIT, at every instant: a charge commits only through a CAS whose new value
 *     stays within LIMIT; nothing else ever raises the count. So no observer, audit included,
 *     can see a lease over its limit, not even transiently.
 *   owned(lease) <= count(USED) at every instant: allocation charges BEFORE it takes a segment;
 *     release bumps the generation and moves the segment BEFORE it uncharges. At quiescence
 *     owned == count (audit checks it).
 *   A charge can never land on a closed lease or on a later lease reusing the slot: the CAS
 *     expects the exact incarnation bits with CLOSED clear, and the incarnation is a per-slot
 *     reuse counter, so only the 1024th reuse of the same slot could match, while a stale Lease
 *     object stalls between its read and its CAS. Slots are handed out round-robin, so that
 *     takes 1024 x maxLeases openings, or 1024 openings when the table is nearly full and one
 *     free slot takes every opening. In that last case the charger's re-read of the slot's UID
 *     after its CAS undoes the charge, but the successor's count held one stale unit for that
 *     moment: the one known way a count can briefly exceed what its lease charged, needing
 *     1024 lease openings inside one stall. (Regression: the incarnation used to be uid & 511;
 *     with 4096 round-robin slots a slot's successor always had the same bits, and a closed
 *     Lease object allocated into it.)
 */
import { L_LEAKED, L_LIMIT, L_OUT, L_PEAK, L_RES_USED, L_RESERVE, L_UID, L_USED, W_LEASE_CURSOR, W_LEASE_UID, leaseSlotForCursor, leaseWord, type Layout } from './layout.js';

export const COUNT_MASK = (1 << 21) - 1;
export const CLOSED_BIT = 1 << 31;
const INC_SHIFT = 21;
const INC_MASK = 0x3ff;

/** The USED word of an open lease with no charge: its incarnation bits, CLOSED clear. */
export const usedBase = (incarnation: number): number => (incarnation & INC_MASK) << INC_SHIFT;

export type ChargeResult = 0 | 1 | 2;
export const CHARGED: ChargeResult = 0;
export const OVER_LIMIT: ChargeResult = 1;
export const CLOSED: ChargeResult = 2;

/** Claim a free slot and initialise it. Returns the slot, or -1 when the table is full. */
export function openLease(i32: Int32Array, l: Layout, limit: number, reserve: number): { slot: number; uid: number; base: number } | null {
  // Uids start at 1 and are never reused (31 bits: 2^31 leases per arena lifetime).
  const uid = (Atomics.add(i32, W_LEASE_UID, 1) + 1) | 0;
  for (let attempt = 0; attempt < l.maxLeases; attempt++) {
    const cursor = Atomics.add(i32, W_LEASE_CURSOR, 1) >>> 0;
    const slot = leaseSlotForCursor(cursor, l.maxLeases);
    if (Atomics.compareExchange(i32, leaseWord(l, slot, L_UID), 0, uid) !== 0) continue;
    // The slot is ours; nobody reads its words until the descriptor is shared.
    Atomics.store(i32, leaseWord(l, slot, L_LIMIT), limit);
    Atomics.store(i32, leaseWord(l, slot, L_RESERVE), reserve);
    Atomics.store(i32, leaseWord(l, slot, L_RES_USED), 0);
    Atomics.store(i32, leaseWord(l, slot, L_PEAK), 0);
    Atomics.store(i32, leaseWord(l, slot, L_LEAKED), 0);
    Atomics.store(i32, leaseWord(l, slot, L_OUT), 0);
    // Next incarnation of this slot; the previous occupant's word still holds its own.
    const usedIdx = leaseWord(l, slot, L_USED);
    const base = usedBase(((Atomics.load(i32, usedIdx) >>> INC_SHIFT) & INC_MASK) + 1);
    Atomics.store(i32, usedIdx, base);
    return { slot, uid, base };
  }
  return null;
}

/**
 * Charge `n` segments to the lease whose USED word is `usedIdx`.
 * Races with: charges and uncharges from every thread that holds this lease, and close().
 * Losing the CAS means the count moved: re-read and re-check the limit. Winning publishes the
 * new count; the limit held in the value it published.
 */
export function charge(i32: Int32Array, usedIdx: number, base: number, limit: number, n: number): ChargeResult {
  for (;;) {
    const u = i32[usedIdx]!; // a stale plain read only makes the CAS fail
    if ((u & ~COUNT_MASK) !== base) return CLOSED;
    if ((u & COUNT_MASK) + n > limit) return OVER_LIMIT;
    if (Atomics.compareExchange(i32, usedIdx, u, u + n) === u) return CHARGED;
  }
}

/**
 * Test-only MUTATION (options.unsafeLateLimitCheck): charge first, check the limit after the
 * charge is published, undo when over. Between the add and the undo another thread (or
 * audit) sees the lease over its limit: the interleaving checker must find that schedule.
 * Never used unless that option is set.
 */
export function chargeLate(i32: Int32Array, usedIdx: number, base: number, limit: number, n: number): ChargeResult {
  const before = Atomics.add(i32, usedIdx, n);
  if ((before & ~COUNT_MASK) !== base) {
    Atomics.sub(i32, usedIdx, n);
    return CLOSED;
  }
  if ((before & COUNT_MASK) + n > limit) {
    Atomics.sub(i32, usedIdx, n);
    return OVER_LIMIT;
  }
  return CHARGED;
}

/** Give back `n` charged segments. The count bits never borrow: count >= n by the invariant. */
export function uncharge(i32: Int32Array, usedIdx: number, n: number): void {
  Atomics.sub(i32, usedIdx, n);
}

/** Raise PEAK to at least `count`. Races with other raisers only; the max always survives. */
export function raisePeak(i32: Int32Array, peakIdx: number, count: number): void {
  for (;;) {
    const p = Atomics.load(i32, peakIdx);
    if (p >= count || Atomics.compareExchange(i32, peakIdx, p, count) === p) return;
  }
}

/**
 * Set CLOSED on the lease if it is still the incarnation `base`. Returns the count charged at
 * that instant, or -1 if the lease was already closed (or the slot reused).
 */
export function markClosed(i32: Int32Array, usedIdx: number, base: number): number {
  for (;;) {
    const u = Atomics.load(i32, usedIdx);
    if ((u & ~COUNT_MASK) !== base) return -1;
    if (Atomics.compareExchange(i32, usedIdx, u, u | CLOSED_BIT) === u) return u & COUNT_MASK;
  }
}

/** Draw one segment from the reservation if any is left. */
export function drawReservation(i32: Int32Array, l: Layout, slot: number, reserve: number): boolean {
  const w = leaseWord(l, slot, L_RES_USED);
  for (;;) {
    const r = Atomics.load(i32, w);
    if (r >= reserve) return false;
    if (Atomics.compareExchange(i32, w, r, r + 1) === r) return true;
  }
}

/** Give one drawn segment back to the reservation; false if nothing was drawn. */
export function restoreReservation(i32: Int32Array, l: Layout, slot: number): boolean {
  const w = leaseWord(l, slot, L_RES_USED);
  for (;;) {
    const r = Atomics.load(i32, w);
    if (r <= 0) return false;
    if (Atomics.compareExchange(i32, w, r, r - 1) === r) return true;
  }
}

/** A plain snapshot of a slot's words (stats and audit). */
export interface LeaseWords {
  uid: number;
  used: number;
  closed: boolean;
  limit: number;
  peak: number;
  reserve: number;
  resUsed: number;
  leaked: number;
}

export function readLease(i32: Int32Array, l: Layout, slot: number): LeaseWords {
  const u = Atomics.load(i32, leaseWord(l, slot, L_USED));
  return {
    uid: Atomics.load(i32, leaseWord(l, slot, L_UID)),
    used: u & COUNT_MASK,
    closed: (u & CLOSED_BIT) !== 0,
    limit: Atomics.load(i32, leaseWord(l, slot, L_LIMIT)),
    peak: Atomics.load(i32, leaseWord(l, slot, L_PEAK)),
    reserve: Atomics.load(i32, leaseWord(l, slot, L_RESERVE)),
    resUsed: Atomics.load(i32, leaseWord(l, slot, L_RES_USED)),
    leaked: Atomics.load(i32, leaseWord(l, slot, L_LEAKED)),
  };
}

/** Free the slot (the closer, after every segment is gone). */
/**
 * L_OUT: transfers out of a lease in flight, and its CLOSING bit. It makes close() atomic
 * against transfers out of the closing lease (found by the interleaving checker: a transfer
 * that passed its checks before the close's mark could still move its segment after the close
 * had released others that a third thread reused; no sequential order explains that).
 *   transfer out   pinOut (CAS +1, refused once CLOSING is set) before it charges its target;
 *                  unpinOut (−1) after its last write. A refused pin waits until the lease reads
 *                  closed, then fails ERR_LEASE_CLOSED (it linearizes after the close's mark).
 *   close()        sets CLOSING, waits until no pin is left, and only then marks USED closed:
 *                  every transfer that got a pin has moved (or failed) before the mark.
 * Dekker pair, all seq-cst: a pinner writes L_OUT then reads nothing else of it; the closer
 * sets CLOSING then reads the count. Either the pin's CAS sees CLOSING (refused) or the closer
 * sees the pin (waits). openLease resets the word.
 */
export const OUT_CLOSING = 1 << 30;

export function pinOut(i32: Int32Array, outIdx: number): boolean {
  for (;;) {
    const v = Atomics.load(i32, outIdx);
    if ((v & OUT_CLOSING) !== 0) return false;
    if (Atomics.compareExchange(i32, outIdx, v, v + 1) === v) return true;
  }
}

export function unpinOut(i32: Int32Array, outIdx: number): void {
  Atomics.sub(i32, outIdx, 1);
}

/** Set CLOSING; returns the transfers out still in flight. */
export function beginClosing(i32: Int32Array, outIdx: number): number {
  return (Atomics.or(i32, outIdx, OUT_CLOSING) | OUT_CLOSING) & ~OUT_CLOSING;
}

export function pinsInFlight(i32: Int32Array, outIdx: number): number {
  return Atomics.load(i32, outIdx) & ~OUT_CLOSING;
}

export function freeLeaseSlot(i32: Int32Array, l: Layout, slot: number): void {
  Atomics.store(i32, leaseWord(l, slot, L_UID), 0);
}
