/**
 * Stop flags: the one group of shared words the pool adds. One Int32 word per task or actor in
 * flight, in a SharedArrayBuffer every slot receives once (workerData), so that aborting a task
 * (or closing an actor) reaches its thread without a message: the slot turns the word into a real
 * AbortSignal with Atomics.waitAsync, and no message port is ever polled.
 *
 * Owned words: FLAG[f] for f in [0, capacity), capacity = slots × concurrentTasksPerSlot (one
 * per unit of admission, so a unit always finds a free word).
 *   RUN  (0)  the request that names f may go on
 *   STOP (1)  abort the task / close the actor
 * Protocol:
 *   main   acquire(): f leaves the free stack (plain main-thread state, not shared).
 *          arm(f):    store RUN, BEFORE the request naming f is posted (the post publishes it).
 *          raise(f):  store STOP, then notify: wakes the slot's waiter.
 *          release(f): f returns to the free stack, only AFTER its request settled (its answer
 *                     arrived, or its thread exited): so at most one live request names f, and a
 *                     slot never sees the STOP meant for another request.
 *   slot   watch(f):  Atomics.waitAsync(FLAG[f], RUN). 'not-equal' → STOP already raised; a wake
 *                     with FLAG[f] == RUN is spurious (re-wait). When the request settles the slot
 *                     notifies FLAG[f] itself: a pending waitAsync cannot be cancelled, and one
 *                     left per task would pile up in a long-lived thread. That notify writes
 *                     nothing, and happens before the answer is posted, so it precedes any reuse.
 * Invariant: between operations, FLAG[f] == STOP only for an f whose request was aborted.
 *
 * Node trap: a pending waitAsync does not keep an event loop alive. In a slot the loop is kept
 * alive by piscina's task port (a MessagePort with a listener, ref'd for the thread's whole life),
 * so a task that awaits nothing but `ctx.signal` still sees it fire.
 */

export const RUN = 0;
export const STOP = 1;

export class StopFlags {
  readonly i32: Int32Array;
  /** Main thread only: the words no request names. */
  private readonly free: number[] = [];

  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
  }

  /** Main thread: a buffer with `capacity` words, all free. */
  static create(capacity: number): StopFlags {
    const flags = new StopFlags(new SharedArrayBuffer(Math.max(1, capacity) * 4));
    for (let f = capacity - 1; f >= 0; f--) flags.free.push(f);
    return flags;
  }

  /** Main thread: take a free word (-1 if none: admission makes that impossible). */
  acquire(): number {
    return this.free.pop() ?? -1;
  }

  /** Main thread: give back a word whose request settled. */
  release(f: number): void {
    if (f >= 0) this.free.push(f);
  }

  /** Main thread: reset the word for a new request, before posting it. */
  arm(f: number): void {
    Atomics.store(this.i32, f, RUN);
  }

  /** Main thread: ask the request naming `f` to stop. */
  raise(f: number): void {
    Atomics.store(this.i32, f, STOP);
    Atomics.notify(this.i32, f);
  }

  /**
   * Slot: call `onStop` once when FLAG[f] becomes STOP (at once, synchronously, if it already
   * is). Returns `release`, to call when the request settles; after it `onStop` never runs.
   */
  watch(f: number, onStop: () => void): () => void {
    const i32 = this.i32;
    let live = true;
    let waiting = false;
    const wait = (): void => {
      const w = Atomics.waitAsync(i32, f, RUN);
      if (!w.async) {
        // 'not-equal': STOP is already there ('timed-out' cannot happen without a timeout).
        live = false;
        onStop();
        return;
      }
      waiting = true;
      void w.value.then(() => {
        waiting = false;
        if (!live) return;
        if (Atomics.load(i32, f) === STOP) {
          live = false;
          onStop();
        } else {
          wait();
        }
      });
    };
    wait();
    return () => {
      if (!live) return;
      live = false;
      if (waiting) Atomics.notify(i32, f);
    };
  }
}
