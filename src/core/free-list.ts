/**
 * The central free list: a Treiber stack of pre-linked batches (R. K. Treiber, "Systems
 * Programming: Coping with Parallelism", IBM RJ 5118, 1986), made ABA-safe with a version tag
 * packed next to the top index in one 64-bit head word.
 *
 * Owned words: W_CENTRAL_HEAD (BigInt64: low 32 bits = leader index + 1, 0 = empty; high
 * 32 bits = tag), W_CENTRAL_COUNT (segments linked in), W_AVAIL (unreserved free segments),
 * and NEXT[i] / STATE[i] of every segment while it is in the list.
 *
 * Shape: the list is one chain of segments through NEXT. It is cut into batches: a batch
 * leader has STATE = FREE | length, its length-1 followers come after it, and the NEXT of a
 * batch's last segment is the next batch's leader. Push and pop move a whole batch with ONE
 * head CAS, so the shared head is touched once per batch, not once per segment.
 *
 * Why the head is 64 bits: the tag must not wrap while a thread sits between reading the head
 * and its CAS. Packed into an Int32 beside an index of up to 21 bits, the tag would keep 11
 * bits and wrap after 2048 operations, a fraction of a millisecond: any GC pause is longer.
 * Here the tag has 32 bits. Every successful CAS on the head moves its cache line between
 * cores (>= ~20 ns on this machine, measured 75-80 ns for the whole BigInt update), so 2^32
 * head changes take at least 2^32 x 20 ns = 86 s (~5 min at the measured 75 ns). A GC pause or
 * descheduling lasts milliseconds to a few seconds; the tag cannot wrap within one. (A thread
 * stopped for minutes in a debugger while others churn is outside this argument.) The BigInt cost (~80 ns vs
 * ~20 ns for an Int32 head) is paid once per batch of up to 32 segments, off the hot path.
 *
 * ABA argument for pop: the popper reads head h = (L, tag), reads the batch length at L and
 * walks to the batch's last segment to read the next leader N, then CASes h -> (N, tag + 1).
 * If any pop or push happened in between, the tag moved and the CAS fails (until the tag wraps,
 * see above), so the CAS succeeds only if L..N is still the top batch exactly as read. The walk
 * may read garbage when it races; every value it reads is range-checked and a CAS failure
 * discards it.
 *
 * Counts: W_AVAIL + outstanding reservations ≤ segments on the list + surplus in flight. A
 * taker first lowers W_AVAIL by CAS (never below 0), then pops; a giver pushes first, then
 * raises W_AVAIL. A taker whose popped batch is larger than its claim holds the surplus for a
 * moment before pushing it back; another taker that finds the list short in that moment waits
 * for the push (awaitPush, bounded). So a pop that follows a successful claim finds its
 * segments. If a thread is killed between two steps, its segments are stranded off the list
 * (never handed to two owners) and W_AVAIL may promise more than the list holds; a taker that
 * finds the list short then keeps the shortfall out of W_AVAIL (so the count errs low, never
 * high), and the quiescent repair in audit.ts recounts everything from STATE: no segment is
 * lost, only capacity until then.
 */
import { internal } from '../errors.js';
import { W_AVAIL, W_CENTRAL_COUNT, W_CENTRAL_HEAD, type Layout } from './layout.js';
import { wakeWaiters } from './waiters.js';
import { ID_MASK, KIND_MASK, KIND_FREE, nextIdx, stateFreeLeader, stateIdx } from './segment-table.js';

const LOW32 = 0xffffffffn;

/** The central list as seen from one thread. Holds views only; all state is shared. */
export class CentralFreeList {
  private readonly headIdx = W_CENTRAL_HEAD / 2;

  constructor(
    private readonly i32: Int32Array,
    private readonly head: BigInt64Array,
    private readonly layout: Layout,
    /** Test-only: false switches the ABA tag off (DESIGN §3; proves the stress test sees ABA). */
    private readonly abaTag: boolean,
  ) {}

