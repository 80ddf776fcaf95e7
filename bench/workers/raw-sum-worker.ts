/**
 * The parallel-sum suite's raw piscina baseline worker: sum a Float64Array chunk that piscina
 * copied into this thread by structured clone.
 */
import { sumFloat64 } from './sum-kernel.js';

export default function sumChunk(chunk: Float64Array): number {
  return sumFloat64(chunk);
}

/** What `sumShared` sums: a range of a plain SharedArrayBuffer, in place (nothing copied). */
export interface SharedRange {
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
}

/** The "no library" baseline: sum a range of a plain SharedArrayBuffer shared with the main thread. */
export function sumShared(r: SharedRange): number {
  return sumFloat64(new Float64Array(r.buffer, r.offset, r.length));
}
