/**
 * The check of the merged output, read back through a PagedReader: every key in order (the total
 * order of records.ts), the count and checksum of the records (to compare with the input's), and
 * each key against the baseline's sorted keys, bit for bit.
 */
import type { PagedReader } from '../../src/index.js';
import { Checksum, sortHi, sortLo } from './records.js';

export class OutputVerifier {
  readonly checksum = new Checksum();
  /** Index of the first record smaller than the one before it, or -1. */
  firstUnsorted = -1;
  /** Index of the first key that differs from the expected sorted keys, or -1. */
  firstMismatch = -1;
  private readonly expected: Uint32Array;
  private prevHi = -1;
  private prevLo = -1;
  private ended = false;

  /** @param sortedKeys the same keys, sorted by someone else (the baseline). */
  constructor(
    private readonly reader: PagedReader,
    sortedKeys: Float64Array,
  ) {
    this.expected = new Uint32Array(sortedKeys.buffer, sortedKeys.byteOffset, sortedKeys.length * 2);
  }

  get done(): boolean {
    return this.ended;
  }

  /** Check up to `max` records; returns how many. */
  step(max: number): number {
    const { reader: r, checksum, expected } = this;
    let n = 0;
    while (n < max) {
      if (r.atEnd()) {
        this.ended = true;
        if (checksum.count * 2 !== expected.length && this.firstMismatch < 0) this.firstMismatch = checksum.count;
        break;
      }
      const k = checksum.count;
      const lo = r.readUint32();
      const hi = r.readUint32();
      checksum.add(lo, hi, r.readUint32(), r.readUint32());
      if ((expected[2 * k] !== lo || expected[2 * k + 1] !== hi) && this.firstMismatch < 0) this.firstMismatch = k;
      const sHi = sortHi(hi);
      const sLo = sortLo(lo, hi);
      if ((sHi < this.prevHi || (sHi === this.prevHi && sLo < this.prevLo)) && this.firstUnsorted < 0) this.firstUnsorted = k;
      this.prevHi = sHi;
      this.prevLo = sLo;
      n++;
    }
    return n;
  }
}
