/**
 * TaskManager: worker slots on piscina, each task with its own lease, memory-aware admission,
 * crash-safe reclamation, cooperative abort, comlink actors. The only importer of piscina.
 *
 * Life of a run (main thread):
 *   run()    validate; queue in Admission (src/pool/admission.ts), which places the task on a
 *            slot whose thread is ready and whose budget has room for `memory`.
 *   start    open the task lease (limit = memory), arm a stop flag (src/pool/stop-flags.ts) and
 *            post ONE piscina request, pinned to the slot's thread by our loadBalancer.
 *   answer   the slot's one answer: move the result's segments into `into` (result-codec.ts),
 *            close the task lease (whatever it still holds is released and counted as leaked),
 *            give the slot's budget back, and only then settle the run's promise.
 *   death    a rejected piscina promise means the thread died (the slot answers every error as
 *            data) — unless the thread is still alive, which means the request could not be
 *            posted. On a death: wait for the thread's 'exit' (no JS of it runs any more), give
 *            back the segments it cached (arena.reclaimThread), close the task lease from here
 *            (close releases what a lease owns, from any thread), then reject ERR_TASK_CRASHED.
 *            piscina replaces the thread; the new one takes over the vacant slot index.
 *   abort    queued: leave the queue, reject. Running: raise the stop flag (the task sees
 *            ctx.signal fire) and start the grace timer; the run rejects with ERR_ABORTED when
 *            the task stops, whatever it returns, or when its thread is terminated at the end of
 *            the grace period.
 * close() drains, closes the actors, terminates every thread, reclaims their caches, repairs what
 * a killed thread stranded mid-operation (arena.repair, quiescent: no thread is left) and audits.
 *
 * Its parts: job.ts (one request's bookkeeping), admission.ts (which slot, when),
 * slot-threads.ts (which thread serves which slot; reclaiming a dead thread's cache),
 * stop-flags.ts (abort in shared memory), result-codec.ts (segments in results), run-args.ts
 * (argument checks), slot-stats.ts (counters), actor.ts (comlink); workers/slot.ts is the other end.
 */
import { availableParallelism } from 'node:os';
import { Piscina, queueOptionsSymbol } from 'piscina';
import { Arena } from '../core/arena.js';
import type { AuditReport } from '../core/audit.js';
import { Lease } from '../core/lease.js';
import { ArenaError, aborted, arenaClosed, internal, invalidArgument, invalidOption, leaseClosed } from '../errors.js';
import {
  TASK_MANAGER_DEFAULTS, resolveTaskManagerOptions, resolveTaskMemory, type ResolvedTaskManagerOptions, type RunOptions,
  type SpawnOptions, type TaskManagerOptions,
} from '../options.js';
import type { SlotRequest, SlotResponse, SlotWorkerData } from '../protocol.js';
import { Admission } from './admission.js';
import { ActorLink, makeActor, registerArena, type Actor } from './actor.js';
import { actorClosed, errorFromData, managerClosed, queueFull, resultNeedsInto, taskCrashed } from './pool-errors.js';
import { Job } from './job.js';
import { moveResult } from './result-codec.js';
import { ModuleUrls, checkOptions, exportName } from './run-args.js';
import { SlotCounters, type Outcome, type SlotStats, type TaskManagerStats } from './slot-stats.js';
import { SlotThreads, type SlotState } from './slot-threads.js';
import { StopFlags } from './stop-flags.js';
import { slotWorkerUrl } from './worker-path.js';

type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
type LoadBalancer = NonNullable<PiscinaOptions['loadBalancer']>;
type PiscinaWorker = Parameters<LoadBalancer>[1][number];

/** The routing hint our load balancer reads (piscina hands a request's queueOptions to it). */
interface Pin {
  readonly threadId: number;
}

/** Routes each request to the thread it was admitted to (piscina's LeastBusy would ignore memory). */
const pinnedBalancer: LoadBalancer = (task, workers) => {
  const pin = task[queueOptionsSymbol] as Pin | null;
  if (pin !== null) for (const w of workers) if (w.id === pin.threadId) return w;
  // Unreachable while our bookkeeping holds: start() only pins a thread piscina lists as ready.
  return null;
};

