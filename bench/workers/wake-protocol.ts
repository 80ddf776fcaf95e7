/**
 * Messages and shared control words between the wake suite (main thread, bench/suites/wake.ts)
 * and its two workers (wake-worker.ts). Types and constants only; compiled to dist/ with the
 * worker (tsconfig.build.json).
 *
 * Control buffer (Int32 words, each on its own 64-byte line), used by the raw baselines only:
 *   WAKE_PING  trip number the initiator sent (store + notify), 0 before the first trip;
 *   WAKE_PONG  trip number the echo answered (store + notify).
 * The main thread resets both to 0 before each raw rep, while both workers are idle.
 */
import type { ArenaDescriptor, LeaseDescriptor } from '../../src/index.js';

export const WAKE_PING = 16;
export const WAKE_PONG = 32;
export const WAKE_WORDS = 64;

/**
 * How one leg of a round trip waits and wakes:
 *  - 'allocateAsync': `lease.allocateAsync()` on an exhausted arena, woken by `lease.release`
 *    in the other thread (the subject);
 *  - 'waitAsync': raw `Atomics.waitAsync` + `await`, woken by `Atomics.notify` (the style
 *    allocateAsync waits in, src/core/waiters.ts; the baseline);
 *  - 'wait': raw blocking `Atomics.wait`, woken by `Atomics.notify` (info).
 */
export type WakeKind = 'allocateAsync' | 'waitAsync' | 'wait';

/** The initiator starts each trip and times it; the echo answers. */
export type WakeRole = 'initiator' | 'echo';

export interface WakeInit {
  readonly role: WakeRole;
  /** Two arenas of `trips` segments each; both workers attach both. */
  readonly arenas: readonly [ArenaDescriptor, ArenaDescriptor];
  /** This worker's own lease on each arena (created by the main thread, attached here). */
  readonly leases: readonly [LeaseDescriptor, LeaseDescriptor];
  readonly control: SharedArrayBuffer;
}

export type ToWakeWorker =
  /** Allocate every segment of arena `arena` (the worker then holds them). */
  | { readonly type: 'fill'; readonly arena: 0 | 1 }
  /**
   * Run `trips` round trips of `kind`. For 'allocateAsync', `give` is the arena this worker
   * releases into; it waits on the other one.
   */
  | { readonly type: 'run'; readonly round: number; readonly kind: WakeKind; readonly trips: number; readonly give: 0 | 1 }
  | { readonly type: 'exit' };

export type FromWakeWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'filled'; readonly held: number }
  /** The echo is waiting for the first trip. */
  | { readonly type: 'armed'; readonly round: number }
  /** The initiator's time of each round trip, in ns. */
  | { readonly type: 'result'; readonly round: number; readonly ns: readonly number[] }
  /** The echo answered every trip. */
  | { readonly type: 'done'; readonly round: number }
  | { readonly type: 'error'; readonly message: string };
