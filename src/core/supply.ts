/**
 * Where a lease's segments come from and where they go back: this thread's cache, the central
 * list (unreserved claims, growth) and the lease's own reservation. Every function keeps the
 * counts invariant of free-list.ts: claims are taken before segments move, gives come after
 * pushes, and a reservation draw is raised before its pop and lowered after its push.
 *
 * This module owns no shared word: it drives free-list.ts (W_AVAIL, the central list),
 * cache.ts and lease-table.ts (L_RES_USED).
 */
import type { ArenaCore } from './arena-core.js';
import { MAX_BATCH } from './cache.js';
import { L_RES_USED, leaseWord } from './layout.js';
import { drawReservation, restoreReservation } from './lease-table.js';

/**
 * True while this lease has drawn on its reservation. A segment leaving by transfer is then
 * always backed by a general unit: deciding on "would it hold fewer than it drew" read the
 * charged count, which includes another thread's allocation in flight, and could skip the
 * backfill and shrink the reservation for good (regression, found by the interleaving checker).
 */
export function hasDraws(ctx: ArenaCore, slot: number): boolean {
  return Atomics.load(ctx.i32, leaseWord(ctx.layout, slot, L_RES_USED)) > 0;
}

/** Claim `n` unreserved segments' worth of capacity (this thread's cache counts). */
export function claimGeneral(ctx: ArenaCore, n: number): boolean {
  if (ctx.central.claimExactly(n)) return true;
  ctx.cache.flushAll();
  return ctx.central.claimExactly(n);
}

/**
 * Take exactly `n` free segments or none. Counts are claimed before any segment moves
 * (this thread's cache, then unreserved central segments, growth, then this lease's
 * reservation), so a refused request moves no segment. Giving back what it claimed does wake
 * the other waiters; the wait loop (waiters.ts) discounts its own thread's bumps, so a waiter
 * retrying it does not wake itself into a busy loop.
 */
export function takeExactly(ctx: ArenaCore, slot: number, reserve: number, n: number): Int32Array | null {
  const cache = ctx.cache;
  const out = new Int32Array(n);
  if (cache.count + ctx.central.available() < n) ctx.drainQuarantine();
  const fromCache = Math.min(cache.count, n);
  const need = n - fromCache;
  let claimed = 0;
  let drawn = 0;
  if (need > 0 && ctx.segCount() >= ctx.maxSegments) {
    // A refusal that is certain claims nothing, so it gives nothing back and wakes nobody:
    // two waiters whose requests both exceed what is free would otherwise wake each other with
    // their give-backs, forever (review finding). A give after this read bumps the epoch, so
    // a waiter refused here is woken by it.
    const reserveLeft = reserve > 0 ? reserve - Atomics.load(ctx.i32, leaseWord(ctx.layout, slot, L_RES_USED)) : 0;
    if (ctx.central.available() + reserveLeft < need) return null;
  }
  if (need > 0) {
    claimed = ctx.central.claim(need);
    while (claimed < need && ctx.grow()) claimed += ctx.central.claim(need - claimed);
    if (reserve > 0) {
      while (claimed + drawn < need && drawReservation(ctx.i32, ctx.layout, slot, reserve)) drawn++;
    }
    if (claimed + drawn < need) {
      for (let k = 0; k < drawn; k++) undoDraw(ctx, slot);
      ctx.central.give(claimed);
      return null;
    }
    // Both claims are backed by segments on the central list (free-list.ts, counts).
    const popped = ctx.central.popExactly(need, out, fromCache, ctx.scratch);
    if (popped < need) {
      // The list held less than the counts promised (a thread died, or stalls, holding a
      // popped surplus). Undo without over-crediting: push back what we popped, then restore
      // reservation draws and claims only up to that many; the shortfall stays out of the
      // counts until repair (regression: giving back claimed - (popped - drawn) raised
      // W_AVAIL by up to `popped` and broke reservations).
      for (let k = 0; k < popped; k += MAX_BATCH) ctx.central.push(out, fromCache + k, Math.min(MAX_BATCH, popped - k));
      const restore = Math.min(drawn, popped);
      for (let k = 0; k < restore; k++) undoDraw(ctx, slot);
      ctx.central.give(Math.min(claimed, popped - restore));
      return null;
    }
  }
  for (let k = 0; k < fromCache; k++) out[k] = cache.stack[--cache.count]!;
  return out;
}

/** Draw one segment from this lease's reservation (the arena is otherwise exhausted). */
export function takeReserved(ctx: ArenaCore, slot: number, reserve: number): number {
  if (reserve === 0) return -1;
  if (!drawReservation(ctx.i32, ctx.layout, slot, reserve)) return -1;
  const one = ctx.one;
  if (ctx.central.popExactly(1, one, 0, ctx.scratch) === 1) return one[0]!;
  undoDraw(ctx, slot);
  return -1;
}

/**
 * Undo one reservation draw whose segment was never taken. If a concurrent release already
 * restored the draw (returnToReservation), the unit is unreserved capacity now: give it to
 * W_AVAIL (regression, found by the interleaving checker: ignoring a false restore lost a
 * unit of capacity for good).
 */
export function undoDraw(ctx: ArenaCore, slot: number): void {
  if (!restoreReservation(ctx.i32, ctx.layout, slot)) ctx.central.give(1);
}

/**
 * Push a segment this thread holds exclusively back behind the reservation. Push first,
 * then restore, so the central list always holds what AVAIL plus reservations promise.
 */
export function returnToReservation(ctx: ArenaCore, slot: number, idx: number): void {
  ctx.central.push([idx], 0, 1);
  if (!restoreReservation(ctx.i32, ctx.layout, slot)) ctx.central.give(1);
}
