/**
 * Task modules for the dispatch and handoff suites, compiled by `npm run build` (Node 20 cannot
 * start .ts workers). `tm.run` calls these with (input, ctx); raw piscina calls the same work
 * through its own worker (raw-piscina-worker.ts).
 */
import type { MemorySegment, TaskContext } from '../../src/index.js';

/** The empty task: measures dispatch alone. */
export function empty(): null {
  return null;
}

/** Absolute time in ms (comparable across threads of one process). */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Produce `bytes` of result in the task's lease (segment i gets byte i & 0xff at offset 0, so
 * every segment is touched and the caller can check which segment arrived where) and return the
 * segments by handle. `sentAt` is taken after the data exists: the caller measures the hand-off
 * from there.
 */
export function produce(bytes: number, ctx: TaskContext): { segments: MemorySegment[]; sentAt: number } {
  const n = Math.ceil(bytes / ctx.arena.segmentSize);
  const segments = ctx.lease.allocateMany(n);
  for (let i = 0; i < n; i++) segments[i]!.setUint8(0, i & 0xff);
  return { segments, sentAt: now() };
}
