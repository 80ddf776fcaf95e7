/**
 * The parallel-sum suite's raw piscina baseline worker: sum a Float64Array chunk that piscina
 * copied into this thread by structured clone.
 */
import { sumFloat64 } from './sum-kernel.js';

export default function sumChunk(chunk: Float64Array): number {
  return sumFloat64(chunk);
}
