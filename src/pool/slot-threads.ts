/**
 * The threads behind the slots: which thread serves which slot, from "ready" to "exited", and
 * what is given back when one goes.
 *
 * piscina starts, replaces and terminates the threads; this module only listens (the
 * TaskManager forwards piscina's events) and keeps three facts straight:
 *   - every ready thread is bound to the lowest vacant slot, and admission opens that slot;
 *   - a thread piscina drops vacates its slot at once (admission closes it), before its exit;
 *   - once a thread has EXITED (no JS of it can run any more) the segments its arena cache held
 *     are reclaimed through the thread slot it announced at start (workers/slot.ts). Reclaiming
 *     earlier could race the dying thread's own cache operations.
 * Any exit before `terminateAll()` is a death (crash, kill, heap limit), counted so that close()
 * knows the arena may hold a half-finished operation to repair.
 *
 * Main-thread state only. Like the rest of the pool it does not import piscina: it sees the
 * pool's threads through the two small interfaces below.
 */
import type { Worker } from 'node:worker_threads';
import type { Arena } from '../core/arena.js';
import type { SlotAnnouncement } from '../protocol.js';
import type { Job } from './job.js';
import type { SlotCounters } from './slot-stats.js';

/** What this module needs of piscina's view of one of its threads. */
export interface PoolThread {
  readonly id: number;
  readonly destroyed: boolean;
  readonly terminating: boolean;
}

/** One thread piscina runs for us, from ready to exit. */
export class WorkerHandle {
  /** The arena thread slot the thread announced (to reclaim its cache when it dies). */
  threadSlot: number | undefined;
  dead = false;
  readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(
    readonly worker: Worker,
    readonly thread: PoolThread,
    readonly threadId: number,
    readonly slot: number,
  ) {
    this.exited = new Promise<void>((resolve) => (this.markExited = resolve));
  }

  /** True while piscina may still run requests on it. */
  get usable(): boolean {
    return !this.dead && !this.thread.destroyed && !this.thread.terminating;
  }

  exit(): void {
    this.dead = true;
    this.markExited();
  }
}

/** Per logical slot: its current thread and its counters. */
export interface SlotState {
  readonly index: number;
  handle: WorkerHandle | undefined;
  readonly running: Set<Job>;
  readonly counters: SlotCounters;
}

export class SlotThreads {
  /** Thread slots announced by threads not yet bound to a slot (threadId → thread slot). */
  private readonly announced = new Map<number, number>();
  /** Threads not yet exited. */
  private readonly handles = new Set<WorkerHandle>();
  /** Exits before terminateAll(): the arena may hold an operation a thread left half done. */
  deaths = 0;
  /** Segments given back from dead threads' caches. */
  reclaimed = 0;
  /** Set by terminateAll(): the exits that follow are not deaths. */
  terminating = false;

  constructor(
    private readonly arena: Arena,
    private readonly slots: readonly SlotState[],
    /** Open or close a slot in admission. */
    private readonly setOpen: (slot: number, open: boolean) => void,
  ) {}

  /** piscina reports a thread ready (`worker` is its Worker): bind it to the lowest vacant slot. */
  ready(thread: PoolThread, worker: Worker | undefined): void {
    const st = this.slots.find((s) => s.handle === undefined);
    if (worker === undefined || st === undefined) return;
    const h = new WorkerHandle(worker, thread, thread.id, st.index);
    h.threadSlot = this.announced.get(thread.id);
    this.announced.delete(thread.id);
    worker.once('exit', () => this.exited(h));
    this.handles.add(h);
    st.handle = h;
    st.counters.threads++;
    this.setOpen(st.index, true);
  }

  /** piscina dropped a thread (it died, or we are closing): vacate its slot. */
  gone(): void {
    for (const st of this.slots) {
      const h = st.handle;
      if (h !== undefined && !h.usable) {
        st.handle = undefined;
        this.setOpen(st.index, false);
      }
    }
  }

  /** A slot thread announced its arena thread slot (piscina re-emits it as a pool 'message'). */
  announcement(m: unknown): void {
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

  /**
   * Call after piscina was told to terminate every thread: waits for all of them to exit and
   * reclaims the caches of threads that attached but died before piscina called them ready
   * (never bound to a slot, so only their announcement names them).
   */
  async terminateAll(): Promise<void> {
    await Promise.all([...this.handles].map((h) => h.exited));
    for (const threadSlot of this.announced.values()) this.reclaimed += this.arena.reclaimThread(threadSlot);
    this.announced.clear();
  }

  /** The thread is gone for good: no JS of it runs any more, so its cache can be taken back. */
  private exited(h: WorkerHandle): void {
    h.dead = true;
    // Any exit before close() terminates the threads is a death (crash, kill, heap limit): the
    // thread may have stopped between two steps of an arena operation, so close() must repair.
    if (!this.terminating) this.deaths++;
    this.gone();
    if (h.threadSlot !== undefined) this.reclaimed += this.arena.reclaimThread(h.threadSlot);
    this.handles.delete(h);
    h.exit();
  }
}
