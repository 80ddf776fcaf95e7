/**
 * Lease: the owner of a task's memory, with a hard limit (Flink's memory "owner" plus its
 * releaseAll, and the MemoryManager page budget).
 *
 * Protocol of one allocation (the order is what keeps the invariants of lease-table.ts and
 * segment-table.ts):
 *   1. charge USED by CAS within LIMIT            (a limit is never exceeded, even briefly)
 *   2. take a free segment: thread cache → central list (→ grow) → this lease's reservation
 *   3. bind: STATE = OWNED(slot); scrub if another lease wrote it last; then publish
 *      GEN even → odd (seq-cst store): from this store on, the segment is owned
 * and of one release:
 *   1. CAS GEN odd → even                          (exactly one release/transfer/close wins)
 *   2. recycle: STATE = CACHED(thread) (or back to the reservation)
 *   3. uncharge USED
 *   4. wake waiters again (waiters.ts)              (the uncharge may be what a waiter needs)
 * A transfer is CAS odd → even (in transit), STATE = OWNED(target), store even → odd.
 * This module owns no shared word of its own: it drives the protocols of lease-table.ts,
 * segment-table.ts, cache.ts and free-list.ts.
 */
import {
  ArenaError, aborted, arenaClosed, arenaExhausted, foreignSegment, invalidArgument, leaseClosed, leaseLimit, segmentReleased,
} from '../errors.js';
import type { ArenaCore } from './arena-core.js';
import { L_LEAKED, L_OUT, L_PEAK, L_RES_USED, L_UID, L_USED, leaseWord } from './layout.js';
import {
  CHARGED, COUNT_MASK, OUT_CLOSING, OVER_LIMIT, beginClosing, charge, chargeLate, freeLeaseSlot, markClosed, pinOut, pinsInFlight, raisePeak,
  restoreReservation, uncharge, unpinOut,
} from './lease-table.js';
import { LAST_POISONED, bumpGeneration, genIdx, lastIdx, stateIdx, stateOwned } from './segment-table.js';
import { MemorySegment } from './segment.js';
import { claimGeneral, hasDraws, returnToReservation, takeExactly, takeReserved } from './supply.js';
import { wakeWaiters } from './waiters.js';
import { C_ALLOCATIONS, C_LEAKED, C_REFUSED_EXHAUSTED, C_REFUSED_LIMIT, C_RELEASES, C_TRANSFERS, C_WAITS } from './counters.js';

/** What crosses to another thread to use the same lease there (`arena.attachLease`). */
export interface LeaseDescriptor {
  readonly kind: 'segment-arena-lease';
  readonly arenaId: number;
  readonly slot: number;
  readonly uid: number;
  readonly name: string;
  readonly limit: number;
  readonly reserve: number;
  /** Incarnation bits of the slot's USED word for this lease. */
  readonly base: number;
}

/** Options of {@link Lease.allocateAsync}. */
export interface AllocateAsyncOptions {
  /** Abort the wait: the promise rejects with ERR_ABORTED (`cause` = the signal's reason). */
  signal?: AbortSignal;
  /** Give up after this many milliseconds: the promise rejects with ERR_TIMEOUT. */
  timeout?: number;
}

/** The longest timeout a timer can take (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** How long close() keeps looking for segments whose allocation was in flight when it began. */
const CLOSE_SETTLE_MS = 200;

/**
 * A lease holds segments for one owner, under a hard limit. Create it with `arena.lease()`;
 * use it from another thread with `arena.attachLease(lease.descriptor)`.
 */
export class Lease {
  /** Brand: only objects built by this class have it (Object.create(prototype) does not). */
  readonly #brand = true;

  /** True if `x` is a Lease built by the library (not a forged object). */
  static isLease(x: unknown): x is Lease {
    return typeof x === 'object' && x !== null && #brand in x;
  }

