/**
 * One thread's view of an arena: typed-array views over the two buffers, its thread slot and
 * cache, growth, and pressure. Every Arena object (created or attached) owns one ArenaCore.
 *
 * Owned words: the header line (written once by the creator before the descriptor exists),
 * W_SEG_COUNT, W_GROWS, W_CLOSED, W_PRESSURE, W_PEAK_OUT.
 *   W_SEG_COUNT only grows, by CAS old → new, after the data buffer was grown to hold `new`
 *     segments. The CAS winner, and only it, links the new segments into the central list.
 *   W_CLOSED 0 → 1 once, by the creating thread's close().
 *   W_PRESSURE 0/1: CAS 0 → 1 by the thread that sees usage cross the threshold (it emits
 *     `pressure`), CAS 1 → 0 when usage falls back below it.
 *   W_PEAK_OUT: the most segments ever out of the central list (allocated + cached), sampled
 *     at each refill; raised by a CAS loop.
 *
 * Views over the data buffer are fixed-length (length-tracking views over a growable buffer
 * are 13x slower for plain reads); after growth a thread re-creates them when it first meets
 * a segment index beyond them (ensureView).
 */
import {
  FLAG_ABA_TAG, FLAG_DEBUG, FLAG_LATE_LIMIT, FLAG_NO_WAIT_POLL, FLAG_SCRUB, H_ARENA_ID, H_BATCH, H_FLAGS, H_GROWTH_MILLI,
  H_INITIAL_SEGMENTS, H_MAGIC, H_MAX_LEASES, H_MAX_SEGMENTS, H_MAX_THREADS, H_PRESSURE_MICRO, H_SEGMENT_SHIFT, H_VERSION,
  LAYOUT_VERSION, MAGIC,
  T_WAITING, W_CENTRAL_HEAD, W_CLOSED, W_GROWS, W_PEAK_OUT, W_POISON_DAMAGE, W_PRESSURE, W_SEG_COUNT, computeLayout,
  threadWord, type Layout,
} from './layout.js';
import { LAST_POISONED, genIdx as genIdxOf, lastIdx, stateIdx, stateQuarantined } from './segment-table.js';
import { CentralFreeList } from './free-list.js';
import { MAX_BATCH, ThreadCache } from './cache.js';
import { WaitQueue, wakeWaiters } from './waiters.js';
import { claimThreadSlot, freeThreadSlot } from './thread-table.js';
import { C_SCRUBS, ThreadCounters } from './counters.js';
import { ArenaError, invalidArgument } from '../errors.js';

