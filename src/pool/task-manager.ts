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
 */
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol } from 'piscina';
import { Arena } from '../core/arena.js';
import type { AuditReport } from '../core/audit.js';
import { Lease } from '../core/lease.js';
import { ArenaError, aborted, arenaClosed, internal, invalidArgument, invalidOption, leaseClosed } from '../errors.js';
import {
  TASK_MANAGER_DEFAULTS, resolveTaskManagerOptions, resolveTaskMemory, type ResolvedTaskManagerOptions, type RunOptions,
  type SpawnOptions, type TaskManagerOptions,
} from '../options.js';
import type { SlotAnnouncement, SlotRequest, SlotResponse, SlotWorkerData } from '../protocol.js';
import { Admission } from './admission.js';
import { ActorLink, makeActor, registerArena, type Actor } from './actor.js';
import { actorClosed, errorFromData, managerClosed, queueFull, resultNeedsInto, taskCrashed } from './pool-errors.js';
import { moveResult } from './result-codec.js';
import { SlotCounters, type Outcome, type SlotStats, type TaskManagerStats } from './slot-stats.js';
import { StopFlags } from './stop-flags.js';
import { slotWorkerUrl } from './worker-path.js';

type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
type LoadBalancer = NonNullable<PiscinaOptions['loadBalancer']>;
type PiscinaWorker = Parameters<LoadBalancer>[1][number];

/** What `tm.close()` resolves to. */
export interface CloseReport {
  /** `arena.audit()` after every thread was gone (exact: the arena is quiescent). */
  readonly audit: AuditReport;
  /** Segments the final `arena.repair()` recovered (0 when it did not need to run). */
  readonly repaired: number;
  /** The final figures. */
  readonly stats: TaskManagerStats;
}

/** The routing hint our load balancer reads (piscina hands a request's queueOptions to it). */
interface Pin {
  readonly threadId: number;
}

/** One thread piscina runs for us, from ready to exit. */
class WorkerHandle {
  /** The arena thread slot the thread announced (to reclaim its cache when it dies). */
  threadSlot: number | undefined;
  dead = false;
  readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(
    readonly worker: Worker,
    readonly piscina: PiscinaWorker,
    readonly threadId: number,
    readonly slot: number,
  ) {
    this.exited = new Promise<void>((resolve) => (this.markExited = resolve));
  }

  /** True while piscina may still run requests on it. */
  get usable(): boolean {
    return !this.dead && !this.piscina.destroyed && !this.piscina.terminating;
  }

  exit(): void {
    this.dead = true;
    this.markExited();
  }
}

/** A task or an actor from run()/spawn() until it settled. */
class Job {
  state: 'queued' | 'running' | 'done' = 'queued';
  slot = -1;
  handle: WorkerHandle | undefined;
  lease: Lease | undefined;
  flag = -1;
  /** Set once the run was aborted (a task) or close() was called (an actor). */
  stop: { readonly reason: unknown } | undefined;
  /** Its thread was terminated at the end of the grace period. */
  killed = false;
  grace: ReturnType<typeof setTimeout> | undefined;
  /** Holds the process alive while queued. */
  held = false;
  detachSignal: (() => void) | undefined;
  resolve!: (value: never) => void;
  reject!: (error: unknown) => void;
  // actors only
  link: ActorLink | undefined;
  ready = false;
  closed: Promise<void> | undefined;
  markClosed: (() => void) | undefined;

  constructor(
    readonly kind: 'task' | 'actor',
    readonly id: number,
    readonly module: string,
    readonly exportName: string,
    readonly segments: number,
    readonly input: unknown,
    readonly into: Lease | undefined,
    readonly signal: AbortSignal | undefined,
  ) {}
}

/** Per logical slot: its current thread and its counters. */
interface SlotState {
  readonly index: number;
  handle: WorkerHandle | undefined;
  readonly running: Set<Job>;
  readonly counters: SlotCounters;
}

const RUN_OPTION_KEYS = new Set(['memory', 'signal', 'into', 'name']);
const SPAWN_OPTION_KEYS = new Set(['memory', 'name']);

