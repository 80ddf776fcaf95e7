/**
 * A task or an actor, from `run()` / `spawn()` until it settled: the TaskManager's bookkeeping
 * for one request. Main-thread state only; the TaskManager (task-manager.ts) is its one writer.
 *
 * States: 'queued' (in Admission, nothing allocated) → 'running' (placed on a slot: it has a
 * lease, a stop flag and one piscina request in flight) → 'done' (lease closed, flag and budget
 * given back, promise settled). A job goes to 'done' exactly once.
 */
import type { Lease } from '../core/lease.js';
import type { ActorLink } from './actor.js';
import type { WorkerHandle } from './slot-threads.js';

export class Job {
  state: 'queued' | 'running' | 'done' = 'queued';
  /** The slot admission placed it on (-1 while queued). */
  slot = -1;
  /** The thread its request was posted to. */
  handle: WorkerHandle | undefined;
  lease: Lease | undefined;
  /** Its stop-flag word (src/pool/stop-flags.ts), -1 when it holds none. */
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
    /** A `file:` URL. */
    readonly module: string,
    readonly exportName: string,
    /** Its lease limit in segments: what admission charges the slot's budget. */
    readonly segments: number,
    readonly input: unknown,
    readonly into: Lease | undefined,
    readonly signal: AbortSignal | undefined,
  ) {}
}
