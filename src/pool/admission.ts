/**
 * Memory-aware admission: which slot runs a request, and when.
 *
 * Each slot has a budget of `slotSegments` segments and `perSlot` concurrency units. A request
 * (task or actor) asks for `segments` (its lease limit) and one unit. It is placed on a slot only
 * when both fit, and holds them until it has fully settled (its lease closed, its thread's
 * segments reclaimed if the thread died), so for every slot s, at every instant:
 *
 *     Σ segments of the requests placed on s  ≤  slotSegments     (no slot is ever oversubscribed)
 *     count of the requests placed on s       ≤  perSlot
 *
 * A lease can never hold more than its limit (core), so the memory the tasks of a slot hold
 * never exceeds slotMemory either.
 *
 * Order: strictly first-in first-out. Only the head of the queue is tried; a request that fits
 * nowhere yet blocks the ones behind it, so a large request is never starved by small ones.
 * Placement: among the open slots where the head fits, the one with the fewest requests, then
 * the least memory placed, then the lowest index (spread work over threads first).
 *
 * Main-thread state only (no shared words). It knows nothing of piscina: the TaskManager opens
 * a slot when its thread is ready and closes it when the thread goes.
 */

/** A request as admission sees it. */
export interface Admissible {
  readonly segments: number;
}

/** One slot's budget as admission keeps it. */
export interface SlotBudget {
  /** Segments placed (the sum of the limits of the requests on the slot). */
  used: number;
  /** Requests placed. */
  running: number;
  /** Most segments ever placed at once. */
  peak: number;
  /** True while the slot has a ready thread to run requests on. */
  open: boolean;
}

export class Admission<T extends Admissible> {
  readonly budgets: SlotBudget[];
  private readonly queue: (T | undefined)[] = [];
  private head = 0;
  private pumping = false;
  private again = false;

  constructor(
    slots: number,
    readonly slotSegments: number,
    readonly perSlot: number,
    private readonly place: (item: T, slot: number) => void,
  ) {
    this.budgets = Array.from({ length: slots }, () => ({ used: 0, running: 0, peak: 0, open: false }));
  }

  /** Requests waiting. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Place `item` now if nothing waits before it and a slot has room; else queue it.
   * Returns true if it was placed (place() has run), false if it was queued.
   */
  submit(item: T): boolean {
    if (this.queued === 0) {
      const s = this.choose(item.segments);
      if (s >= 0) {
        this.take(s, item.segments);
        this.place(item, s);
        return true;
      }
    }
    this.queue.push(item);
    return false;
  }

  /** Drop a waiting request (aborted). Returns false if it was not waiting. */
  remove(item: T): boolean {
    const i = this.queue.indexOf(item, this.head);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  /** Give back what a settled request held on `slot`, then place what now fits. */
  release(slot: number, segments: number): void {
    const b = this.budgets[slot]!;
    b.used -= segments;
    b.running--;
    this.pump();
  }

  /** A slot's thread became ready (true) or went away (false). */
  setOpen(slot: number, open: boolean): void {
    this.budgets[slot]!.open = open;
    if (open) this.pump();
  }

  /** Place queued requests, in order, while the head fits somewhere. Re-entrant calls coalesce. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (this.queued > 0) {
          const item = this.queue[this.head]!;
          const s = this.choose(item.segments);
          if (s < 0) break;
          this.queue[this.head++] = undefined; // drop the reference
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          this.take(s, item.segments);
          this.place(item, s);
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    if (this.queued === 0 && this.head > 0) {
      this.queue.length = 0;
      this.head = 0;
    }
  }

  /** Every waiting request, oldest first (for close()). */
  waiting(): T[] {
    return this.queue.slice(this.head) as T[];
  }

  private take(slot: number, segments: number): void {
    const b = this.budgets[slot]!;
    b.used += segments;
    b.running++;
    if (b.used > b.peak) b.peak = b.used;
  }

  private choose(segments: number): number {
    let best = -1;
    let bestRunning = Infinity;
    let bestUsed = Infinity;
    const budgets = this.budgets;
    for (let s = 0; s < budgets.length; s++) {
      const b = budgets[s]!;
      if (!b.open || b.running >= this.perSlot || b.used + segments > this.slotSegments) continue;
      if (b.running < bestRunning || (b.running === bestRunning && b.used < bestUsed)) {
        best = s;
        bestRunning = b.running;
        bestUsed = b.used;
      }
    }
    return best;
  }
}