/** What `tm.close()` resolves to. */
export interface CloseReport {
  /** `arena.audit()` after every thread was gone (exact: the arena is quiescent). */
  readonly audit: AuditReport;
  /** Segments the final `arena.repair()` recovered (0 when it did not need to run). */
  readonly repaired: number;
  /** The final figures. */
  readonly stats: TaskManagerStats;
}

const RUN_OPTION_KEYS = new Set(['memory', 'signal', 'into', 'name']);
const SPAWN_OPTION_KEYS = new Set(['memory', 'name']);

/**
 * Runs tasks on a fixed set of worker threads ("slots"), each task with its own lease of a shared
 * {@link Arena}, and long-lived actors reached through comlink.
 *
 * @example
 * ```ts
 * await using tm = new TaskManager({ arena: { size: '64MiB' }, slots: 2 });
 * using out = tm.arena.lease({ name: 'results' });
 * const { table } = await tm.run(new URL('./build-table.js', import.meta.url), 1000, { memory: '8MiB', into: out });
 * // `table` is a MemorySegment the task filled; it now belongs to `out`, and no byte was copied.
 * ```
 */
export class TaskManager implements AsyncDisposable {
  /** The arena every task draws from (created from the options, or the one given). */
  readonly arena: Arena;
  /** The options after validation. */
  readonly options: ResolvedTaskManagerOptions;
  private readonly ownsArena: boolean;
  private readonly pool: Piscina;
  private readonly flags: StopFlags;
  private readonly admission: Admission<Job>;
  private readonly slots: SlotState[];
  private readonly unregisterArena: () => void;
  private readonly threads: SlotThreads;
  /** Tasks and actors not yet settled. */
  private readonly jobs = new Set<Job>();
  private readonly moduleUrls = new ModuleUrls();
  private nextId = 0;
  private closing: Promise<CloseReport> | undefined;
  /** Set when no thread is left and piscina will start no more: every request fails with it. */
  private starved: Error | undefined;
  private drainWaiters: (() => void)[] = [];
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private holds = 0;
  private queueAborted = 0;
  private rejected = 0;
  private repaired = 0;

