/**
 * What the paged views share: the raw access to one page, and the argument checks of their calls.
 *
 * A view reads and writes a page through a fixed-length `DataView` of exactly that segment,
 * built from the segment's public `as(Uint8Array)`. `as()` checks the segment's epoch once, when
 * the view enters the page; the accesses that follow are unchecked (that is what makes a stream
 * of small values cheap: FACTS.md, a plain typed-array access ~1 ns). So a view must not outlive
 * the segments it streams: release a segment only once the view has left it (PagedReader's
 * `release` option does exactly that).
 *
 * Uses only the public API of src/core (MemorySegment) and the error factories.
 */
import { ArenaError, invalidArgument } from '../errors.js';
import type { MemorySegment } from '../core/segment.js';

/** The raw views of one page. */
export interface PageAccess {
  readonly u8: Uint8Array;
  readonly dv: DataView;
}

/** Enter a page: checked once here (ERR_SEGMENT_RELEASED if the segment was released). */
export function pageAccess(segment: MemorySegment): PageAccess {
  const u8 = segment.as(Uint8Array);
  return { u8, dv: new DataView(u8.buffer, u8.byteOffset, u8.byteLength) };
}

/** Duck-typed: a MemorySegment of any module instance of this library (built or source). */
export function checkSegment(name: string, value: unknown): MemorySegment {
  const s = value as Partial<MemorySegment> | null;
  if (typeof s !== 'object' || s === null || typeof s.as !== 'function' || !(typeof s.size === 'number' && s.size > 0)) {
    throw invalidArgument(name, 'must be a MemorySegment', value);
  }
  return value as MemorySegment;
}

export function checkNumber(value: unknown): void {
  if (typeof value !== 'number') throw invalidArgument('value', 'must be a number', value);
}

export function checkBigInt(value: unknown): void {
  if (typeof value !== 'bigint') throw invalidArgument('value', 'must be a bigint', value);
}

export function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument(name, 'must be a Uint8Array', value);
  return value;
}

/** A non-negative safe integer (a byte count or a length). */
export function checkCount(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalidArgument(name, `must be an integer from 0 to ${max}`, value);
  }
  return value;
}

/** The end of the data came before `width` more bytes (Flink's EOFException). */
export function endOfData(width: number, position: number, length: number | undefined): ArenaError {
  const of = length === undefined ? 'the data' : `the data (${length} bytes)`;
  return new ArenaError('ERR_OUT_OF_BOUNDS', `read of ${width} byte(s) at position ${position} runs past the end of ${of}`);
}
