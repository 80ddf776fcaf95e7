/**
 * Messages and shared control words between the scaling suite (main thread, thread-rig.ts)
 * and its workers (core-worker.ts).
 * Types and constants only; compiled to dist/ with the worker (tsconfig.build.json).
 *
 * Control buffer (Int32 words, each on its own 64-byte line):
 *   CTRL_GO    the round that may start; written by main (store + notify), read by workers.
 *   CTRL_STOP  the round that must stop; written by main, polled by workers every few hundred ops.
 * Rounds are numbered from 1 and never reused, so a stale GO or STOP never matches.
 */
import type { ArenaDescriptor } from '../../src/index.js';

export const CTRL_GO = 16;
export const CTRL_STOP = 32;
export const CTRL_WORDS = 64;

/**
 * A poll interval (POLL_EVERY ops, normally 10–40 µs) longer than this means the worker was
 * off the CPU; a young-generation GC of these loops takes well under it.
 */
export const GAP_MS = 0.5;

/**
 * What a worker loops on: the arena (lease.allocate/release), the bench's plain Treiber
 * stack, or a compute probe (a private ALU loop that shares nothing: how well this machine
 * runs two threads at all at that moment).
 */
export type WorkMode = 'arena' | 'treiber' | 'compute';

export interface WorkerInit {
  readonly id: number;
  readonly arena: ArenaDescriptor;
  readonly treiber: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}

export type ToWorker =
  | { readonly type: 'run'; readonly round: number; readonly mode: WorkMode; readonly hold: number }
  | { readonly type: 'exit' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'armed'; readonly round: number }
  | {
      readonly type: 'result';
      readonly round: number;
      /** allocate+release pairs (arena), pop+push pairs (treiber) or loop steps (compute) */
      readonly ops: number;
      /** length of this worker's window, from seeing GO to seeing STOP */
      readonly ns: number;
      /** failed head CASes (treiber only; 0 for the arena) */
      readonly retries: number;
      /**
       * Time inside the window spent in poll intervals longer than GAP_MS: the thread was
       * descheduled (another process had the core), not working. See core-worker.ts.
       */
      readonly offCpuNs: number;
    }
  | { readonly type: 'error'; readonly message: string };