  /**
   * Start the slots (piscina, min = max = `slots`).
   * @throws ArenaError ERR_INVALID_OPTION naming the option that is wrong.
   */
  constructor(options: TaskManagerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object', options);
    const given = options.arena;
    if (given instanceof Arena) {
      if (given.closed) throw arenaClosed();
      this.arena = given;
      this.ownsArena = false;
    } else {
      // Every slot thread attaches (replacements too, while a dead one is reclaimed), plus the
      // main thread: make sure the thread table fits them when the user did not size it.
      const slotsWanted = typeof options.slots === 'number' && options.slots > 0 ? options.slots : availableParallelism();
      const arenaOptions = given ?? { size: TASK_MANAGER_DEFAULTS.arenaSize };
      this.arena = new Arena({ maxThreads: Math.max(64, 2 * slotsWanted + 2), ...arenaOptions });
      this.ownsArena = true;
    }
    try {
      this.options = resolveTaskManagerOptions(options, this.arena, availableParallelism());
    } catch (e) {
      if (this.ownsArena) this.arena.close();
      throw e;
    }
    const o = this.options;
    this.flags = StopFlags.create(o.slots * o.concurrentTasksPerSlot);
    this.slots = Array.from({ length: o.slots }, (_, index) => ({
      index, handle: undefined, running: new Set<Job>(), counters: new SlotCounters(),
    }));
    this.admission = new Admission<Job>(o.slots, o.slotSegments, o.concurrentTasksPerSlot, (job, slot) => this.start(job, slot));
    this.threads = new SlotThreads(this.arena, this.slots, (slot, open) => this.admission.setOpen(slot, open));
    const workerData: SlotWorkerData = { kind: 'segment-arena:slot', arena: this.arena.descriptor, stopFlags: this.flags.buffer };
    this.pool = new Piscina({
      filename: slotWorkerUrl().href,
      minThreads: o.slots,
      maxThreads: o.slots,
      concurrentTasksPerWorker: o.concurrentTasksPerSlot,
      // 'async', on purpose. In 'sync' mode piscina parks a worker with no task running in
      // Atomics.wait, which blocks its event loop: whatever a finished task left behind (timers,
      // I/O callbacks, an object it exposed to comlink) stalls until the next task arrives — and
      // a timer that throws would kill the thread under that next task, which would then be
      // reported as the crashed one. 'async' waits with Atomics.waitAsync and keeps the loop
      // turning (our stop-flag waits need it too); 'disabled' would also work but drops piscina's
      // cheap wake-up. FACTS.md: the modes differ by less than the noise on an empty task.
      atomics: 'async',
      ...(o.slotHeapMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: o.slotHeapMb } } : {}),
      ...(o.idleTimeout !== undefined ? { idleTimeout: o.idleTimeout } : {}),
      workerData,
      recordTiming: false,
      loadBalancer: pinnedBalancer,
    });
    this.pool.on('workerCreate', (w: PiscinaWorker) => this.threads.ready(w, this.pool.threads.find((t) => t.threadId === w.id)));
    this.pool.on('workerDestroy', () => this.threads.gone());
    this.pool.on('message', (m: unknown) => this.threads.announcement(m));
    // A thread that dies with no task (an exception in a timer a finished task left, or a failed
    // start) makes piscina emit 'error'; unheard, it would be thrown in the main thread. The
    // thread's 'exit' reclaims its cache and piscina replaces it (stats: the slot's `threads`) —
    // except a thread that dies while starting: then piscina stops replacing threads at all.
    this.pool.on('error', (e: unknown) => this.checkStarved(e));
    this.unregisterArena = registerArena(this.arena);
  }

  /**
   * Run `task`'s default export (or `options.name`) as `fn(input, ctx)` on a slot, with its own
   * lease of `memory` bytes (see {@link TaskContext}). Waits for admission until a slot has room.
   *
   * Resolves with the task's result. MemorySegments anywhere in it (plain objects and arrays, any
   * depth) move into `options.into` without copying and arrive as MemorySegment objects. A result
   * that holds segments when no `into` was given is an error (ERR_INVALID_ARGUMENT): the segments
   * are released with the task lease, so nothing can leak into a lease nobody holds. Everything
   * else the task lease still holds is released before the promise settles.
   *
   * Rejects with the task's own error (same `code` and message), ERR_ABORTED (`cause` = the
   * signal's reason), ERR_TASK_CRASHED (the thread died; `cause` says how), ERR_QUEUE_FULL,
   * ERR_INVALID_ARGUMENT (at once: e.g. `memory` above slotMemory).
   *
   * @param task the module: a path (relative to the working directory) or a `file:` URL of built JavaScript.
   */
  run<O = unknown>(task: string | URL, input?: unknown, options?: RunOptions): Promise<O> {
    let job: Job;
    try {
      if (this.closing !== undefined) throw managerClosed();
      if (this.starved !== undefined) throw this.starved;
      const o = checkOptions(options, RUN_OPTION_KEYS) as RunOptions;
      const signal = o.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal', 'must be an AbortSignal', signal);
      const into = o.into;
      if (into !== undefined) {
        if (!(into instanceof Lease)) throw invalidArgument('into', 'must be a Lease', into);
        if (into.descriptor.arenaId !== this.arena.descriptor.id) throw invalidArgument('into', "must be a lease of the TaskManager's arena", into.name);
        if (into.closed) throw leaseClosed(into.name);
      }
      job = new Job('task', ++this.nextId, this.moduleUrls.resolve(task), exportName(o.name), resolveTaskMemory(o.memory, this.options), input, into, signal);
      if (signal?.aborted) {
        this.queueAborted++;
        throw aborted(signal.reason);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const promise = new Promise<O>((resolve, reject) => {
      job.resolve = resolve as (value: never) => void;
      job.reject = reject;
    });
    this.submit(job);
    return promise;
  }

  /**
   * Start a long-lived actor on a slot: the module's default export (or `options.name`) is called
   * as a factory with a {@link TaskContext} (its own lease of `memory` bytes; its signal fires on
   * close), and the object it returns is reached through comlink. MemorySegments passed as
   * arguments or returned travel by handle in both directions (no bytes copied; ownership stays
   * with the lease that holds them). The actor holds `memory` of its slot's budget and one of its
   * concurrency units until `actor.close()`.
   */
  spawn<T>(module: string | URL, options?: SpawnOptions): Promise<Actor<T>> {
    let job: Job;
    try {
      if (this.closing !== undefined) throw managerClosed();
      if (this.starved !== undefined) throw this.starved;
      const o = checkOptions(options, SPAWN_OPTION_KEYS) as SpawnOptions;
      job = new Job('actor', ++this.nextId, this.moduleUrls.resolve(module), exportName(o.name), resolveTaskMemory(o.memory, this.options), undefined, undefined, undefined);
    } catch (e) {
      return Promise.reject(e);
    }
    const promise = new Promise<Actor<T>>((resolve, reject) => {
      job.resolve = resolve as (value: never) => void;
      job.reject = reject;
    });
    job.link = new ActorLink();
    this.submit(job);
    void job.link.ready.then(() => {
      if (job.state !== 'running' || job.ready) return;
      job.ready = true;
      const actor = makeActor<T>(job.link!.remote<T>(), {
        close: () => this.closeActor(job),
        isClosed: () => job.stop !== undefined || job.state === 'done',
      });
      (job.resolve as (a: Actor<T>) => void)(actor);
    });
    return promise;
  }

  /** Per-slot and total figures, and the arena's stats. */
  stats(): TaskManagerStats {
    const seg = this.arena.segmentSize;
    const slots: SlotStats[] = this.slots.map((s) => {
      const b = this.admission.budgets[s.index]!;
      let used = 0;
      for (const job of s.running) {
        const lease = job.lease;
        if (lease !== undefined && !lease.closed) used += lease.used;
      }
      const c = s.counters;
      return {
        slot: s.index,
        threadId: s.handle?.threadId,
        ready: b.open,
        threads: c.threads,
        run: c.run,
        succeeded: c.succeeded,
        failed: c.failed,
        crashed: c.crashed,
        aborted: c.aborted,
        killed: c.killed,
        leaked: c.leaked,
        running: s.running.size,
        memoryUsed: used,
        memoryReserved: b.used * seg,
        memoryLimit: this.options.slotMemory,
        memoryPeak: b.peak * seg,
      };
    });
    const sum = (k: keyof SlotCounters & keyof SlotStats): number => slots.reduce((n, s) => n + (s[k] as number), 0);
    return {
      slots,
      totals: {
        run: sum('run'),
        succeeded: sum('succeeded'),
        failed: sum('failed'),
        crashed: sum('crashed'),
        aborted: sum('aborted') + this.queueAborted,
        killed: sum('killed'),
        leaked: sum('leaked'),
        running: slots.reduce((n, s) => n + s.running, 0),
        queued: this.admission.queued,
        rejected: this.rejected,
        reclaimed: this.threads.reclaimed,
        repaired: this.repaired,
        threads: sum('threads'),
      },
      arena: this.arena.stats(),
    };
  }

  /**
   * Drain (queued and running tasks finish), close every actor, terminate the threads, give back
   * what their caches held, repair what a killed thread stranded mid-operation, and audit.
   * Idempotent. Afterwards the arena stays open and every segment is free again (unless your own
   * leases hold some). The repair runs when the TaskManager created the arena or a thread died;
   * if you gave the arena and a thread died, no other thread may be inside the arena meanwhile.
   */
  close(): Promise<CloseReport> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** `await using tm = new TaskManager(...)` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * @internal Terminate the thread of `slot` now, as a crash would (a test hook): its tasks reject
   * with ERR_TASK_CRASHED and piscina replaces the thread. Resolves once the thread exited.
   */
  async terminateSlot(slot: number): Promise<void> {
    const h = this.slots[slot]?.handle;
    if (h === undefined) return;
    await h.worker.terminate();
    await h.exited;
  }

  // ---- admission and requests ---------------------------------------------------------------

  private submit(job: Job): void {
    this.jobs.add(job);
    if (job.signal !== undefined) {
      const signal = job.signal;
      const onAbort = (): void => this.abort(job);
      signal.addEventListener('abort', onAbort, { once: true });
      job.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
    if (this.admission.submit(job)) return;
    if (this.admission.queued > this.options.maxQueue) {
      this.admission.remove(job);
      this.rejected++;
      this.settle(job, queueFull(this.options.maxQueue));
      return;
    }
    job.held = true;
    this.hold();
  }

  /** Admission placed `job` on `slot` (and took its budget): post its one request. */
  private start(job: Job, slot: number): void {
    if (job.held) {
      job.held = false;
      this.unhold();
    }
    const st = this.slots[slot]!;
    const handle = st.handle;
    job.state = 'running';
    job.slot = slot;
    job.handle = handle;
    st.running.add(job);
    st.counters.run++;
    if (handle === undefined || !handle.usable) {
      // Admission only opens a slot with a usable thread, and closes it when piscina drops it.
      this.finish(job, 'failed', undefined, internal('admission placed a request on a slot with no thread'));
      return;
    }
    try {
      job.lease = this.arena.lease({ name: `${job.kind} ${job.id}`, limit: job.segments * this.arena.segmentSize });
    } catch (e) {
      this.finish(job, 'failed', undefined, e);
      return;
    }
    job.flag = this.flags.acquire();
    this.flags.arm(job.flag);
    const lease = job.lease.descriptor;
    const req: SlotRequest = job.kind === 'task'
      ? { kind: 'task', taskId: job.id, slot, module: job.module, exportName: job.exportName, lease, flag: job.flag, input: job.input }
      : { kind: 'actor', taskId: job.id, slot, module: job.module, exportName: job.exportName, lease, flag: job.flag, port: job.link!.workerPort };
    const pin: Pin = { threadId: handle.threadId };
    (req as unknown as Record<symbol, Pin>)[queueOptionsSymbol] = pin;
    const sent: Promise<SlotResponse> = job.kind === 'task'
      ? this.pool.run(req)
      : this.pool.run(req, { transferList: [job.link!.workerPort] });
    sent.then(
      (res) => this.onAnswer(job, res),
      (err: unknown) => this.onLost(job, err),
    );
  }

  /** The slot answered (it never throws to piscina). */
  private onAnswer(job: Job, res: SlotResponse): void {
    if (job.kind === 'actor') {
      if (!job.ready) {
        this.finish(job, 'failed', undefined, res.kind === 'error' ? errorFromData(res.error) : internal('actor answered before ready'));
      } else {
        this.finish(job, res.kind === 'error' ? 'failed' : 'succeeded', undefined, undefined);
      }
      return;
    }
    if (job.stop !== undefined) {
      this.finish(job, 'aborted', undefined, aborted(job.stop.reason));
    } else if (res.kind === 'error') {
      this.finish(job, 'failed', undefined, errorFromData(res.error));
    } else if (res.segments === 0) {
      this.finish(job, 'succeeded', res.value, undefined);
    } else if (job.into === undefined) {
      this.finish(job, 'failed', undefined, resultNeedsInto(res.segments));
    } else {
      let value: unknown;
      try {
        value = moveResult(res, this.arena, job.lease!, job.into);
      } catch (e) {
        this.finish(job, 'failed', undefined, e);
        return;
      }
      this.finish(job, 'succeeded', value, undefined);
    }
  }

  /** piscina rejected: the thread died — or, if it still lives, the request could not be posted. */
  private onLost(job: Job, err: unknown): void {
    const handle = job.handle!;
    if (handle.usable) {
      // e.g. a DataCloneError: the input cannot be copied to the thread. The task never ran.
      this.finish(job, 'failed', undefined, err);
      return;
    }
    this.hold();
    void handle.exited.then(() => {
      this.unhold();
      if (job.stop !== undefined) {
        // An aborted task killed at the end of its grace period, or a closing actor.
        this.finish(job, job.kind === 'task' ? 'aborted' : 'succeeded', undefined, job.kind === 'task' ? aborted(job.stop.reason) : undefined);
      } else {
        this.finish(job, 'crashed', undefined, taskCrashed(`${job.kind} ${job.id}`, job.slot, err));
      }
    });
  }

  /**
   * Settle a started job: its lease is closed (releasing what it still holds) and its budget given
   * back BEFORE its promise settles, so the caller sees the arena as the task left it.
   */
  private finish(job: Job, outcome: Outcome, value: unknown, error: unknown): void {
    if (job.state === 'done') return;
    job.state = 'done';
    if (job.grace !== undefined) clearTimeout(job.grace);
    job.detachSignal?.();
    let leaked = 0;
    const lease = job.lease;
    if (lease !== undefined) {
      leaked = Math.round(lease.used / this.arena.segmentSize);
      try {
        // A dead thread cannot finish an allocation: close without waiting for one to settle.
        if (outcome === 'crashed') lease.closeAbandoned();
        else lease.close();
      } catch (e) {
        // Debug arenas treat a leak as an error (ERR_LEAK), after releasing everything.
        if (outcome === 'succeeded' && job.kind === 'task') {
          outcome = 'failed';
          error = e;
        }
      }
    }
    const st = this.slots[job.slot]!;
    st.running.delete(job);
    st.counters.count(outcome, job.killed, leaked);
    if (job.kind === 'actor') job.link!.shut(outcome === 'crashed' ? (error as Error) : actorClosed());
    this.flags.release(job.flag);
    job.flag = -1;
    this.admission.release(job.slot, job.segments);
    this.jobs.delete(job);
    if (job.kind === 'actor') {
      // After ready the caller holds the actor: close() resolves. Before, spawn() rejects.
      if (job.ready) job.markClosed?.();
      else job.reject(error ?? actorClosed());
    } else if (outcome === 'succeeded') {
      (job.resolve as (v: unknown) => void)(value);
    } else {
      job.reject(error);
    }
    this.checkDrained();
  }

  /** A job that never started (refused, or aborted in the queue). */
  private settle(job: Job, error: unknown): void {
    job.state = 'done';
    job.detachSignal?.();
    job.link?.shut(error as Error);
    this.jobs.delete(job);
    if (job.held) {
      job.held = false;
      this.unhold();
    }
    job.reject(error);
    this.checkDrained();
  }

  private abort(job: Job): void {
    const reason = job.signal?.reason;
    if (job.state === 'queued') {
      this.admission.remove(job);
      this.queueAborted++;
      this.settle(job, aborted(reason));
      return;
    }
    if (job.state !== 'running' || job.stop !== undefined) return;
    job.stop = { reason };
    this.requestStop(job);
  }

  private closeActor(job: Job): Promise<void> {
    job.closed ??= new Promise<void>((resolve) => (job.markClosed = resolve));
    if (job.state === 'done') job.markClosed?.();
    else if (job.stop === undefined) {
      job.stop = { reason: 'close' };
      this.requestStop(job);
    }
    return job.closed;
  }

  /** Raise the job's stop flag; terminate its thread if it has not stopped after abortGrace. */
  private requestStop(job: Job): void {
    this.flags.raise(job.flag);
    job.grace = setTimeout(() => {
      if (job.state !== 'running') return;
      // A request its thread has not begun (queued behind a busy task on the same thread) is
      // never run: the slot answers it as aborted when it gets to it. Killing the thread would
      // crash the innocent task that keeps it busy.
      if (!this.flags.started(job.flag)) return;
      job.killed = true;
      void job.handle!.worker.terminate();
    }, this.options.abortGrace);
  }

  // ---- threads -------------------------------------------------------------------------------

  /**
   * piscina replaces a thread that dies, unless a thread died while starting (e.g. a slotHeap too
   * small to load the slot): then it stops. With no thread left, nothing queued could ever run.
   */
  private checkStarved(cause: unknown): void {
    if (this.starved !== undefined || this.threads.terminating || this.pool.threads.length > 0) return;
    this.starved = new ArenaError('ERR_TASK_CRASHED', 'no slot has a thread: threads die while starting, and piscina stopped replacing them', { cause });
    for (const job of this.admission.waiting()) {
      this.admission.remove(job);
      this.settle(job, this.starved);
    }
  }

  // ---- shutdown --------------------------------------------------------------------------------

  private async shutdown(): Promise<CloseReport> {
    this.hold();
    try {
      const closing: Promise<void>[] = [];
      for (const job of [...this.jobs]) {
        if (job.kind !== 'actor') continue;
        if (job.state === 'queued') {
          this.admission.remove(job);
          this.settle(job, managerClosed());
        } else {
          closing.push(this.closeActor(job));
        }
      }
      await Promise.all([...closing, this.drained()]);
      this.threads.terminating = true;
      await this.pool.destroy();
      await this.threads.terminateAll();
      this.unregisterArena();
      if (this.ownsArena || this.threads.deaths > 0) this.repaired += this.arena.repair();
      return { audit: this.arena.audit(), repaired: this.repaired, stats: this.stats() };
    } finally {
      this.unhold();
    }
  }

  private drained(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private checkDrained(): void {
    if (this.jobs.size !== 0 || this.drainWaiters.length === 0) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  // ---- helpers -----------------------------------------------------------------------------------

  /**
   * Keep the process alive while work waits somewhere piscina does not see (our queue, a dead
   * thread's exit, close()). Running requests keep it alive through piscina's port.
   */
  private hold(): void {
    if (this.holds++ === 0) this.keepAlive = setInterval(() => {}, 2 ** 30);
  }

  private unhold(): void {
    if (--this.holds === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}
