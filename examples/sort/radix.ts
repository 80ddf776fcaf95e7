/**
 * LSD radix sort of 16-byte records held in a paged buffer: a list of segments, each seen as a
 * Uint32Array of whole records (a segment size is a power of two of at least 4 KiB, so a record
 * never straddles two). Record r lives in segment r >>> shift, at word (r & mask) * 4.
 *
 * Keys are the 64-bit order-preserving form of records.ts (w0 = low word, w1 = high word), sorted
 * in six passes of 11, 11 and 10 bits per word. The counts of all six digits are taken in one go
 * while the records are copied in ({@link countDigits}), and a pass whose digit is the same for
 * every record is skipped. Each pass scatters from one buffer into the other, so the sort needs
 * a scratch buffer as large as the data: the in-memory sort of n bytes takes 2n of memory.
 */
import { rawHi, rawLo } from './records.js';

/** Which word and bits each pass sorts on, least significant first. */
const PASSES: readonly { word: 0 | 1; shift: number; bits: number }[] = [
  { word: 0, shift: 0, bits: 11 },
  { word: 0, shift: 11, bits: 11 },
  { word: 0, shift: 22, bits: 10 },
  { word: 1, shift: 0, bits: 11 },
  { word: 1, shift: 11, bits: 11 },
  { word: 1, shift: 22, bits: 10 },
];
const BUCKETS = 2048;

/** Digit counts of the six passes (6 × 2048), to fill with {@link countDigits}. */
export function newCounts(): Uint32Array {
  return new Uint32Array(PASSES.length * BUCKETS);
}

/** Count one key (order-preserving words) in all six digit histograms. */
export function countDigits(counts: Uint32Array, sLo: number, sHi: number): void {
  counts[sLo & 0x7ff]!++;
  counts[BUCKETS + ((sLo >>> 11) & 0x7ff)]!++;
  counts[2 * BUCKETS + (sLo >>> 22)]!++;
  counts[3 * BUCKETS + (sHi & 0x7ff)]!++;
  counts[4 * BUCKETS + ((sHi >>> 11) & 0x7ff)]!++;
  counts[5 * BUCKETS + (sHi >>> 22)]!++;
}

/**
 * Sort the first `count` records of `a` (buffers of whole-record segments, `recordsPerSegment` a
 * power of two) using `b` (at least as many segments) as scratch. Returns the buffer that holds
 * the result, and how many passes ran.
 */
export function radixSort(
  a: readonly Uint32Array[],
  b: readonly Uint32Array[],
  count: number,
  counts: Uint32Array,
  recordsPerSegment: number,
): { sorted: readonly Uint32Array[]; passes: number } {
  const shiftSeg = Math.log2(recordsPerSegment);
  const maskSeg = recordsPerSegment - 1;
  const offsets = new Int32Array(BUCKETS);
  let src = a;
  let dst = b;
  let passes = 0;
  for (let p = 0; p < PASSES.length; p++) {
    const { word, shift, bits } = PASSES[p]!;
    const base = p * BUCKETS;
    const buckets = 1 << bits;
    // Exclusive prefix sums; a digit shared by every record leaves the order as it is.
    let sum = 0;
    let trivial = false;
    for (let d = 0; d < buckets; d++) {
      const c = counts[base + d]!;
      if (c === count) trivial = true;
      offsets[d] = sum;
      sum += c;
    }
    if (trivial) continue;
    const mask = buckets - 1;
    for (let s = 0, r0 = 0; r0 < count; s++, r0 += recordsPerSegment) {
      const from = src[s]!;
      const end = Math.min(recordsPerSegment, count - r0) * 4;
      for (let o = 0; o < end; o += 4) {
        const d = (from[o + word]! >>> shift) & mask;
        const at = offsets[d]!;
        offsets[d] = at + 1;
        const to = dst[at >>> shiftSeg]!;
        const q = (at & maskSeg) << 2;
        to[q] = from[o]!;
        to[q + 1] = from[o + 1]!;
        to[q + 2] = from[o + 2]!;
        to[q + 3] = from[o + 3]!;
      }
    }
    const t = src;
    src = dst;
    dst = t;
    passes++;
  }
  return { sorted: src, passes };
}

/** Turn the keys of the first `count` records back from the order-preserving form into raw float64 bits. */
export function restoreKeys(buffer: readonly Uint32Array[], count: number, recordsPerSegment: number): void {
  for (let s = 0, r0 = 0; r0 < count; s++, r0 += recordsPerSegment) {
    const v = buffer[s]!;
    const end = Math.min(recordsPerSegment, count - r0) * 4;
    for (let o = 0; o < end; o += 4) {
      const sHi = v[o + 1]!;
      v[o] = rawLo(v[o]!, sHi);
      v[o + 1] = rawHi(sHi);
    }
  }
}
