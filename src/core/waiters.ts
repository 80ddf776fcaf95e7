/**
 * Waiting for memory: the queue behind `lease.allocateAsync`.
 *
 * Owned words:
 *   W_WAITERS  number of arena contexts (threads) that have at least one pending request.
 *              Atomics.add(+1) when a context's queue becomes non-empty, Atomics.sub(-1) when
 *              it empties; the thread's T_WAITING word mirrors its share (set before the add,
 *              cleared before the sub), so reclaimThread can take back a dead thread's share
 *              (regression: a thread that died while waiting left W_WAITERS > 0 forever).
 *              A plain read by releasers is enough: a stale 0 only delays a wake until the
 *              waiter's periodic re-check (POLL_MS).
 *   W_EPOCH    bumped (Atomics.add) and notified, while W_WAITERS > 0, by anyone who gives
 *              segments back to the central list (free-list give, cache flush, grow) and by a
 *              release once more after its uncharge (lease.ts releaseOne); waiters wait on it
 *              with Atomics.waitAsync.
 *
 * Rule: a waiter reads W_EPOCH, then tries, then waits on the value it read; so a bump wakes
 * it reliably only if it comes AFTER the last write that can make its attempt succeed. A bump
 * before that write can be spent on an attempt that still fails, and the waiter sleeps until
 * POLL_MS. (Regression, found by a benchmark: a release wakes when it gives the segment back,
 * before it uncharges its lease; a waiter on that same lease with an unlimited limit, retrying
 * in between, still saw the lease full: 100 ms waits. The release now wakes again after the
 * uncharge. test/core.wake.test.ts forces that interleaving.)
 *
 * Order: requests of one context are served strictly first-in first-out: only the oldest is
 * tried, so a small late request never overtakes a large early one. Between threads, the
 * order is the order in which woken threads win the central list.
 *
 * Node trap: a pending Atomics.waitAsync does not keep the event loop alive; while requests
 * are pending this context holds a ref'd interval timer.
 */
import { W_EPOCH, W_WAITERS } from './layout.js';
import { aborted, timedOut, type ArenaError } from '../errors.js';

const POLL_MS = 100;

/** One pending request: `attempt()` returns a result, or undefined to keep waiting. */
export interface WaitRequest<T> {
  attempt(): T | undefined;
  signal?: AbortSignal | undefined;
  timeout?: number | undefined;
}

interface Pending {
  attempt(): unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/**
 * Epoch bumps this thread made, per arena (keyed by its control buffer). The wait loop compares
 * the count across one `serve()` to tell its own bumps from other threads' (see `loop`).
 */
const ownBumps = new WeakMap<ArrayBufferLike, number>();

/** Wake every waiter (cheap when nobody waits: one plain read). */
export function wakeWaiters(i32: Int32Array): void {
  if (i32[W_WAITERS] === 0) return;
  ownBumps.set(i32.buffer, (ownBumps.get(i32.buffer) ?? 0) + 1);
  Atomics.add(i32, W_EPOCH, 1);
  Atomics.notify(i32, W_EPOCH);
}

export class WaitQueue {
  private readonly queue: Pending[] = [];
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private loopToken = 0;

  constructor(
    private readonly i32: Int32Array,
    /** This thread's T_WAITING word. */
    private readonly waitingIdx: number,
    /** Re-check every POLL_MS; false only for tests (options.unsafeDisableWaitPoll). */
    private readonly poll = true,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** Queue a request; it is tried at once if it is the only one. */
  wait<T>(req: WaitRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => this.fail(entry, aborted(req.signal?.reason));
      const entry: Pending = {
        attempt: () => req.attempt(),
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
        },
      };
      if (req.signal?.aborted) {
        reject(aborted(req.signal.reason));
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.timeout !== undefined) {
        const ms = req.timeout;
        timer = setTimeout(() => this.fail(entry, timedOut(ms)), ms);
      }
      this.queue.push(entry);
      if (this.queue.length === 1) this.start();
    });
  }

  /** Reject every pending request (arena closed). */
  rejectAll(err: ArenaError): void {
    for (const e of this.queue.splice(0)) {
      e.cleanup();
      e.reject(err);
    }
    this.stop();
  }

  private fail(entry: Pending, err: ArenaError): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return;
    this.queue.splice(i, 1);
    entry.cleanup();
    entry.reject(err);
    if (this.queue.length === 0) this.stop();
    else if (i === 0) this.serve();
  }

  private start(): void {
    Atomics.store(this.i32, this.waitingIdx, 1);
    Atomics.add(this.i32, W_WAITERS, 1);
    this.keepAlive = setInterval(() => {}, 1 << 30);
    const token = ++this.loopToken;
    void this.loop(token);
  }

  private stop(): void {
    if (this.keepAlive === undefined) return;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.loopToken++;
    if (Atomics.exchange(this.i32, this.waitingIdx, 0) === 1) Atomics.sub(this.i32, W_WAITERS, 1);
  }

  /** Serve from the head while requests succeed; errors reject their own request only. */
  private serve(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      let result: unknown;
      try {
        result = head.attempt();
      } catch (e) {
        this.queue.shift();
        head.cleanup();
        head.reject(e);
        continue;
      }
      if (result === undefined) return;
      this.queue.shift();
      head.cleanup();
      head.resolve(result);
    }
    this.stop();
  }

  private async loop(token: number): Promise<void> {
    while (token === this.loopToken) {
      const epoch = Atomics.load(this.i32, W_EPOCH);
      const own = ownBumps.get(this.i32.buffer) ?? 0;
      this.serve();
      if (token !== this.loopToken) return;
      // A refused attempt can bump the epoch itself (giving back the counts it claimed, or
      // flushing this thread's cache, wakes the OTHER waiters, as it must). Waiting on `epoch`
      // would then return at once, and the loop would retry about once per macrotask while
      // nothing changes (regression: ~270 attempts in 300 ms). serve() is synchronous, so
      // every bump this thread made on this arena since `own` was made inside it: if the epoch
      // moved by exactly that many, no other thread gave anything back meanwhile, and waiting on the
      // current value loses no wake (any later bump changes it). Otherwise retry as before.
      const now = Atomics.load(this.i32, W_EPOCH);
      const waitOn = ((now - epoch) | 0) === (ownBumps.get(this.i32.buffer) ?? 0) - own ? now : epoch;
      const w = this.poll ? Atomics.waitAsync(this.i32, W_EPOCH, waitOn, POLL_MS) : Atomics.waitAsync(this.i32, W_EPOCH, waitOn);
      // When the epoch already moved, waitAsync answers synchronously: still yield a
      // macrotask, so timers (timeouts) and other work run and the loop never spins.
      if (w.async) await w.value;
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