  /** @internal */ readonly ctx: ArenaCore;
  /** @internal */ readonly slot: number;
  /** Unique id of the lease within its arena. */
  readonly id: number;
  /** The name given at creation (for messages and reports). */
  readonly name: string;
  /** @internal limit in segments */ readonly limitSegments: number;
  /** @internal reserved segments */ readonly reserveSegments: number;
  /** @internal */ readonly ownerState: number;
  private readonly base: number;
  private readonly usedIdx: number;
  private readonly peakIdx: number;
  private readonly uidIdx: number;
  private readonly outIdx: number;
  private closedLocal = false;
  /** Peak seen when this object learned the lease was closed (the slot may be reused later). */
  private finalPeak = 0;

  /** @internal */
  constructor(ctx: ArenaCore, slot: number, uid: number, base: number, name: string, limit: number, reserve: number) {
    this.ctx = ctx;
    this.slot = slot;
    this.id = uid;
    this.name = name;
    this.limitSegments = limit;
    this.reserveSegments = reserve;
    this.ownerState = stateOwned(slot);
    this.base = base;
    this.usedIdx = leaseWord(ctx.layout, slot, L_USED);
    this.peakIdx = leaseWord(ctx.layout, slot, L_PEAK);
    this.uidIdx = leaseWord(ctx.layout, slot, L_UID);
    this.outIdx = leaseWord(ctx.layout, slot, L_OUT);
  }

  /** Hard limit in bytes. */
  get limit(): number {
    return this.limitSegments * this.ctx.segmentSize;
  }
  /** Bytes set aside for this lease alone. */
  get reserve(): number {
    return this.reserveSegments * this.ctx.segmentSize;
  }
  /** Bytes currently held (charged), as every thread sees it; 0 once closed. */
  get used(): number {
    if (this.closed) return 0;
    const u = Atomics.load(this.ctx.i32, this.usedIdx);
    // Re-check: the slot may have been closed and reused between the two reads.
    return this.closed ? 0 : (u & COUNT_MASK) * this.ctx.segmentSize;
  }
  /** Most bytes ever held at once (after close: as this object last saw it). */
  get peak(): number {
    if (this.closed) return this.finalPeak * this.ctx.segmentSize;
    const p = Atomics.load(this.ctx.i32, this.peakIdx);
    return (this.closed ? this.finalPeak : p) * this.ctx.segmentSize;
  }
  /** True once the lease was closed (in any thread). */
  get closed(): boolean {
    if (this.closedLocal) return true;
    const i32 = this.ctx.i32;
    const peak = Atomics.load(i32, this.peakIdx);
    if ((Atomics.load(i32, this.usedIdx) & ~COUNT_MASK) === this.base && Atomics.load(i32, this.uidIdx) === this.id) {
      this.finalPeak = peak;
      return false;
    }
    this.closedLocal = true;
    return true;
  }

  /** A cloneable description to attach this lease in another thread. */
  get descriptor(): LeaseDescriptor {
    return Object.freeze({
      kind: 'segment-arena-lease',
      arenaId: this.ctx.id,
      slot: this.slot,
      uid: this.id,
      name: this.name,
      limit: this.limitSegments,
      reserve: this.reserveSegments,
      base: this.base,
    });
  }

  /**
   * Allocate one segment.
   * @throws ArenaError ERR_LEASE_LIMIT past the limit, ERR_ARENA_EXHAUSTED when no segment is
   * free and the arena cannot grow, ERR_LEASE_CLOSED / ERR_ARENA_CLOSED after close.
   */
  allocate(): MemorySegment {
    return this.allocOne(true)!;
  }

  /** Allocate one segment, or return null when the arena is exhausted (limits still throw). */
  tryAllocate(): MemorySegment | null {
    return this.allocOne(false);
  }

  /** Allocate `n` segments, all or nothing. */
  allocateMany(n: number): MemorySegment[] {
    const r = this.allocMany(checkCount(n));
    if (r === null) {
      this.ctx.counters.local[C_REFUSED_EXHAUSTED]!++;
      throw arenaExhausted(n);
    }
    return r;
  }