/** What crosses to another thread to attach: two shareable buffers and the arena's id. */
export interface ArenaDescriptor {
  readonly kind: 'segment-arena';
  readonly id: number;
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

export type CoreEvent = 'pressure' | 'grow' | 'leak';
export type CoreEmit = (type: CoreEvent, detail: Record<string, unknown>) => void;

/** What a debug arena remembers of a segment handed out in this thread. */
interface DebugSite {
  readonly lease: string;
  readonly stack: string;
}

/** Debug: how many released segments wait in a thread's quarantine before reuse. */
export const QUARANTINE = 16;

/** Debug poison: the 32-bit pattern written over a released segment's bytes. */
export const POISON32 = 0xdeadbeef | 0;
const POISON64 = 0xdeadbeefdeadbeefn;

export class ArenaCore {
  readonly i32: Int32Array;
  readonly layout: Layout;
  readonly id: number;
  readonly segmentSize: number;
  readonly segmentShift: number;
  readonly maxSegments: number;
  readonly scrub: boolean;
  readonly debug: boolean;
  /** Test-only mutation: check a lease's limit after publishing the charge. */
  readonly lateLimitCheck: boolean;
  readonly growthFactor: number;
  readonly pressureThreshold: number;
  readonly central: CentralFreeList;
  readonly thread: number;
  readonly cache: ThreadCache;
  readonly waiters: WaitQueue;
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));
  /** Scratch buffers for the central list (one thread uses them at a time). */
  readonly scratch = new Int32Array(MAX_BATCH);
  readonly one = new Int32Array(1);
  /** This thread's activity counters (counters.ts): count in `counters.local`. */
  readonly counters: ThreadCounters;
  /** Local: set when this context detached or the arena was closed through it. */
  detached = false;
  /** Debug: released segments of this thread waiting before reuse (STATE QUARANTINED). */
  private readonly quarantine: number[] = [];
  /** Debug: where each segment bound in this thread was allocated (index → site). */
  private readonly sites = new Map<number, DebugSite>();
  /**
   * Debug: warns (a `leak` event) when a MemorySegment object is collected while its epoch is
   * still owned. A warning only: accounting never depends on GC.
   */
  private readonly finalizer: FinalizationRegistry<{ index: number; gen: number; lease: string }> | undefined;

  u8!: Uint8Array;
  dv!: DataView;
  z64!: BigInt64Array;
  d32!: Int32Array;
  /** Segments covered by the data views in this thread. */
  viewSegments = 0;

  /**
   * Events are dispatched in a microtask, never inside an arena call: a listener is user code,
   * and one that closed a lease or released segments while an allocation was half done would
   * corrupt this thread's cache (regression: a `grow` listener made takeExactly read stack[-1]).
   */
  private readonly emit: CoreEmit;

  constructor(
    readonly descriptor: ArenaDescriptor,
    emit: CoreEmit,
  ) {
    this.emit = (type, detail) => queueMicrotask(() => emit(type, detail));
    // Validate everything before claiming a thread slot, so a bad descriptor leaves no trace
    // (regression: a mismatched data buffer threw a RangeError after the slot was taken, and a
    // larger foreign data buffer was accepted).
    const bad = (): ArenaError => invalidArgument('descriptor', 'must be the descriptor of a segment-arena Arena', descriptor);
    const { control, data } = descriptor;
    if (control.byteLength % 4 !== 0 || control.byteLength < 4 * (H_PRESSURE_MICRO + 1)) throw bad();
    const i32 = new Int32Array(control);
    this.i32 = i32;
    if (i32[H_MAGIC] !== MAGIC || i32[H_VERSION] !== LAYOUT_VERSION || i32[H_ARENA_ID] !== descriptor.id) throw bad();
    const flags = i32[H_FLAGS]!;
    this.id = descriptor.id;
    this.segmentShift = i32[H_SEGMENT_SHIFT]!;
    this.segmentSize = 2 ** this.segmentShift;
    this.maxSegments = i32[H_MAX_SEGMENTS]!;
    this.scrub = (flags & FLAG_SCRUB) !== 0;
    this.debug = (flags & FLAG_DEBUG) !== 0;
    this.lateLimitCheck = (flags & FLAG_LATE_LIMIT) !== 0;
    this.growthFactor = i32[H_GROWTH_MILLI]! / 1000;
    this.pressureThreshold = i32[H_PRESSURE_MICRO]! / 1e6;
    this.layout = computeLayout({
      maxSegments: this.maxSegments,
      maxLeases: i32[H_MAX_LEASES]!,
      maxThreads: i32[H_MAX_THREADS]!,
      segmentSize: this.segmentSize,
      segmentShift: this.segmentShift,
      batch: i32[H_BATCH]!,
    });
    const dataMax = data.growable ? data.maxByteLength : data.byteLength;
    if (this.layout.controlBytes !== control.byteLength || dataMax !== this.maxSegments * this.segmentSize) throw bad();
    if (data.byteLength < Atomics.load(i32, W_SEG_COUNT) * this.segmentSize) throw bad();
    this.central = new CentralFreeList(
      i32,
      new BigInt64Array(descriptor.control, 0, W_CENTRAL_HEAD / 2 + 1),
      this.layout,
      (flags & FLAG_ABA_TAG) !== 0,
    );
    const t = claimThreadSlot(i32, this.layout);
    if (!t) throw new ArenaError('ERR_TOO_MANY_LEASES', `no free thread slot (maxThreads = ${this.layout.maxThreads})`);
    this.thread = t.slot;
    this.counters = new ThreadCounters(descriptor.control, this.layout, this.thread);
    this.cache = new ThreadCache(i32, this.layout, this.central, this.thread, this.layout.batch, {
      replenish: () => this.drainQuarantine() || this.grow(),
      afterRefill: () => this.afterRefill(),
      afterGive: () => this.afterGive(),
    });
    this.waiters = new WaitQueue(i32, threadWord(this.layout, this.thread, T_WAITING), (flags & FLAG_NO_WAIT_POLL) === 0);
    this.finalizer = this.debug
      ? new FinalizationRegistry(({ index, gen, lease }) => {
          if (!this.detached && Atomics.load(this.i32, genIdxOf(this.layout, index)) === gen) {
            this.emit('leak', { lease, segment: index, site: this.sites.get(index)?.stack ?? 'unknown', reason: 'collected while owned' });
          }
        })
      : undefined;
    this.refreshViews();
  }

  /** Debug: note where segment `index` was allocated, and watch its object for a leak. */
  noteAllocation(seg: object, index: number, gen: number, lease: string): void {
    this.sites.set(index, { lease, stack: (new Error().stack ?? '').split('\n').slice(3, 8).join('\n') });
    this.finalizer?.register(seg, { index, gen, lease }, seg);
  }

  /** Debug: the segment's object was released properly. */
  noteRelease(seg: object, index: number): void {
    this.sites.delete(index);
    this.finalizer?.unregister(seg);
  }

  /** Debug: report segments a lease still held at close (a `leak` event per lease). */
  emitLeak(lease: string, indices: readonly number[], sites: readonly string[]): void {
    for (const i of indices) this.sites.delete(i);
    this.emit('leak', { lease, segments: indices.length, sites: sites.join('\n'), reason: 'held at close' });
  }

  /** Debug: the allocation sites of these segments, as this thread recorded them. */
  sitesOf(indices: readonly number[]): string[] {
    return indices.map((i) => `segment ${i}: ${this.sites.get(i)?.stack.trim() ?? '(allocated in another thread)'}`);
  }

  /** Write the header and link the initial segments. Called once, by the creator. */
  static initialize(
    control: SharedArrayBuffer,
    o: {
      id: number; segmentShift: number; maxSegments: number; maxLeases: number; maxThreads: number; batch: number;
      segmentCount: number; scrub: boolean; debug: boolean; abaTag: boolean; lateLimitCheck: boolean; waitPoll: boolean;
      growthFactor: number; pressureThreshold: number;
    },
  ): void {
    const i32 = new Int32Array(control);
    i32[H_MAGIC] = MAGIC;
    i32[H_VERSION] = LAYOUT_VERSION;
    i32[H_ARENA_ID] = o.id;
    i32[H_SEGMENT_SHIFT] = o.segmentShift;
    i32[H_MAX_SEGMENTS] = o.maxSegments;
    i32[H_MAX_LEASES] = o.maxLeases;
    i32[H_MAX_THREADS] = o.maxThreads;
    i32[H_FLAGS] =
      (o.scrub ? FLAG_SCRUB : 0) | (o.debug ? FLAG_DEBUG : 0) | (o.abaTag ? FLAG_ABA_TAG : 0) | (o.lateLimitCheck ? FLAG_LATE_LIMIT : 0) |
      (o.waitPoll ? 0 : FLAG_NO_WAIT_POLL);
    i32[H_BATCH] = o.batch;
    i32[H_INITIAL_SEGMENTS] = o.segmentCount;
    i32[H_GROWTH_MILLI] = Math.round(o.growthFactor * 1000);
    i32[H_PRESSURE_MICRO] = Math.round(o.pressureThreshold * 1e6);
    const layout = computeLayout({
      maxSegments: o.maxSegments, maxLeases: o.maxLeases, maxThreads: o.maxThreads,
      segmentSize: 2 ** o.segmentShift, segmentShift: o.segmentShift, batch: o.batch,
    });
    const central = new CentralFreeList(i32, new BigInt64Array(control, 0, W_CENTRAL_HEAD / 2 + 1), layout, o.abaTag);
    pushRange(central, 0, o.segmentCount, o.batch);
    Atomics.store(i32, W_SEG_COUNT, o.segmentCount);
  }

  segCount(): number {
    return Atomics.load(this.i32, W_SEG_COUNT);
  }

  isClosed(): boolean {
    return this.detached || this.i32[W_CLOSED] !== 0;
  }

  markArenaClosed(): void {
    Atomics.store(this.i32, W_CLOSED, 1);
  }

  /** Re-create the fixed-length data views to cover every segment that exists now. */
  refreshViews(): void {
    const n = this.segCount();
    const bytes = n * this.segmentSize;
    const data = this.descriptor.data;
    this.u8 = new Uint8Array(data, 0, bytes);
    this.dv = new DataView(data, 0, bytes);
    this.z64 = new BigInt64Array(data, 0, bytes / 8);
    this.d32 = new Int32Array(data, 0, bytes / 4);
    this.viewSegments = n;
  }

  ensureView(index: number): void {
    if (index >= this.viewSegments) this.refreshViews();
  }

  /** Zero one segment (BigInt64Array.fill: 5x faster than Uint8Array.fill on shared memory). */
  zero(index: number): void {
    this.counters.local[C_SCRUBS]!++;
    this.ensureView(index);
    const w = this.segmentSize / 8;
    this.z64.fill(0n, index * w, index * w + w);
  }

  poison(index: number): void {
    this.ensureView(index);
    const w = this.segmentSize / 8;
    this.z64.fill(POISON64, index * w, index * w + w);
  }

  /** Debug: true if the poison written at release is intact. */
  poisonIntact(index: number): boolean {
    this.ensureView(index);
    const w = this.segmentSize / 4;
    const d = this.d32;
    for (let k = index * w, end = k + w; k < end; k++) if (d[k] !== POISON32) return false;
    return true;
  }

  /** Debug: write the poison over a segment this thread holds exclusively. */
  poisonSegment(index: number): void {
    this.poison(index);
    this.i32[lastIdx(this.layout, index)] = LAST_POISONED;
  }

  /**
   * Debug: check that nobody wrote a poisoned segment after its release, then zero it. A
   * damaged poison is counted in W_POISON_DAMAGE, which audit() reports as a problem.
   */
  checkPoisonAndZero(index: number): void {
    if (!this.poisonIntact(index)) Atomics.add(this.i32, W_POISON_DAMAGE, 1);
    this.zero(index);
  }

  /** Give back a free segment this thread holds exclusively (quarantined first in debug mode). */
  recycle(index: number): void {
    if (!this.debug) {
      this.cache.put(index);
      return;
    }
    this.i32[stateIdx(this.layout, index)] = stateQuarantined(this.thread);
    this.quarantine.push(index);
    if (this.quarantine.length > QUARANTINE) this.cache.put(this.quarantine.shift()!);
  }

  /**
   * Debug: when this thread runs out of segments, its quarantine is released (oldest first)
   * before the arena grows or reports exhaustion: quarantine delays reuse, it never costs
   * capacity. Returns true if anything was released.
   */
  drainQuarantine(): boolean {
    if (this.quarantine.length === 0) return false;
    for (const idx of this.quarantine.splice(0)) this.cache.put(idx);
    return true;
  }

  /**
   * Grow the data buffer by growthFactor (up to maxSegments). Returns true if the segment
   * count grew (by this thread or a racing one), false at maxSize or if not growable.
   * Races with: other growers. Each grows the buffer first (a grow to a size at or below the
   * current one throws and is ignored), then CASes W_SEG_COUNT; only the CAS winner links
   * the new segments, so each new segment enters the central list exactly once.
   */
  grow(): boolean {
    const data = this.descriptor.data;
    const cur = this.segCount();
    if (!data.growable || cur >= this.maxSegments) return false;
    const next = Math.min(this.maxSegments, Math.max(cur + 1, Math.ceil(cur * this.growthFactor)));
    const bytes = next * this.segmentSize;
    if (data.byteLength < bytes) {
      try {
        data.grow(bytes);
      } catch {
        if (data.byteLength < bytes) return false; // out of memory: cannot grow
      }
    }
    const grows = Atomics.load(this.i32, W_GROWS);
    if (Atomics.compareExchange(this.i32, W_SEG_COUNT, cur, next) !== cur) {
      // Another thread grew first: wait (bounded) until it has linked its new segments, so the
      // caller's retry sees them instead of growing again (regression: the loser returned at
      // once and callers over-grew up to maxSize, or reported a spurious exhaustion).
      for (let k = 0; k < 2000 && Atomics.load(this.i32, W_GROWS) === grows; k++) {
        if (k >= 200) Atomics.wait(this.nap, 0, 0, 0.05);
      }
      return true;
    }
    pushRange(this.central, cur, next, this.layout.batch);
    Atomics.add(this.i32, W_GROWS, 1);
    Atomics.store(this.i32, W_PRESSURE, 0); // usage is measured against the new size from now on
    this.refreshViews();
    this.emit('grow', { from: cur * this.segmentSize, to: bytes, segments: next });
    wakeWaiters(this.i32);
    return true;
  }

  private afterRefill(): void {
    this.counters.publish();
    const count = this.segCount();
    const out = count - this.central.count();
    for (;;) {
      const p = Atomics.load(this.i32, W_PEAK_OUT);
      if (p >= out || Atomics.compareExchange(this.i32, W_PEAK_OUT, p, out) === p) break;
    }
    if (out >= this.pressureThreshold * count) {
      if (Atomics.compareExchange(this.i32, W_PRESSURE, 0, 1) === 0) {
        this.emit('pressure', { used: out * this.segmentSize, size: count * this.segmentSize, ratio: out / count });
        if (this.descriptor.data.growable) this.grow();
      }
    }
  }

  private afterGive(): void {
    this.counters.publish();
    if (this.i32[W_PRESSURE] !== 0) {
      const count = this.segCount();
      if (count - this.central.count() < this.pressureThreshold * count) Atomics.compareExchange(this.i32, W_PRESSURE, 1, 0);
    }
    wakeWaiters(this.i32);
  }

  /** Give back everything this thread caches and free its thread slot. */
  detach(): void {
    if (this.detached) return;
    this.drainQuarantine();
    this.cache.flushAll();
    this.counters.publish();
    freeThreadSlot(this.i32, this.layout, this.thread);
    this.detached = true;
  }
}

/** Link segments [from, to) into the central list in batches and make them available. */
function pushRange(central: CentralFreeList, from: number, to: number, batch: number): void {
  const b = new Int32Array(Math.min(batch, MAX_BATCH));
  for (let s = from; s < to; ) {
    const n = Math.min(b.length, to - s);
    for (let k = 0; k < n; k++) b[k] = s + k;
    central.push(b, 0, n);
    central.give(n);
    s += n;
  }
}
