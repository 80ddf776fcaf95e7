/**
 * What crosses between the showcase's main thread and its sort tasks: the task's input and
 * output (one structured clone each way, a few hundred bytes: the records themselves move by
 * segment handle), and the shared progress words the tasks bump and the progress bar reads.
 */
import type { MemorySegment } from '../../src/index.js';

/**
 * Failures the tests inject, right after the first spill file of the first spilling task, to check
 * that temporary files are removed on every path: the task throws ('fail'), its thread dies
 * without cleaning up ('crash'), or it waits until the run is aborted, e.g. by Ctrl-C ('stall').
 */
export type Injection = 'fail' | 'crash' | 'stall';

/** Input of one sort task. */
export interface SortTaskInput {
  /** Index of the share (for file names and the report). */
  readonly share: number;
  /** The share's records: handles of the main thread's input segments, read in place. */
  readonly handles: readonly number[];
  /** Bytes of records in those segments (a whole number of records). */
  readonly length: number;
  /** Directory for spill files (the job's temporary directory). */
  readonly spillDir: string;
  /** Progress words ({@link P_WORK}, …), an Int32Array over this buffer. */
  readonly progress: SharedArrayBuffer;
  /** For tests: see {@link Injection}. */
  readonly inject?: Injection;
}

/** What one sort task measured. */
export interface SortTaskStats {
  readonly share: number;
  readonly slot: number;
  readonly records: number;
  /** True when the whole share was sorted in memory (no spill). */
  readonly inMemory: boolean;
  /** Sorted runs written to files (0 when in memory). */
  readonly spills: number;
  readonly spilledBytes: number;
  /** Radix passes run (over all runs of the task). */
  readonly passes: number;
  /** Peak and limit of the task's lease, in bytes. */
  readonly leasePeak: number;
  readonly leaseLimit: number;
  readonly ms: number;
}

/** Output of one sort task: the run (moved zero-copy into the caller's `into` lease) and its figures. */
export interface SortTaskOutput {
  readonly run: { readonly segments: MemorySegment[]; readonly length: number };
  readonly stats: SortTaskStats;
}

/** Progress words: records read from the input plus records merged from spill files. */
export const P_WORK = 0;
/** Progress words: spill files written. */
export const P_SPILLS = 1;
export const PROGRESS_WORDS = 2;

/** How often a task bumps P_WORK (records). */
export const PROGRESS_EVERY = 1 << 16;
