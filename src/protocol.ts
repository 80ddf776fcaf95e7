/**
 * Every message that crosses a thread between the TaskManager (main thread) and a slot
 * (workers/slot.ts), as discriminated unions. Types only: this module emits no code.
 *
 * Channels:
 *   workerData               main → slot, once per thread: {@link SlotWorkerData}
 *   parentPort               slot → main, once per thread: {@link SlotAnnouncement}
 *                            (piscina re-emits it as the pool's 'message' event)
 *   piscina task port        main → slot: {@link SlotRequest}; slot → main: {@link SlotResponse}
 *                            (one round trip per task: nothing else is posted per task)
 *   actor MessagePort        comlink's own wire format, plus one {@link ActorControl} (slot → main)
 *   shared memory            the stop flags, owned by src/pool/stop-flags.ts (not a message)
 */
import type { MessagePort } from 'node:worker_threads';
import type { ArenaDescriptor } from './core/arena-core.js';
import type { LeaseDescriptor } from './core/lease.js';

/** What every slot thread receives as `workerData`. */
export interface SlotWorkerData {
  readonly kind: 'segment-arena:slot';
  /** The arena to attach to, once per thread. */
  readonly arena: ArenaDescriptor;
  /** The stop-flag words (src/pool/stop-flags.ts). */
  readonly stopFlags: SharedArrayBuffer;
}

/**
 * Posted once by a slot right after it attached to the arena: the main thread needs the
 * thread's arena thread slot to reclaim its cached segments if the thread dies.
 */
export interface SlotAnnouncement {
  readonly kind: 'segment-arena:attached';
  /** `worker_threads.threadId` of the slot thread. */
  readonly threadId: number;
  /** The internal thread slot of the slot's Arena object (`arena.threadSlot`). */
  readonly threadSlot: number;
}

/** Fields common to every request a slot runs. */
interface RequestBase {
  /** Unique per TaskManager; `ctx.taskId`. */
  readonly taskId: number;
  /** The logical slot the task was admitted to; `ctx.slot`. */
  readonly slot: number;
  /** A `file:` URL of the module to load. */
  readonly module: string;
  /** The export to call (`'default'` unless `name` was given). */
  readonly exportName: string;
  /** The lease the task (or actor) allocates from, created by the main thread. */
  readonly lease: LeaseDescriptor;
  /** Index of the task's stop-flag word (src/pool/stop-flags.ts). */
  readonly flag: number;
}

/** Run one task: call `exportName(input, ctx)` and answer with its result. */
export interface TaskRequest extends RequestBase {
  readonly kind: 'task';
  readonly input: unknown;
}

/**
 * Start an actor: call the factory `exportName(ctx)`, expose what it returns over `port` with
 * comlink, post {@link ActorControl} `ready`, and answer only when the stop flag is raised (the
 * actor's close) — so the actor holds its place on the slot for its whole life.
 */
export interface ActorRequest extends RequestBase {
  readonly kind: 'actor';
  readonly port: MessagePort;
}

export type SlotRequest = TaskRequest | ActorRequest;

/** An error as data: structured clone keeps neither `code` nor the class. */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
  readonly stack?: string | undefined;
  /** The cause, when it is an error (as data) or a primitive. */
  readonly cause?: ErrorData | string | number | boolean | null | undefined;
}

/**
 * The answer to a {@link SlotRequest}. The slot never lets piscina see a thrown error, so a
 * rejected piscina promise always means the thread died (or the request could not be posted).
 */
export type SlotResponse =
  | {
      readonly kind: 'ok';
      /** The result, with every MemorySegment replaced by {@link mark} (one shared object). */
      readonly value: unknown;
      /** How many marks `value` holds (0: nothing to decode, the common case). */
      readonly segments: number;
      /** The i-th mark's segment handle, in walk order (absent when `segments` is 0). */
      readonly handles?: Float64Array | undefined;
      /** The one object that stands for every segment in `value` (identity survives the clone). */
      readonly mark?: SegmentMark | undefined;
    }
  | { readonly kind: 'error'; readonly error: ErrorData };

/**
 * What stands for a MemorySegment inside a task result: one object per result, referenced once
 * per segment; the handles travel beside it in walk order. See src/pool/result-codec.ts.
 */
export interface SegmentMark {
  readonly '@@segment-arena/segment': true;
}

/** Posted by an actor's slot on the actor's port (comlink ignores messages without an id). */
export type ActorControl = { readonly kind: 'segment-arena:actor-ready' };

/** A MemorySegment as comlink's transfer handler sends it: `[arena id, handle]`. */
export type SegmentWire = readonly [arenaId: number, handle: number];
