/**
 * Activity counters: how many allocations, releases, refusals by code, waits, scrubs and
 * transfers each thread made. Counting must cost the hot path no atomic operation, so each
 * thread counts in a private Float64Array and publishes it to its thread slot's line of the
 * COUNTERS region (8 Float64 per slot) at its cold points: refill, flush, detach, flushCache,
 * and whenever it reads stats itself.
 *
 * Owned words: COUNTERS[slot][k], written with plain stores by the thread holding the slot
 * only. Values are cumulative across the slot's occupants: a thread that claims a slot starts
 * from what the previous one published, so the sum over all slots is the arena's total and it
 * never goes down (Prometheus counters). Readers (stats) sum plain reads: exact for threads
 * that published since their last operation, otherwise behind by at most one batch of work.
 * Float64 counts are exact up to 2^53.
 */
import { COUNTER_SLOTS, type Layout } from './layout.js';

export const C_ALLOCATIONS = 0;
export const C_RELEASES = 1;
export const C_REFUSED_LIMIT = 2;
export const C_REFUSED_EXHAUSTED = 3;
export const C_WAITS = 4;
export const C_SCRUBS = 5;
export const C_TRANSFERS = 6;
export const C_LEAKED = 7;

/** Totals over every thread slot (see ArenaStats.activity). */
export interface ActivityCounts {
  /** Segments handed to leases by allocation. */
  allocations: number;
  /** Segments given back by release or close. */
  releases: number;
  /** Allocations refused with ERR_LEASE_LIMIT. */
  refusedLimit: number;
  /** Allocations refused (or returned null) because the arena was exhausted. */
  refusedExhausted: number;
  /** allocateAsync requests that had to wait. */
  waits: number;
  /** Segments zeroed before a different lease received them. */
  scrubs: number;
  /** Segments moved between leases by transfer. */
  transfers: number;
  /** Segments a lease still held when it was closed (close() released them): leaks. */
  leaked: number;
}

export class ThreadCounters {
  /** The private counters: increment freely, then publish(). */
  readonly local = new Float64Array(COUNTER_SLOTS);
  private readonly shared: Float64Array;

  constructor(control: SharedArrayBuffer, l: Layout, slot: number) {
    this.shared = new Float64Array(control, l.counterByteBase + slot * COUNTER_SLOTS * 8, COUNTER_SLOTS);
    this.local.set(this.shared);
  }

  publish(): void {
    this.shared.set(this.local);
  }
}

export function sumCounters(control: SharedArrayBuffer, l: Layout): ActivityCounts {
  const all = new Float64Array(control, l.counterByteBase, l.maxThreads * COUNTER_SLOTS);
  const t = new Float64Array(COUNTER_SLOTS);
  for (let s = 0; s < l.maxThreads; s++) for (let k = 0; k < COUNTER_SLOTS; k++) t[k]! += all[s * COUNTER_SLOTS + k]!;
  return {
    allocations: t[C_ALLOCATIONS]!,
    releases: t[C_RELEASES]!,
    refusedLimit: t[C_REFUSED_LIMIT]!,
    refusedExhausted: t[C_REFUSED_EXHAUSTED]!,
    waits: t[C_WAITS]!,
    scrubs: t[C_SCRUBS]!,
    transfers: t[C_TRANSFERS]!,
    leaked: t[C_LEAKED]!,
  };
}
