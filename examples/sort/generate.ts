/**
 * The data set, generated on the main thread straight into the segments of the input lease,
 * share by share (a PagedWriter per share). Keys are uniform doubles in [-1e6, 1e6) with 53
 * random bits; the id is the record's index, the stamp 32 random bits. On the way: the checksum
 * of the input, and a plain Float64Array of the keys for the one-thread baseline.
 */
import { PagedWriter, type Lease, type PagedData } from '../../src/index.js';
import { Checksum, Rng } from './records.js';
import type { SortPlan } from './plan.js';

const TWO_POW_32 = 2 ** 32;
const TWO_POW_MINUS_53 = 2 ** -53;

export class InputGenerator {
  readonly checksum = new Checksum();
  /** The keys, in input order, for the baseline. */
  readonly keys: Float64Array;
  /** The finished shares, in order. */
  readonly shares: PagedData[] = [];
  private readonly rng: Rng;
  private readonly bits = new Float64Array(1);
  private readonly words = new Int32Array(this.bits.buffer);
  private writer: PagedWriter;
  private share = 0;
  private inShare = 0;
  private next = 0;

  constructor(
    private readonly plan: SortPlan,
    lease: Lease,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.keys = new Float64Array(plan.records);
    this.writer = new PagedWriter(lease);
    this.closeEmptyShares();
  }

  get done(): boolean {
    return this.share === this.plan.shares.length;
  }

  /** Generate up to `max` records; returns how many. */
  step(max: number): number {
    const { rng, bits, words, keys, checksum } = this;
    let n = 0;
    while (n < max && !this.done) {
      const quota = this.plan.shares[this.share]!.records;
      const w = this.writer;
      const end = Math.min(quota, this.inShare + (max - n));
      for (let i = this.inShare; i < end; i++) {
        const a = rng.i32();
        const b = rng.i32();
        const key = ((a >>> 11) * TWO_POW_32 + (b >>> 0)) * TWO_POW_MINUS_53 * 2e6 - 1e6;
        bits[0] = key;
        // int32 words, the same bits as uint32 (see records.ts).
        const lo = words[0]!;
        const hi = words[1]!;
        const id = this.next++ | 0;
        const stamp = rng.i32();
        w.writeInt32(lo);
        w.writeInt32(hi);
        w.writeInt32(id);
        w.writeInt32(stamp);
        checksum.add(lo, hi, id, stamp);
        keys[this.next - 1] = key;
      }
      n += end - this.inShare;
      this.inShare = end;
      if (end === quota) {
        this.shares.push(w.finish());
        this.share++;
        this.inShare = 0;
        this.closeEmptyShares();
      }
    }
    return n;
  }

  private closeEmptyShares(): void {
    while (!this.done && this.plan.shares[this.share]!.records === 0) {
      this.shares.push(this.writer.finish());
      this.share++;
    }
  }
}