  /**
   * Link `count` segments `segs[from..from+count)` into one batch and push it.
   * The caller holds them exclusively (popped or cached), so the plain writes to their NEXT
   * and STATE race with nobody; the head CAS publishes them (seq-cst) to every later popper.
   * Races with: other pushes and pops on the head. Losing the CAS means the head moved:
   * relink the tail to the new top and try again. Lock-free: someone's CAS always succeeded.
   */
  push(segs: Int32Array | readonly number[], from: number, count: number): void {
    if (count <= 0) return;
    const i32 = this.i32;
    const l = this.layout;
    const leader = segs[from]!;
    for (let k = 0; k < count - 1; k++) {
      const s = segs[from + k]!;
      i32[stateIdx(l, s)] = KIND_FREE;
      i32[nextIdx(l, s)] = segs[from + k + 1]!;
    }
    const tail = segs[from + count - 1]!;
    if (count > 1) i32[stateIdx(l, tail)] = KIND_FREE;
    i32[stateIdx(l, leader)] = stateFreeLeader(count);
    const tailNext = nextIdx(l, tail);
    for (;;) {
      const h = Atomics.load(this.head, this.headIdx);
      i32[tailNext] = Number(h & LOW32) - 1;
      const tag = this.abaTag ? (h >> 32n) + 1n : 0n;
      const nh = ((tag & LOW32) << 32n) | BigInt(leader + 1);
      if (Atomics.compareExchange(this.head, this.headIdx, h, nh) === h) break;
    }
    Atomics.add(i32, W_CENTRAL_COUNT, count);
  }

  /**
   * Pop the top batch into `out[at..]`; returns how many segments it held (0 when empty).
   * The popped segments still read STATE FREE: the caller becomes their exclusive holder and
   * must record where they go (CACHED or OWNED) next.
   * Races with: pushes and pops. See the ABA argument in the file header.
   */
  pop(out: Int32Array, at: number): number {
    const i32 = this.i32;
    const l = this.layout;
    const max = l.maxSegments;
    for (;;) {
      const h = Atomics.load(this.head, this.headIdx);
      const leader = Number(h & LOW32) - 1;
      if (leader < 0) return 0;
      const st = i32[stateIdx(l, leader)]!;
      const count = st & ID_MASK;
      let ok = (st & KIND_MASK) === KIND_FREE && count >= 1 && count <= out.length - at;
      let s = leader;
      for (let k = 0; ok && k < count; k++) {
        out[at + k] = s;
        if (k < count - 1) {
          s = i32[nextIdx(l, s)]!;
          ok = s >= 0 && s < max;
        }
      }
      if (!ok) {
        // Inconsistent read: either we raced (the head moved: retry) or the list is corrupt.
        if (Atomics.load(this.head, this.headIdx) === h) throw internal(`central free list: bad batch at segment ${leader}`);
        continue;
      }
      const next = i32[nextIdx(l, s)]!;
      const tag = this.abaTag ? (h >> 32n) + 1n : 0n;
      const nh = ((tag & LOW32) << 32n) | BigInt(next + 1);
      if (Atomics.compareExchange(this.head, this.headIdx, h, nh) === h) {
        Atomics.sub(i32, W_CENTRAL_COUNT, count);
        return count;
      }
    }
  }

  /**
   * Claim up to `want` unreserved segments from W_AVAIL (never below zero). Returns the number
   * claimed; the caller must then pop exactly that many. Races with other claims and gives:
   * a lost CAS re-reads the count and retries.
   */
  claim(want: number): number {
    for (;;) {
      const a = Atomics.load(this.i32, W_AVAIL);
      const take = a < want ? a : want;
      if (take <= 0) return 0;
      if (Atomics.compareExchange(this.i32, W_AVAIL, a, a - take) === a) return take;
    }
  }

  /** Claim exactly `n` unreserved segments or none (reservations, allocateMany). */
  claimExactly(n: number): boolean {
    for (;;) {
      const a = Atomics.load(this.i32, W_AVAIL);
      if (a < n) return false;
      if (Atomics.compareExchange(this.i32, W_AVAIL, a, a - n) === a) return true;
    }
  }

