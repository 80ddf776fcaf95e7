/**
 * The parallel-sum suite's slot task (run by `tm.run`, built JS): sum the float64 values of the
 * segments named by `handles`. They belong to the main thread's data lease; the task rehydrates
 * each handle in its thread's attached arena and reads the segment in place (nothing was copied
 * to hand them over, and the task allocates nothing).
 */
import type { TaskContext } from '../../src/index.js';
import { sumFloat64 } from './sum-kernel.js';
import { runQueueWaitMs } from './sum-schedstat.js';

export interface SumInput {
  readonly handles: readonly number[];
}

export interface SumOutput {
  readonly sum: number;
  /** When the task began and ended (rehydrate + sum), absolute ms (performance.timeOrigin + now()). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** ms this thread waited on a run queue meanwhile (undefined: not measurable here). */
  readonly waitedMs: number | undefined;
}

const now = (): number => performance.timeOrigin + performance.now();

export default function sumSegments(input: SumInput, ctx: TaskContext): SumOutput {
  const wait0 = runQueueWaitMs();
  const startedAt = now();
  let sum = 0;
  for (const h of input.handles) sum += sumFloat64(ctx.arena.segment(h).as(Float64Array));
  const endedAt = now();
  const wait1 = runQueueWaitMs();
  const waitedMs = wait0 === undefined || wait1 === undefined ? undefined : wait1 - wait0;
  return { sum, startedAt, endedAt, waitedMs };
}
