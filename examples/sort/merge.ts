/**
 * k-way merge of sorted runs of records (records.ts), each read through a PagedReader, into one
 * PagedWriter, with a binary min-heap of the runs ordered by their current record's key. Used
 * twice: by a task to merge the runs it spilled to files, and by the main thread to merge the
 * runs of all tasks.
 *
 * The heap holds run indices; ties go to the lower run, so the merge is stable. Per record: one
 * record out, one record in from the same run, one sift-down of log2(k) levels. Records move as
 * four int32 words (the same bits as the uint32 words of records.ts): int32 values stay small
 * integers in V8, where uint32 values above 2^31 would be boxed whenever a call is not inlined.
 */
import type { PagedReader, PagedWriter } from '../../src/index.js';
import { sortHi, sortLo } from './records.js';

export class RunMerger {
  private readonly readers: readonly PagedReader[];
  private readonly out: PagedWriter;
  /** Current record of each run: its order-preserving key words, and its four raw words. */
  private readonly keyHi: Float64Array;
  private readonly keyLo: Float64Array;
  private readonly words: Int32Array;
  private readonly heap: Int32Array;
  private size = 0;
  /** Records written so far. */
  merged = 0;

  constructor(readers: readonly PagedReader[], out: PagedWriter) {
    const k = readers.length;
    this.readers = readers;
    this.out = out;
    this.keyHi = new Float64Array(k);
    this.keyLo = new Float64Array(k);
    this.words = new Int32Array(k * 4);
    this.heap = new Int32Array(k);
    for (let i = 0; i < k; i++) {
      if (this.load(i)) {
        this.heap[this.size++] = i;
        this.siftUp(this.size - 1);
      }
    }
  }

  /** True once every run is merged. */
  get done(): boolean {
    return this.size === 0;
  }

  /** Merge up to `max` records; returns how many. */
  step(max: number): number {
    const { heap, words, out } = this;
    let n = 0;
    while (n < max && this.size > 0) {
      const i = heap[0]!;
      const w = i * 4;
      out.writeInt32(words[w]!);
      out.writeInt32(words[w + 1]!);
      out.writeInt32(words[w + 2]!);
      out.writeInt32(words[w + 3]!);
      n++;
      if (!this.load(i)) {
        const last = heap[--this.size]!;
        if (this.size === 0) break;
        heap[0] = last;
      }
      this.siftDown(0);
    }
    this.merged += n;
    return n;
  }

  /** Read run i's next record; false at the end of the run. */
  private load(i: number): boolean {
    const r = this.readers[i]!;
    if (r.atEnd()) return false;
    const lo = r.readInt32();
    const hi = r.readInt32();
    const w = i * 4;
    this.words[w] = lo;
    this.words[w + 1] = hi;
    this.words[w + 2] = r.readInt32();
    this.words[w + 3] = r.readInt32();
    this.keyHi[i] = sortHi(hi);
    this.keyLo[i] = sortLo(lo, hi);
    return true;
  }

  private less(i: number, j: number): boolean {
    const a = this.keyHi[i]!;
    const b = this.keyHi[j]!;
    if (a !== b) return a < b;
    const c = this.keyLo[i]!;
    const d = this.keyLo[j]!;
    return c !== d ? c < d : i < j;
  }

  private siftUp(at: number): void {
    const heap = this.heap;
    const x = heap[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = heap[parent]!;
      if (!this.less(x, p)) break;
      heap[at] = p;
      at = parent;
    }
    heap[at] = x;
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const size = this.size;
    const x = heap[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.less(heap[right]!, heap[child]!)) child = right;
      const c = heap[child]!;
      if (!this.less(c, x)) break;
      heap[at] = c;
      at = child;
    }
    heap[at] = x;
  }
}