  /**
   * Allocate `n` segments (all or nothing), waiting while the arena is exhausted. Requests of
   * one thread are served first-in first-out. Never waits past the limit: a request that the
   * limit cannot admit now rejects at once with ERR_LEASE_LIMIT.
   */
  allocateAsync(n = 1, options: AllocateAsyncOptions = {}): Promise<MemorySegment[]> {
    try {
      const count = checkCount(n);
      if (typeof options !== 'object' || options === null) throw invalidArgument('options', 'must be an object', options);
      const { signal, timeout } = options;
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal', 'must be an AbortSignal', signal);
      if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0) || !(timeout <= MAX_TIMEOUT_MS))) {
        // Timers cap at 2^31 - 1 ms; a larger value would fire at once (regression: fuzzer).
        throw invalidArgument('timeout', `must be a number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`, timeout);
      }
      if (signal?.aborted) throw aborted(signal.reason);
      this.ensureOpen();
      const held = Atomics.load(this.ctx.i32, this.usedIdx) & COUNT_MASK;
      if (count > this.limitSegments || (held + count > this.limitSegments && this.limitSegments < this.ctx.maxSegments)) {
        throw leaseLimit(this.name, count, held, this.limitSegments);
      }
      if (this.ctx.waiters.length === 0) {
        const now = this.allocMany(count);
        if (now !== null) return Promise.resolve(now);
      }
      this.ctx.counters.local[C_WAITS]!++;
      // A waiter's retries do not wake the other waiters when they fail (see allocMany).
      return this.ctx.waiters.wait({ attempt: () => this.allocMany(count, false) ?? undefined, signal, timeout });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Release one segment or an array of segments back to the arena. */
  release(segments: MemorySegment | readonly MemorySegment[]): void {
    this.ensureOpen();
    if (Array.isArray(segments)) {
      this.checkAllOwned(segments); // all first: a bad element leaves every segment where it was
      let first: unknown;
      for (const seg of segments as readonly MemorySegment[]) {
        try {
          this.releaseOne(seg);
        } catch (e) {
          first ??= e;
        }
      }
      if (first !== undefined) throw first;
      return;
    }
    this.releaseOne(segments as MemorySegment);
  }

  /**
   * Move a segment to another lease of the same arena without copying: ownership and charge
   * move together (the target's limit applies). The segment object stays usable; its
   * generation (and so its handle) changes, and handles taken before become stale.
   */
  transfer(segment: MemorySegment, to: Lease): void {
    this.checkTarget(to);
    this.checkOwned(segment);
    if (to.slot === this.slot) return;
    this.pinnedOut(() => this.transferPinned(segment, to));
  }

  private transferPinned(segment: MemorySegment, to: Lease): void {
    const ctx = this.ctx;
    const i32 = ctx.i32;
    const l = ctx.layout;
    const gen = segment.gen;
    // A segment drawn from this lease's reservation may leave only if a general unit takes
    // its place behind the reservation; otherwise the reservation would stay drawn for a
    // segment this lease no longer holds (regression: found by the model test).
    const backfill = this.reserveSegments > 0 && hasDraws(this.ctx, this.slot);
    if (backfill && !claimGeneral(this.ctx, 1)) throw arenaExhausted(1);
    const r = charge(i32, to.usedIdx, to.base, to.limitSegments, 1);
    if (r !== CHARGED || !to.stillOwnsSlot()) {
      if (r === CHARGED) {
        uncharge(i32, to.usedIdx, 1);
        wakeWaiters(i32); // an undone charge may have refused a waiter (see releaseOne)
      }
      if (backfill) ctx.central.give(1);
      if (r === OVER_LIMIT) throw leaseLimit(to.name, 1, i32[to.usedIdx]! & COUNT_MASK, to.limitSegments);
      throw leaseClosed(to.name);
    }
    // odd → even: the segment is in transit; a closer of either lease skips it until it lands.
    if (!bumpGeneration(i32, l, segment.index, gen)) {
      uncharge(i32, to.usedIdx, 1);
      wakeWaiters(i32);
      if (backfill) ctx.central.give(1);
      throw segmentReleased(`${segment.index}`);
    }
    i32[stateIdx(l, segment.index)] = to.ownerState;
    i32[lastIdx(l, segment.index)] = to.id;
    const landed = (gen + 2) | 0;
    Atomics.store(i32, genIdx(l, segment.index), landed); // even → odd: owned by `to`
    // Restore the reservation BEFORE the last uncharge: a concurrent close() waits only for the
    // count to reach zero, then reads RES_USED once (regression: restoring after the uncharge let
    // close give back the reservation first, and the claimed unit was lost).
    if (backfill && !restoreReservation(i32, l, this.slot)) ctx.central.give(1);
    uncharge(i32, this.usedIdx, 1);
    wakeWaiters(i32); // after the last uncharge, as releaseOne
    to.notePeak();
    ctx.counters.local[C_TRANSFERS]!++;
    segment.gen = landed;
    segment.leaseSlot = to.slot;
  }

  /**
   * Close the lease: release every segment it still holds (in any thread) and give back its
   * reservation. Idempotent. Returns the number of segments it had to release.
   * In debug mode a lease that still held segments is a leak: close throws ERR_LEAK after
   * releasing them.
   */
  close(): number {
    if (this.closedLocal) return 0;
    const ctx = this.ctx;
    if (ctx.detached) throw arenaClosed();
    const i32 = ctx.i32;
    // No transfer out may move a segment after the mark (lease-table.ts, L_OUT): stop new ones,
    // and let those already under way finish first.
    const deadline = Date.now() + CLOSE_SETTLE_MS;
    if (this.stillOwnsSlot()) {
      let pins = beginClosing(i32, this.outIdx);
      if (!this.stillOwnsSlot()) {
        // Another close() of this lease finished and the slot went to a new lease meanwhile:
        // the CLOSING bit is not ours to set there.
        Atomics.and(i32, this.outIdx, ~OUT_CLOSING);
        pins = 0;
      }
      while (pins > 0 && Date.now() <= deadline) pins = pinsInFlight(i32, this.outIdx);
    }
    this.finalPeak = Atomics.load(i32, this.peakIdx);
    const charged = markClosed(i32, this.usedIdx, this.base);
    this.closedLocal = true;
    if (charged < 0) return 0; // closed by another thread first
    let released = 0;
    let remaining = charged;
    const leaked: number[] | undefined = ctx.debug ? [] : undefined;
    while (remaining > 0) {
      released += this.releaseAllOwned(leaked);
      remaining = Atomics.load(i32, this.usedIdx) & COUNT_MASK;
      // Whatever is still charged is an allocation or release in flight in another thread;
      // it completes within nanoseconds unless that thread died (then recovery repairs it).
      if (remaining > 0 && Date.now() > deadline) break;
    }
    const l = ctx.layout;
    const resLeft = this.reserveSegments - Atomics.load(i32, leaseWord(l, this.slot, L_RES_USED));
    ctx.central.give(resLeft);
    if (released > 0) {
      Atomics.add(i32, leaseWord(l, this.slot, L_LEAKED), released);
      ctx.counters.local[C_LEAKED]! += released;
    }
    if (remaining === 0) freeLeaseSlot(i32, l, this.slot);
    ctx.cache.flushAll();
    // Waiters on this lease (any thread) must learn it closed (ERR_LEASE_CLOSED) now, not at
    // their next re-check: a lease that held nothing gave nothing back above, so nothing woke
    // them (regression: up to POLL_MS late).
    wakeWaiters(i32);
    if (ctx.debug && released > 0) {
      const sites = ctx.sitesOf(leaked ?? []);
      ctx.emitLeak(this.name, leaked ?? [], sites);
      throw new ArenaError(
        'ERR_LEAK',
        `lease '${this.name}' was closed while it still held ${released} segment(s) (debug: leak = error); allocated at:\n${sites.join('\n')}`,
      );
    }
    return released;
  }

  /**
   * @internal Close a lease whose holders are known dead (the TaskManager, after a worker
   * died): no settle wait for allocations in flight, since none can finish. Whatever is still
   * charged after the scan was charged but never bound by the dead thread; the charge is
   * dropped and the slot freed. Such a stranded segment reads OWNED with an even generation, or
   * CACHED by the dead thread: reclaimThread() and repair() give it back.
   */
  closeAbandoned(): number {
    if (this.closedLocal) return 0;
    const ctx = this.ctx;
    const i32 = ctx.i32;
    // A dead thread's lease: no pin wait (a pin of the dead thread would never go), but no new
    // transfer out may start either.
    if (this.stillOwnsSlot()) {
      beginClosing(i32, this.outIdx);
      if (!this.stillOwnsSlot()) Atomics.and(i32, this.outIdx, ~OUT_CLOSING); // as in close()
    }
    this.finalPeak = Atomics.load(i32, this.peakIdx);
    const charged = markClosed(i32, this.usedIdx, this.base);
    this.closedLocal = true;
    if (charged < 0) return 0;
    const released = charged > 0 ? this.releaseAllOwned() : 0;
    const left = Atomics.load(i32, this.usedIdx) & COUNT_MASK;
    if (left > 0) uncharge(i32, this.usedIdx, left);
    const l = ctx.layout;
    ctx.central.give(this.reserveSegments - Atomics.load(i32, leaseWord(l, this.slot, L_RES_USED)));
    if (released > 0) {
      Atomics.add(i32, leaseWord(l, this.slot, L_LEAKED), released);
      ctx.counters.local[C_LEAKED]! += released;
    }
    freeLeaseSlot(i32, l, this.slot);
    ctx.cache.flushAll();
    wakeWaiters(i32); // as in close(): its waiters learn it closed now
    return released;
  }

  /**
   * Move several segments to another lease (see {@link Lease.transfer}) with one charge of the
   * target and one uncharge of the source. Every segment is checked first; if the target's
   * limit cannot take them all, nothing moves (ERR_LEASE_LIMIT).
   */
  transferMany(segments: readonly MemorySegment[], to: Lease): void {
    if (!Array.isArray(segments)) throw invalidArgument('segments', 'must be an array of MemorySegment', segments);
    this.checkTarget(to);
    this.checkAllOwned(segments);
    const n = segments.length;
    if (n === 0 || to.slot === this.slot) return;
    this.pinnedOut(() => this.transferManyPinned(segments, to));
  }

  private transferManyPinned(segments: readonly MemorySegment[], to: Lease): void {
    const n = segments.length;
    if (this.reserveSegments > 0 && hasDraws(this.ctx, this.slot)) {
      // Reservation draws leave only one by one, each backed by a general unit.
      for (const seg of segments) this.transfer(seg, to);
      return;
    }
    const ctx = this.ctx;
    const i32 = ctx.i32;
    const l = ctx.layout;
    const r = charge(i32, to.usedIdx, to.base, to.limitSegments, n);
    if (r !== CHARGED || !to.stillOwnsSlot()) {
      if (r === CHARGED) {
        uncharge(i32, to.usedIdx, n);
        wakeWaiters(i32); // an undone charge may have refused a waiter (see releaseOne)
      }
      if (r === OVER_LIMIT) throw leaseLimit(to.name, n, i32[to.usedIdx]! & COUNT_MASK, to.limitSegments);
      throw leaseClosed(to.name);
    }
    let moved = 0;
    let lost: unknown;
    for (const seg of segments) {
      const gen = seg.gen;
      if (!bumpGeneration(i32, l, seg.index, gen)) {
        lost ??= segmentReleased(`${seg.index}`); // a racing thread released it after the check
        continue;
      }
      i32[stateIdx(l, seg.index)] = to.ownerState;
      i32[lastIdx(l, seg.index)] = to.id;
      const landed = (gen + 2) | 0;
      Atomics.store(i32, genIdx(l, seg.index), landed);
      seg.gen = landed;
      seg.leaseSlot = to.slot;
      moved++;
    }
    if (moved < n) uncharge(i32, to.usedIdx, n - moved);
    uncharge(i32, this.usedIdx, moved);
    wakeWaiters(i32); // after the last uncharge, as releaseOne: a waiter may need either
    ctx.counters.local[C_TRANSFERS]! += moved;
    to.notePeak();
    if (lost !== undefined) throw lost;
  }

  /** `using lease = arena.lease()` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  /**
   * Run a transfer out under a pin (lease-table.ts, L_OUT), dropped after its last write.
   * Refused while this lease is closing: then wait until it reads closed (the closer waits only for pins taken before, so this is short),
   * and fail as an operation that came after the close.
   */
  private pinnedOut(move: () => void): void {
    const i32 = this.ctx.i32;
    if (pinOut(i32, this.outIdx)) {
      try {
        move();
      } finally {
        unpinOut(i32, this.outIdx);
      }
      return;
    }
    const deadline = Date.now() + CLOSE_SETTLE_MS;
    while (!this.closedSince() && Date.now() <= deadline) {
      // spin: the closer is between its CLOSING bit and its mark
    }
    this.closedLocal = true;
    throw leaseClosed(this.name);
  }

  /** True once this lease's USED word says it was closed (or its slot moved on). */
  private closedSince(): boolean {
    return (Atomics.load(this.ctx.i32, this.usedIdx) & ~COUNT_MASK) !== this.base;
  }

  /** @internal Throws unless both this lease and its arena object are open. */
  ensureOpen(): void {
    if (this.ctx.isClosed()) throw arenaClosed();
    // Plain reads (hot path: every release): a stale "open" is caught by the CAS that follows
    // (charge) or is harmless (release races close() through the GEN CAS).
    const i32 = this.ctx.i32;
    if (this.closedLocal || (i32[this.usedIdx]! & ~COUNT_MASK) !== this.base || i32[this.uidIdx] !== this.id) {
      if (!this.closedLocal) void this.closed; // snapshot the peak while the slot may still be ours
      this.closedLocal = true;
      throw leaseClosed(this.name);
    }
  }

  /** One plain read: does the slot still belong to this lease (see lease-table.ts, L3)? */
  private stillOwnsSlot(): boolean {
    return this.ctx.i32[this.uidIdx] === this.id;
  }

  /** Raise PEAK to the count this lease now holds (read plainly: raisePeak's CAS decides). */
  private notePeak(): void {
    const c = this.ctx.i32[this.usedIdx]! & COUNT_MASK;
    if (c > this.ctx.i32[this.peakIdx]!) raisePeak(this.ctx.i32, this.peakIdx, c);
  }

  /**
   * Charge `n` segments. Returns false when the limit refuses them but the limit is the whole
   * arena (an unlimited lease): that is exhaustion, not a limit, for the caller to report.
   */
  private chargeOrThrow(n: number): boolean {
    if (this.closedLocal) throw leaseClosed(this.name);
    const i32 = this.ctx.i32;
    const r = this.ctx.lateLimitCheck
      ? chargeLate(i32, this.usedIdx, this.base, this.limitSegments, n)
      : charge(i32, this.usedIdx, this.base, this.limitSegments, n);
    if (r === CHARGED) {
      if (this.stillOwnsSlot()) return true;
      uncharge(i32, this.usedIdx, n); // the slot was reused by a later lease: not ours to charge
      this.closedLocal = true;
      throw leaseClosed(this.name);
    }
    if (r === OVER_LIMIT) {
      if (this.limitSegments >= this.ctx.maxSegments) return false;
      this.ctx.counters.local[C_REFUSED_LIMIT]!++;
      throw leaseLimit(this.name, n, i32[this.usedIdx]! & COUNT_MASK, this.limitSegments);
    }
    this.closedLocal = true;
    throw leaseClosed(this.name);
  }

  private allocOne(throwIfExhausted: boolean): MemorySegment | null {
    const ctx = this.ctx;
    if (ctx.isClosed()) throw arenaClosed();
    if (!this.chargeOrThrow(1)) {
      ctx.counters.local[C_REFUSED_EXHAUSTED]!++;
      if (throwIfExhausted) throw arenaExhausted(1);
      return null;
    }
    let idx = ctx.cache.take();
    if (idx < 0) idx = takeReserved(this.ctx, this.slot, this.reserveSegments);
    if (idx < 0) {
      uncharge(ctx.i32, this.usedIdx, 1);
      wakeWaiters(ctx.i32); // the charge just undone may have refused a waiter on this lease (see releaseOne)
      ctx.cache.requestDrain();
      ctx.counters.local[C_REFUSED_EXHAUSTED]!++;
      if (throwIfExhausted) throw arenaExhausted(1);
      return null;
    }
    ctx.counters.local[C_ALLOCATIONS]!++;
    const seg = this.bind(idx);
    if (ctx.debug) ctx.noteAllocation(seg, idx, seg.gen, this.name);
    this.notePeak(); // only once the segment is really held (regression: a refused allocation raised peak)
    return seg;
  }

  /**
   * `wakeOnUndo`: after undoing the charge of a failed attempt, wake the waiters (a waiter on
   * this lease whose limit is the whole arena may have been refused by that charge; see
   * releaseOne). A waiter's own retries pass false: two waiters whose requests both exceed what
   * is free would otherwise wake each other with every failed retry, forever (review finding).
   * A waiter refused by another waiter's in-flight charge is then woken by the next release or
   * by its POLL_MS re-check.
   */
  private allocMany(n: number, wakeOnUndo = true): MemorySegment[] | null {
    const ctx = this.ctx;
    if (ctx.isClosed()) throw arenaClosed();
    if (n === 0) {
      this.ensureOpen();
      return [];
    }
    if (!this.chargeOrThrow(n)) return null;
    const got = takeExactly(this.ctx, this.slot, this.reserveSegments, n);
    if (got === null) {
      uncharge(ctx.i32, this.usedIdx, n);
      if (wakeOnUndo) wakeWaiters(ctx.i32);
      ctx.cache.requestDrain();
      return null;
    }
    const out = new Array<MemorySegment>(n);
    for (let k = 0; k < n; k++) out[k] = this.bind(got[k]!);
    if (ctx.debug) for (const seg of out) ctx.noteAllocation(seg, seg.index, seg.gen, this.name);
    ctx.counters.local[C_ALLOCATIONS]! += n;
    this.notePeak();
    return out;
  }

  /** Make the exclusively held free segment `idx` this lease's and wrap it. */
  private bind(idx: number): MemorySegment {
    const ctx = this.ctx;
    const i32 = ctx.i32;
    const l = ctx.layout;
    i32[stateIdx(l, idx)] = this.ownerState;
    const li = lastIdx(l, idx);
    const last = i32[li];
    if (last !== this.id) {
      if (last === LAST_POISONED) ctx.checkPoisonAndZero(idx);
      else if (last !== 0 && ctx.scrub) ctx.zero(idx);
      i32[li] = this.id;
    }
    // Publish ownership last: GEN even → odd, a seq-cst store, so that anyone who sees the odd
    // generation also sees STATE and the scrubbed bytes. A closer skips even generations, so it
    // cannot take the segment between the STATE write and this store (regression: close() in
    // one thread raced allocate/release in another and recycled segments twice).
    const gi = genIdx(l, idx);
    const gen = (i32[gi]! + 1) | 0;
    Atomics.store(i32, gi, gen);
    return new MemorySegment(ctx, idx, gen, this.slot);
  }

  /** Both leases open, of one arena: the checks every transfer starts with. */
  private checkTarget(to: unknown): asserts to is Lease {
    this.ensureOpen();
    if (!Lease.isLease(to)) throw invalidArgument('to', 'must be a Lease', to);
    if (to.ctx.id !== this.ctx.id) throw foreignSegment(`transfer target '${to.name}'`, 'arena');
    to.ensureOpen();
  }

  /** checkOwned for every element, and no segment listed twice. */
  private checkAllOwned(segments: readonly unknown[]): void {
    const seen = new Set<number>();
    for (const s of segments) {
      this.checkOwned(s);
      const seg = s as MemorySegment;
      if (seen.has(seg.index)) throw segmentReleased(`${seg.index} (listed twice)`);
      seen.add(seg.index);
    }
  }

  /** Throws the right code unless `s` is a live segment owned by this lease. */
  private checkOwned(s: unknown): void {
    if (!MemorySegment.isSegment(s)) throw invalidArgument('segment', 'must be a MemorySegment', s);
    if (s.ctx.id !== this.ctx.id) throw foreignSegment(`${s.index}`, 'arena');
    const i32 = this.ctx.i32;
    if (i32[s.genWord] !== s.gen) throw segmentReleased(`${s.index}`);
    if (i32[stateIdx(this.ctx.layout, s.index)] !== this.ownerState) {
      if (i32[s.genWord] !== s.gen) throw segmentReleased(`${s.index}`);
      throw foreignSegment(`${s.index}`, 'lease');
    }
  }

  private releaseOne(seg: MemorySegment): void {
    this.checkOwned(seg);
    const ctx = this.ctx;
    if (!bumpGeneration(ctx.i32, ctx.layout, seg.index, seg.gen)) throw segmentReleased(`${seg.index}`);
    this.recycle(seg.index);
    uncharge(ctx.i32, this.usedIdx, 1);
    // Wake again AFTER the uncharge (regression: a lost wake, ~100 ms waits). recycle() woke
    // the waiters when it gave the segment back, i.e. BEFORE the uncharge (that order stays:
    // close() must never read a count of 0 while a segment is still being returned). A waiter
    // in another thread on this same lease, when its limit is the whole arena (over the limit
    // then reads as exhaustion and the request keeps waiting), could retry between that wake
    // and the uncharge: it still saw the lease full, re-armed on the epoch that wake had just
    // bumped, and nothing bumped it again: it slept until the POLL_MS re-check. This bump
    // comes after the uncharge, so a waiter that read the epoch before it sees the epoch move
    // or is notified. It also wakes a waiter for a segment that went back behind the
    // reservation (returnToReservation gives nothing to W_AVAIL, so it wakes nobody itself).
    // Cost when nobody waits: one plain read of W_WAITERS.
    wakeWaiters(ctx.i32);
    ctx.counters.local[C_RELEASES]!++;
    if (ctx.debug) ctx.noteRelease(seg, seg.index);
  }

  /** Give back a segment whose generation this thread just bumped. */
  private recycle(idx: number): void {
    const ctx = this.ctx;
    if (ctx.debug) ctx.poisonSegment(idx);
    if (this.reserveSegments > 0 && ctx.i32[leaseWord(ctx.layout, this.slot, L_RES_USED)]! > 0) {
      returnToReservation(this.ctx, this.slot, idx);
    } else {
      ctx.recycle(idx);
    }
  }

  /** close(): release every segment whose STATE says this lease owns it. */
  private releaseAllOwned(leaked?: number[]): number {
    const ctx = this.ctx;
    const i32 = ctx.i32;
    const l = ctx.layout;
    const n = ctx.segCount();
    let released = 0;
    for (let idx = 0; idx < n; idx++) {
      // Read GEN first: while it stays odd, STATE names the owner of that epoch (STATE is only
      // written while GEN is even). An even GEN is a segment in flight: the caller rescans.
      const gen = Atomics.load(i32, genIdx(l, idx));
      if ((gen & 1) === 0 || i32[stateIdx(l, idx)] !== this.ownerState) continue;
      if (!bumpGeneration(i32, l, idx, gen)) continue; // a racing release won; it uncharges
      if (ctx.debug) ctx.poisonSegment(idx);
      leaked?.push(idx);
      ctx.recycle(idx);
      uncharge(i32, this.usedIdx, 1);
      released++;
    }
    ctx.counters.local[C_RELEASES]! += released;
    return released;
  }
}

function checkCount(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidArgument('n', 'must be a non-negative integer', n);
  return n;
}
