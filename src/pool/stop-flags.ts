/**
 * Stop flags: the one group of shared words the pool adds. One Int32 word per task or actor in
 * flight, in a SharedArrayBuffer every slot receives once (workerData), so that aborting a task
 * (or closing an actor) reaches its thread without a message: the slot turns the word into a real
 * AbortSignal with Atomics.waitAsync, and no message port is ever polled.
 *
 * Owned words: FLAG[f] for f in [0, capacity), capacity = slots × concurrentTasksPerSlot (one
 * per unit of admission, so a unit always finds a free word).
 *   bits     STOP (1): abort the task / close the actor     STARTED (2): the slot began running it
 *            0 = armed, not started; the two bits are set with Atomics.or, never cleared until
 *            the next arm.
 * Protocol:
 *   main   acquire(): f leaves the free stack (plain main-thread state, not shared).
 *          arm(f):    store 0, BEFORE the request naming f is posted (the post publishes it).
 *          raise(f):  or STOP, then notify: wakes the slot's waiter.
 *          started(f): true once the slot began the request: only then may the grace timer kill
 *                     its thread (regression: with concurrentTasksPerSlot > 1, aborting a request
 *                     still queued in a busy thread killed the thread and crashed the innocent
 *                     task that was running).
 *          release(f): f returns to the free stack, only AFTER its request settled (its answer
 *                     arrived, or its thread exited): so at most one live request names f, and a
 *                     slot never sees the STOP meant for another request.
 *   slot   begin(f):  or STARTED; if STOP was already set, the request is not run at all (it is
 *                     answered as aborted).
 *          watch(f):  Atomics.waitAsync on the current value until the STOP bit shows; a wake
 *                     without it is spurious (re-wait). When the request settles the slot
 *                     notifies FLAG[f] itself: a pending waitAsync cannot be cancelled, and one
 *                     left per task would pile up in a long-lived thread. That notify writes
 *                     nothing, and happens before the answer is posted, so it precedes any reuse.
 * Invariant: between operations, the STOP bit of FLAG[f] is set only for an f whose request was
 * aborted, and STARTED only for one whose slot began it.
 *
 * Node trap: a pending waitAsync does not keep an event loop alive. In a slot the loop is kept
 * alive by piscina's task port (a MessagePort with a listener, ref'd for the thread's whole life),
 * so a task that awaits nothing but `ctx.signal` still sees it fire.
 */

export const RUN = 0;
export const STOP = 1;
export const STARTED = 2;

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
    Atomics.or(this.i32, f, STOP);
    Atomics.notify(this.i32, f);
  }

  /** Main thread: has the slot begun the request naming `f`? */
  started(f: number): boolean {
    return (Atomics.load(this.i32, f) & STARTED) !== 0;
  }

  /** Slot: mark the request begun; false if it was aborted before it began (do not run it). */
  begin(f: number): boolean {
    return (Atomics.or(this.i32, f, STARTED) & STOP) === 0;
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
      // The word changes at most twice (STARTED, STOP), so re-checking a 'not-equal' is bounded.
      for (;;) {
        const v = Atomics.load(i32, f);
        if ((v & STOP) !== 0) {
          live = false;
          onStop();
          return;
        }
        const w = Atomics.waitAsync(i32, f, v);
        if (!w.async) continue;
        waiting = true;
        void w.value.then(() => {
          waiting = false;
          if (live) wait();
        });
        return;
      }
    };
    wait();
    return () => {
      if (!live) return;
      live = false;
      if (waiting) Atomics.notify(i32, f);
    };
  }
}
