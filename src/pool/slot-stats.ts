/**
 * The figures `tm.stats()` reports, and the per-slot counters behind them (main-thread state).
 */
import type { ArenaStats } from '../core/audit.js';

/** How a task (or actor) ended, as the counters see it. */
export type Outcome = 'succeeded' | 'failed' | 'crashed' | 'aborted';

/** One slot in {@link TaskManagerStats}. Memory figures are bytes. */
export interface SlotStats {
  /** The slot's index (0 … slots-1); `ctx.slot` of its tasks. */
  readonly slot: number;
  /** `threadId` of the slot's current thread; undefined while a replacement starts. */
  readonly threadId: number | undefined;
  /** True while the slot has a ready thread. */
  readonly ready: boolean;
  /** Threads the slot has had: 1, plus one per replacement after a death. */
  readonly threads: number;
  /** Tasks and actors started on the slot. */
  readonly run: number;
  /** …that resolved (an actor: that was closed). */
  readonly succeeded: number;
  /** …that threw, or whose result could not be delivered. */
  readonly failed: number;
  /** …whose thread died under them (ERR_TASK_CRASHED). */
  readonly crashed: number;
  /** …that were aborted while running (ERR_ABORTED), killed or not. */
  readonly aborted: number;
  /** Aborted tasks (or closing actors) that ignored their signal past abortGrace: their thread was terminated. */
  readonly killed: number;
  /** Segments found still held by a settled task's lease, and released. */
  readonly leaked: number;
  /** Tasks and actors on the slot now (started, not yet settled). */
  readonly running: number;
  /** Bytes the leases of the slot's running tasks hold now. */
  readonly memoryUsed: number;
  /** Bytes admitted: the sum of the running tasks' `memory` (never above memoryLimit). */
  readonly memoryReserved: number;
  /** slotMemory. */
  readonly memoryLimit: number;
  /** Highest memoryReserved so far. */
  readonly memoryPeak: number;
}

/** The result of `tm.stats()`. */
export interface TaskManagerStats {
  readonly slots: readonly SlotStats[];
  readonly totals: {
    readonly run: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly crashed: number;
    /** Aborted while running, plus aborted while waiting for admission (never started). */
    readonly aborted: number;
    readonly killed: number;
    readonly leaked: number;
    readonly running: number;
    /** Tasks and actors waiting for admission (the queue is shared by all slots). */
    readonly queued: number;
    /** run() calls refused with ERR_QUEUE_FULL. */
    readonly rejected: number;
    /** Segments taken back from the caches of dead threads (arena.reclaimThread). */
    readonly reclaimed: number;
    /** Segments the final repair at close() recovered (stranded mid-operation by a killed thread). */
    readonly repaired: number;
    /** Threads started, all slots together. */
    readonly threads: number;
  };
  /** The arena's own figures. */
  readonly arena: ArenaStats;
}

/** Mutable per-slot counters. */
export class SlotCounters {
  threads = 0;
  run = 0;
  succeeded = 0;
  failed = 0;
  crashed = 0;
  aborted = 0;
  killed = 0;
  leaked = 0;

  count(outcome: Outcome, killed: boolean, leaked: number): void {
    this[outcome]++;
    if (killed) this.killed++;
    this.leaked += leaked;
  }
}