  /** Make `n` segments available to every lease (after pushing them, or returning a claim). */
  give(n: number): void {
    if (n <= 0) return;
    Atomics.add(this.i32, W_AVAIL, n);
    wakeWaiters(this.i32); // every give may satisfy a waiter (one plain read when none waits)
  }

  /**
   * Pop exactly `n` already-claimed segments into `out[at..]`. Batches larger than what is
   * still needed are split: the surplus is pushed back as a batch of its own.
   * Returns how many were popped: less than `n` only when the counts promised segments the
   * list does not hold (a thread died holding a popped surplus, or stalled with it for longer
   * than awaitPush waits). The caller must NOT give the shortfall back to W_AVAIL: those units
   * are not on the list, and counting them again would make every later drain wait here. The
   * quiescent repair recounts.
   */
  popExactly(n: number, out: Int32Array, at: number, scratch: Int32Array): number {
    let got = 0;
    while (got < n) {
      const c = this.pop(scratch, 0);
      if (c === 0) {
        // Counts say there must be more: another thread is between popping a batch larger than
        // its claim and pushing the surplus back. Wait for it, spinning first, then sleeping
        // briefly so a descheduled thread gets the core (bounded: ~50 ms). Only a thread that
        // died in that window makes the list stay short (quiescent repair fixes the counts).
        if (!this.awaitPush()) break;
        continue;
      }
      const need = n - got;
      const keep = c < need ? c : need;
      for (let k = 0; k < keep; k++) out[at + got + k] = scratch[k]!;
      got += keep;
      if (c > keep) this.push(scratch, keep, c - keep);
    }
    return got;
  }

  private readonly nap = new Int32Array(new SharedArrayBuffer(4));

  /** True when the list holds no batch (the tag in the high bits says nothing about that). */
  private isEmpty(): boolean {
    return (Atomics.load(this.head, this.headIdx) & LOW32) === 0n;
  }

  /**
   * Wait until the list is non-empty; false after ~50 ms. (Regression: this once tested the
   * whole 64-bit head, which the tag keeps non-zero after the first operation, so an empty list
   * looked full and popExactly spun forever.)
   */
  private awaitPush(): boolean {
    for (let k = 0; k < 1200; k++) {
      if (!this.isEmpty()) return true;
      // Atomics.wait is allowed on Node's main thread too; it only blocks this thread.
      if (k >= 200) Atomics.wait(this.nap, 0, 0, 0.05);
    }
    return !this.isEmpty();
  }

  /** Physical count (stats; exact only when quiescent). */
  count(): number {
    return Atomics.load(this.i32, W_CENTRAL_COUNT);
  }

  available(): number {
    return Atomics.load(this.i32, W_AVAIL);
  }

  /**
   * Walk the whole list (audit, quiescent only). Calls `visit` for each segment; returns false
   * if the walk met a cycle or an index out of range.
   */
  walk(visit: (index: number, leader: boolean) => void, segCount: number): boolean {
    const i32 = this.i32;
    const l = this.layout;
    let s = Number(Atomics.load(this.head, this.headIdx) & LOW32) - 1;
    let left = 0;
    let steps = 0;
    while (s >= 0) {
      if (s >= segCount || ++steps > segCount) return false;
      const leader = left === 0;
      if (leader) {
        const st = i32[stateIdx(l, s)]!;
        left = st & ID_MASK;
        if ((st & KIND_MASK) !== KIND_FREE || left < 1) return false;
      } else if (i32[stateIdx(l, s)] !== KIND_FREE) return false;
      visit(s, leader);
      left--;
      s = i32[nextIdx(l, s)]!;
    }
    return left === 0;
  }

  /** Empty the list without touching segments (quiescent repair only). */
  reset(): void {
    Atomics.store(this.head, this.headIdx, 0n);
    Atomics.store(this.i32, W_CENTRAL_COUNT, 0);
    Atomics.store(this.i32, W_AVAIL, 0);
  }
}
