/**
 * Per-thread segment cache: a private LIFO stack of free segments, refilled from and flushed
 * to the central list one batch at a time (the magazine idea of Bonwick & Adams, "Magazines
 * and Vmem", USENIX 2001, with mimalloc's thread-local free lists as the model).
 *
 * The common allocate/release path touches only this stack and the segment's own words: no
 * shared word that another thread writes. The central head is touched at most once per
 * `batch` operations: refill when empty takes `batch`, flush when full (2 x batch) gives
 * `batch` back, so between two central operations lie at least `batch` cache operations.
 *
 * Owned words: STATE of every segment in the stack reads CACHED(thread) (written here, by
 * the only thread that holds them), so a reclaimer can find them if this thread dies.
 * Cached segments are charged to no lease. While any thread waits for memory (W_WAITERS > 0),
 * released segments bypass the cache and go straight to the central list; when a thread finds
 * the arena exhausted it bumps W_DRAIN, and every other thread flushes its whole cache at its
 * next release. An idle thread holds at most 2 x batch segments; the TaskManager's slots flush
 * theirs after every task.
 */
import { W_DRAIN, W_WAITERS, type Layout } from './layout.js';
import type { CentralFreeList } from './free-list.js';
import { stateCached, stateIdx } from './segment-table.js';

/** What the cache needs from its arena context beyond the central list. */
export interface CacheHooks {
  /** Out of segments: drain the debug quarantine or grow; true if segments may have been added. */
  replenish(): boolean;
  /** Called after a refill with the central list's count (pressure, peak). */
  afterRefill(): void;
  /** Called after segments were given to the central list (pressure relief, wake waiters). */
  afterGive(): void;
}

export const MAX_BATCH = 32;

export class ThreadCache {
  readonly stack: Int32Array;
  count = 0;
  private readonly scratch = new Int32Array(MAX_BATCH);
  private readonly cachedState: number;
  /** W_DRAIN as this thread last saw it. */
  private drainSeen = 0;

  constructor(
    private readonly i32: Int32Array,
    private readonly layout: Layout,
    private readonly central: CentralFreeList,
    thread: number,
    private readonly batch: number,
    private readonly hooks: CacheHooks,
  ) {
    this.stack = new Int32Array(batch * 2);
    this.cachedState = stateCached(thread);
  }

  /** Take one free segment, refilling from the central list; -1 when the arena is exhausted. */
  take(): number {
    if (this.count === 0 && !this.refill()) return -1;
    if (this.count === 0) return -1; // defensive: nothing a hook does may leave us at -1
    return this.stack[--this.count]!;
  }

  /** Give a segment this thread holds exclusively back to the cache. */
  put(index: number): void {
    this.i32[stateIdx(this.layout, index)] = this.cachedState;
    this.stack[this.count++] = index;
    if (this.count === this.stack.length) this.flush(this.batch);
    else if (this.i32[W_WAITERS] !== 0) this.flush(this.count);
    else if (this.i32[W_DRAIN] !== this.drainSeen) {
      // Another thread ran dry while this one hoards: give everything back once.
      this.drainSeen = this.i32[W_DRAIN]!;
      this.flush(this.count);
    }
  }

  /** Ask every thread to flush its cache at its next release (this thread found the arena dry). */
  requestDrain(): void {
    this.drainSeen = Atomics.add(this.i32, W_DRAIN, 1) + 1;
  }

  /** Move the top `k` cached segments to the central list as one or more batches. */
  flush(k: number): void {
    let left = Math.min(k, this.count);
    while (left > 0) {
      const n = Math.min(left, MAX_BATCH);
      this.count -= n;
      this.central.push(this.stack, this.count, n);
      this.central.give(n);
      left -= n;
    }
    this.hooks.afterGive();
  }

  /** Empty the cache (detach, close). */
  flushAll(): void {
    if (this.count > 0) this.flush(this.count);
  }

  private refill(): boolean {
    let n = this.central.claim(this.batch);
    if (n === 0) {
      // The hook may add segments to this very cache (a drained debug quarantine) or to the
      // central list (growth).
      if (!this.hooks.replenish()) return this.count > 0;
      if (this.count > 0) return true;
      n = this.central.claim(this.batch);
      if (n === 0) return false;
    }
    // A shortfall stays out of W_AVAIL (see popExactly).
    const got = this.central.popExactly(n, this.stack, this.count, this.scratch);
    const l = this.layout;
    for (let k = this.count; k < this.count + got; k++) this.i32[stateIdx(l, this.stack[k]!)] = this.cachedState;
    this.count += got;
    this.hooks.afterRefill();
    return got > 0;
  }
}
