/**
 * What a task or actor module sees: the types of its context and of its exports. Types only.
 */
import type { Arena } from '../core/arena.js';
import type { Lease } from '../core/lease.js';

/**
 * The second argument of a task (and the argument of an actor factory).
 *
 * @example
 * ```ts
 * // tasks/sum.ts, built to tasks/sum.js and run with tm.run(new URL('./tasks/sum.js', import.meta.url), n)
 * import type { TaskContext } from 'segment-arena';
 * export default async function (n: number, ctx: TaskContext) {
 *   const seg = ctx.lease.allocate();               // charged to this task, within `memory`
 *   seg.as(Float64Array).fill(n);
 *   if (ctx.signal.aborted) throw ctx.signal.reason;
 *   return { seg };                                 // moves into run()'s `into` lease, zero-copy
 * }
 * ```
 */
export interface TaskContext {
  /**
   * The task's own lease; its limit is the run's `memory`. Whatever it still holds when the task
   * settles is released (segments in the result move to `into` instead).
   */
  readonly lease: Lease;
  /** The arena, attached once in this thread. Shared by every task of the slot: never close it. */
  readonly arena: Arena;
  /**
   * Fires when the run is aborted (for an actor: when it is closed). Its reason is an ArenaError
   * ERR_ABORTED; the caller's own reason stays on the main thread, as the `cause` of the rejection.
   * A task that ignores it is terminated with its thread after the `abortGrace` period.
   */
  readonly signal: AbortSignal;
  /** The slot (0 … slots-1) running the task. */
  readonly slot: number;
  /** Unique id of this run within its TaskManager. */
  readonly taskId: number;
}

/** The shape of a task module's default export (or of the named export `name`). */
export type TaskFunction<I = unknown, O = unknown> = (input: I, ctx: TaskContext) => O | Promise<O>;

/**
 * The shape of an actor module's default export (or of the named export `name`): it receives the
 * actor's context (its lease; its signal fires on close) and returns the object to expose.
 */
export type ActorFactory<T> = (ctx: TaskContext) => T | Promise<T>;
