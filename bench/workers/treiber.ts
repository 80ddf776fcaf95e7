/**
 * The baseline of the threaded bench: a plain lock-free Treiber stack (R. K. Treiber, IBM RJ
 * 5118, 1986) over a SharedArrayBuffer, with ONE Int32 head word and no per-thread caches.
 * Every pop and push is a CAS on that head, so two threads fight over one cache line; the
 * arena's per-thread caches exist to avoid exactly this.
 *
 * Words: HEAD = (tag << 16) | (index + 1), 0 in the low half = empty; NEXT[i] at NODE_BASE + i.
 * The 16-bit tag is bumped by every successful CAS so that a pop which read (top, next) and
 * stalled fails its CAS if the head changed in between (ABA); it wraps after 65536 changes, an
 * accepted risk for a benchmark (the library's own list uses a 32-bit tag, see free-list.ts).
 * HEAD sits alone on its line: words 0..31 hold nothing else, nodes start at word 32.
 */
const HEAD = 16;
const NODE_BASE = 32;
const INDEX_MASK = 0xffff;
const MAX_NODES = INDEX_MASK - 1;

export class TreiberStack {
  private readonly words: Int32Array;
  /** Failed head CASes by this thread (contention). */
  retries = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A buffer for `nodes` nodes, all pushed. */
  static create(nodes: number): SharedArrayBuffer {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new RangeError(`nodes must be 1..${MAX_NODES}`);
    const buffer = new SharedArrayBuffer((NODE_BASE + nodes + 16) * 4);
    const s = new TreiberStack(buffer);
    for (let i = nodes - 1; i >= 0; i--) s.push(i);
    return buffer;
  }

  /** Pop the top node; -1 when empty. Races with pushes and pops: a lost CAS re-reads the head. */
  pop(): number {
    const a = this.words;
    for (;;) {
      const h = Atomics.load(a, HEAD);
      const top = (h & INDEX_MASK) - 1;
      if (top < 0) return -1;
      const next = a[NODE_BASE + top]!; // may be stale if we race; then the CAS fails
      const nh = ((((h >>> 16) + 1) << 16) | (next + 1)) | 0;
      if (Atomics.compareExchange(a, HEAD, h, nh) === h) return top;
      this.retries++;
    }
  }

  /**
   * Count the nodes reachable from the head, or -1 if the walk meets a cycle or a bad index
   * (a corrupted stack). Quiescent use only: the bench checks the baseline after its rounds.
   */
  count(maxNodes: number): number {
    const a = this.words;
    let n = 0;
    for (let i = (Atomics.load(a, HEAD) & INDEX_MASK) - 1; i >= 0; i = a[NODE_BASE + i]!) {
      if (i >= maxNodes || ++n > maxNodes) return -1;
    }
    return n;
  }

  /** Push node `i`, which this thread holds exclusively. The CAS publishes its NEXT. */
  push(i: number): void {
    const a = this.words;
    for (;;) {
      const h = Atomics.load(a, HEAD);
      a[NODE_BASE + i] = (h & INDEX_MASK) - 1;
      const nh = ((((h >>> 16) + 1) << 16) | (i + 1)) | 0;
      if (Atomics.compareExchange(a, HEAD, h, nh) === h) return;
      this.retries++;
    }
  }
}