/** Routes each request to the thread it was admitted to (piscina's LeastBusy would ignore memory). */
const pinnedBalancer: LoadBalancer = (task, workers) => {
  const pin = task[queueOptionsSymbol] as Pin | null;
  if (pin !== null) for (const w of workers) if (w.id === pin.threadId) return w;
  // Unreachable while our bookkeeping holds: start() only pins a thread piscina lists as ready.
  return null;
};

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
  /** Thread slots announced by threads not yet bound to a slot (threadId → thread slot). */
  private readonly announced = new Map<number, number>();
  /** Threads not yet exited. */
  private readonly handles = new Set<WorkerHandle>();
  /** Tasks and actors not yet settled. */
  private readonly jobs = new Set<Job>();
  private readonly moduleUrls = new Map<string, string>();
  private nextId = 0;
  private closing: Promise<CloseReport> | undefined;
  /** Set when no thread is left and piscina will start no more: every request fails with it. */
  private starved: Error | undefined;
  private drainWaiters: (() => void)[] = [];
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private holds = 0;
  private queueAborted = 0;
  private rejected = 0;
  private reclaimed = 0;
  private repaired = 0;
  private deaths = 0;
  /** Set when close() terminates the (idle) threads: those exits are not deaths. */
  private terminating = false;

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
    this.pool.on('workerCreate', (w: PiscinaWorker) => this.onThreadReady(w));
    this.pool.on('workerDestroy', () => this.onThreadGone());
    this.pool.on('message', (m: unknown) => this.onAnnouncement(m));
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
      job = new Job('task', ++this.nextId, this.moduleUrl(task), exportName(o.name), resolveTaskMemory(o.memory, this.options), input, into, signal);
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
      job = new Job('actor', ++this.nextId, this.moduleUrl(module), exportName(o.name), resolveTaskMemory(o.memory, this.options), undefined, undefined, undefined);
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
        reclaimed: this.reclaimed,
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

  /** piscina reports a thread ready: bind it to the lowest vacant slot. */
  private onThreadReady(w: PiscinaWorker): void {
    const threadId = w.id;
    const worker = this.pool.threads.find((t) => t.threadId === threadId);
    const st = this.slots.find((s) => s.handle === undefined);
    if (worker === undefined || st === undefined) return;
    const h = new WorkerHandle(worker, w, threadId, st.index);
    h.threadSlot = this.announced.get(threadId);
    this.announced.delete(threadId);
    worker.once('exit', () => this.onThreadExit(h));
    this.handles.add(h);
    st.handle = h;
    st.counters.threads++;
    this.admission.setOpen(st.index, true);
  }

  /** piscina dropped a thread (it died, or we are closing): vacate its slot. */
  private onThreadGone(): void {
    for (const st of this.slots) {
      const h = st.handle;
      if (h !== undefined && !h.usable) {
        st.handle = undefined;
        this.admission.setOpen(st.index, false);
      }
    }
  }

  /** The thread is gone for good: no JS of it runs any more, so its cache can be taken back. */
  private onThreadExit(h: WorkerHandle): void {
    h.dead = true;
    // Any exit before close() terminates the threads is a death (crash, kill, heap limit): the
    // thread may have stopped between two steps of an arena operation, so close() must repair.
    if (!this.terminating) this.deaths++;
    this.onThreadGone();
    if (h.threadSlot !== undefined) this.reclaimed += this.arena.reclaimThread(h.threadSlot);
    this.handles.delete(h);
    h.exit();
  }

  /**
   * piscina replaces a thread that dies, unless a thread died while starting (e.g. a slotHeap too
   * small to load the slot): then it stops. With no thread left, nothing queued could ever run.
   */
  private checkStarved(cause: unknown): void {
    if (this.starved !== undefined || this.terminating || this.pool.threads.length > 0) return;
    this.starved = new ArenaError('ERR_TASK_CRASHED', 'no slot has a thread: threads die while starting, and piscina stopped replacing them', { cause });
    for (const job of this.admission.waiting()) {
      this.admission.remove(job);
      this.settle(job, this.starved);
    }
  }

  private onAnnouncement(m: unknown): void {
    const a = m as SlotAnnouncement | null;
    if (a?.kind !== 'segment-arena:attached') return;
    for (const h of this.handles) {
      if (h.threadId === a.threadId) {
        h.threadSlot = a.threadSlot;
        return;
      }
    }
    this.announced.set(a.threadId, a.threadSlot);
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
      this.terminating = true;
      await this.pool.destroy();
      await Promise.all([...this.handles].map((h) => h.exited));
      // Threads that attached but died before piscina called them ready were never bound to a
      // slot; they are all gone now, so their thread slots can be freed as well.
      for (const threadSlot of this.announced.values()) this.reclaimed += this.arena.reclaimThread(threadSlot);
      this.announced.clear();
      this.unregisterArena();
      if (this.ownsArena || this.deaths > 0) this.repaired += this.arena.repair();
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

  private moduleUrl(task: string | URL): string {
    if (task instanceof URL) {
      if (task.protocol !== 'file:') throw invalidArgument('task', 'must be a file: URL or a path', task.href);
      return task.href;
    }
    if (typeof task !== 'string' || task === '') throw invalidArgument('task', 'must be a path or a file: URL', task);
    let url = this.moduleUrls.get(task);
    if (url === undefined) {
      // A scheme of two letters or more (one letter is a Windows drive) other than file: is refused.
      if (/^[a-z][a-z0-9+.-]+:/i.test(task) && !task.startsWith('file:')) {
        throw invalidArgument('task', 'must be a file: URL or a path', task);
      }
      url = task.startsWith('file:') ? new URL(task).href : pathToFileURL(resolvePath(task)).href;
      if (this.moduleUrls.size < 1024) this.moduleUrls.set(task, url);
    }
    return url;
  }
}

function checkOptions(options: unknown, keys: ReadonlySet<string>): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', 'must be an object', options);
  for (const key of Object.keys(options)) {
    if (!keys.has(key)) throw invalidArgument(key, 'is not an option of this call', (options as Record<string, unknown>)[key]);
  }
  return options as Record<string, unknown>;
}

function exportName(name: unknown): string {
  if (name === undefined) return 'default';
  if (typeof name !== 'string' || name === '') throw invalidArgument('name', 'must be a non-empty string', name);
  return name;
}
