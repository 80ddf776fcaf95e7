/**
 * Arena: the public face of one arena in one thread (create it, or attach to it elsewhere).
 *
 * The creating thread allocates the two buffers and writes the header; any other thread
 * attaches with `Arena.attach(arena.descriptor)` and gets its own thread slot and cache.
 * Events (`pressure`, `grow`) are dispatched on the Arena object of the thread whose
 * allocation crossed the threshold (an EventTarget, so core stays platform-neutral).
 *
 * This module owns no shared word; it composes the modules that do.
 */
import { arenaClosed, foreignSegment, invalidArgument, isArenaError, leaseClosed, segmentReleased, tooManyLeases, arenaExhausted } from '../errors.js';
import { resolveArenaOptions, resolveLeaseOptions, type ArenaOptions, type LeaseOptions } from '../options.js';
import { ArenaCore, type ArenaDescriptor } from './arena-core.js';
import { arenaStats, auditArena, reclaimThread, repairArena, type ArenaStats, type AuditReport } from './audit.js';
import { L_USED, W_CLOSED, batchFor, computeLayout, leaseWord } from './layout.js';
import { Lease, type LeaseDescriptor } from './lease.js';
import { COUNT_MASK, openLease, readLease } from './lease-table.js';
import { KIND_OWNED, KIND_MASK, ID_MASK, handleGen, handleIndex, stateIdx, genIdx } from './segment-table.js';
import { MemorySegment } from './segment.js';

const ATTACH = Symbol('attach');

/** Detail of the `grow` event. */
export interface GrowEventDetail {
  from: number;
  to: number;
  segments: number;
}
/** Detail of the `leak` event (debug mode only). */
export interface LeakEventDetail {
  /** Name of the lease that held the segment(s). */
  lease: string;
  /** 'held at close' (lease.close found them), or 'collected while owned' (FinalizationRegistry). */
  reason: string;
  /** Where the segment(s) were allocated, as far as this thread saw it. */
  sites?: string;
  site?: string;
  segment?: number;
  segments?: number;
}
/** Detail of the `pressure` event. */
export interface PressureEventDetail {
  used: number;
  size: number;
  ratio: number;
}

/**
 * One SharedArrayBuffer carved into fixed-size segments, shared by every thread that attaches.
 *
 * @example
 * ```ts
 * const arena = new Arena({ size: '64MiB' });
 * using lease = arena.lease({ name: 'job', limit: '1MiB' });
 * const seg = lease.allocate();
 * seg.setFloat64(0, Math.PI);
 * ```
 */
export class Arena extends EventTarget {
  /** @internal */ readonly core: ArenaCore;
  private readonly creator: boolean;
  private readonly maxBytes: number;

  /** @internal */
  constructor(token: typeof ATTACH, descriptor: ArenaDescriptor);
  /** Create an arena. Throws ERR_INVALID_OPTION naming the option that is wrong. */
  // (Declared last so that ConstructorParameters<typeof Arena> is the public signature.)
  constructor(options: ArenaOptions);
  constructor(a: ArenaOptions | typeof ATTACH, descriptor?: ArenaDescriptor) {
    super();
    const emit = (type: 'pressure' | 'grow' | 'leak', detail: Record<string, unknown>): void => {
      this.dispatchEvent(new CustomEvent(type, { detail }));
    };
    if (a === ATTACH) {
      this.creator = false;
      this.core = new ArenaCore(descriptor!, emit);
    } else {
      const o = resolveArenaOptions(a);
      const batch = batchFor(o.segmentCount);
      const layout = computeLayout({ ...o, batch });
      const control = new SharedArrayBuffer(layout.controlBytes);
      const data = o.maxSize > o.size
        ? new SharedArrayBuffer(o.size, { maxByteLength: o.maxSize })
        : new SharedArrayBuffer(o.size);
      const id = (Math.floor(Math.random() * 0x7ffffffe) + 1) | 0;
      ArenaCore.initialize(control, { ...o, id, batch });
      this.creator = true;
      this.core = new ArenaCore(Object.freeze({ kind: 'segment-arena', id, control, data }), emit);
    }
    this.maxBytes = this.core.maxSegments * this.core.segmentSize;
  }

  /** Attach to an arena created in another thread (or this one) from its descriptor. */
  static attach(descriptor: ArenaDescriptor): Arena {
    if (
      typeof descriptor !== 'object' || descriptor === null || descriptor.kind !== 'segment-arena' ||
      !(descriptor.control instanceof SharedArrayBuffer) || !(descriptor.data instanceof SharedArrayBuffer)
    ) {
      throw invalidArgument('descriptor', 'must be an arena descriptor (arena.descriptor)', descriptor);
    }
    let arena: Arena;
    try {
      arena = new Arena(ATTACH, descriptor);
    } catch (e) {
      if (isArenaError(e)) throw e;
      throw invalidArgument('descriptor', `could not be attached (${String(e)})`, descriptor);
    }
    if (arena.core.i32[W_CLOSED] !== 0) {
      arena.core.detach();
      throw arenaClosed();
    }
    return arena;
  }

  /** A cloneable description of this arena: post it to a worker and `Arena.attach` it there. */
  get descriptor(): ArenaDescriptor {
    return this.core.descriptor;
  }
  /** Current size in bytes (grows up to `maxSize`). */
  get size(): number {
    return this.core.segCount() * this.core.segmentSize;
  }
  /** Largest size the arena may grow to, in bytes. */
  get maxSize(): number {
    return this.maxBytes;
  }
  /** Segment size in bytes. */
  get segmentSize(): number {
    return this.core.segmentSize;
  }
  /** Current number of segments. */
  get segmentCount(): number {
    return this.core.segCount();
  }
  /** True once this Arena object was closed, or the creator closed the arena. */
  get closed(): boolean {
    return this.core.isClosed();
  }

  /** Open a lease. Throws ERR_TOO_MANY_LEASES when the table is full. */
  lease(options?: LeaseOptions): Lease {
    this.ensureOpen();
    const core = this.core;
    const o = resolveLeaseOptions(options, core.segmentSize, core.maxSegments, 'lease');
    if (o.reserve > 0) {
      // A reservation is taken out of the unreserved count now; the segments stay in the
      // central list, where only this lease may draw them (free-list.ts, counts).
      let ok = core.central.claimExactly(o.reserve);
      if (!ok) {
        // This thread's own cache may hold what is missing: give it back first, then grow.
        core.cache.flushAll();
        ok = core.central.claimExactly(o.reserve);
      }
      while (!ok && core.grow()) ok = core.central.claimExactly(o.reserve);
      if (!ok) throw arenaExhausted(o.reserve);
    }
    const r = openLease(core.i32, core.layout, o.limit, o.reserve);
    if (r === null) {
      core.central.give(o.reserve);
      throw tooManyLeases(core.layout.maxLeases);
    }
    return new Lease(core, r.slot, r.uid, r.base, o.name, o.limit, o.reserve);
  }

  /** Use a lease of this arena that was created in another thread. */
  attachLease(descriptor: LeaseDescriptor): Lease {
    this.ensureOpen();
    const d = descriptor as unknown as Record<string, unknown>;
    const l = this.core.layout;
    // Shape first: every field is used in messages or arithmetic (regression: a symbol name threw
    // a TypeError, and uid 0 matched a free slot and made a lease out of nothing).
    if (
      typeof descriptor !== 'object' || descriptor === null || d.kind !== 'segment-arena-lease' || typeof d.name !== 'string' ||
      !Number.isInteger(d.slot) || !Number.isInteger(d.uid) || !Number.isInteger(d.base) || !Number.isInteger(d.arenaId)
    ) {
      throw invalidArgument('descriptor', 'must be a lease descriptor (lease.descriptor)', descriptor);
    }
    if (descriptor.arenaId !== this.core.id) throw foreignSegment(`lease '${descriptor.name}'`, 'arena');
    const { slot, uid } = descriptor;
    if (slot < 0 || slot >= l.maxLeases || uid < 1) throw invalidArgument('descriptor', 'has a bad slot or uid', descriptor);
    const i32 = this.core.i32;
    const base = Atomics.load(i32, leaseWord(l, slot, L_USED)) & ~COUNT_MASK;
    const w = readLease(i32, l, slot);
    // Same uid, same incarnation, not closed: otherwise the lease is gone (its slot may be reused).
    if (w.uid !== uid || w.closed || base !== descriptor.base) throw leaseClosed(descriptor.name);
    return new Lease(this.core, slot, uid, base, descriptor.name, w.limit, w.reserve);
  }

  /**
   * Rehydrate a segment from its handle (in any thread). The segment must still be in the
   * epoch the handle names. Throws ERR_SEGMENT_RELEASED for a stale handle.
   */
  segment(handle: number): MemorySegment {
    this.ensureOpen();
    if (typeof handle !== 'number' || !Number.isSafeInteger(handle) || handle < 0) {
      throw invalidArgument('handle', 'must be a segment handle (a non-negative safe integer)', handle);
    }
    const core = this.core;
    const idx = handleIndex(handle);
    const gen = handleGen(handle);
    if (idx >= core.segCount()) throw invalidArgument('handle', `names segment ${idx}, beyond this arena`, handle);
    const l = core.layout;
    // Owned epochs have odd generations (segment-table.ts); an even one is free or in transit.
    // GEN, then STATE, then GEN again: STATE is only written while GEN is even, so an unchanged
    // odd GEN around the read proves STATE belongs to this epoch.
    const before = Atomics.load(core.i32, genIdx(l, idx));
    const st = core.i32[stateIdx(l, idx)]!;
    if ((gen & 1) === 0 || before !== gen || (st & KIND_MASK) !== KIND_OWNED || Atomics.load(core.i32, genIdx(l, idx)) !== gen) {
      throw segmentReleased(`${idx} (handle ${handle})`);
    }
    return new MemorySegment(core, idx, gen, st & ID_MASK);
  }

  /** Counts and per-lease figures (a walk of the arena; exact when quiescent). */
  stats(): ArenaStats {
    return arenaStats(this.core, this.maxBytes);
  }

  /**
   * Check every invariant: each segment in exactly one place, free + cached + allocated ==
   * total, each lease's charge == what it owns and within its limit, the free list sound.
   * Exact when no thread is inside an arena call.
   */
  audit(): AuditReport {
    return auditArena(this.core);
  }

  /**
   * @internal Give back what a dead thread cached (its thread slot, as its Arena object
   * reported it). Used by the TaskManager when a worker dies.
   */
  reclaimThread(threadSlot: number): number {
    return reclaimThread(this.core, threadSlot);
  }

  /** @internal Quiescent repair after crashes (see audit.ts). */
  repair(): number {
    return repairArena(this.core);
  }

  /**
   * @internal Give back every segment this thread caches (the TaskManager's slots call it
   * after each task, so an idle thread hoards nothing).
   */
  flushCache(): void {
    if (this.core.detached) return;
    this.core.drainQuarantine();
    this.core.cache.flushAll();
    this.core.counters.publish();
  }

  /** @internal This Arena object's thread slot. */
  get threadSlot(): number {
    return this.core.thread;
  }

  /**
   * Close this Arena object: give back every segment this thread caches and detach. In the
   * creating thread, also mark the arena closed for every thread (ERR_ARENA_CLOSED).
   * Idempotent. Pending allocateAsync requests of this thread reject with ERR_ARENA_CLOSED.
   */
  close(): void {
    if (this.core.detached) return;
    if (this.creator) this.core.markArenaClosed();
    this.core.waiters.rejectAll(arenaClosed());
    this.core.detach();
  }

  /** `using arena = new Arena(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  private ensureOpen(): void {
    if (this.core.isClosed()) throw arenaClosed();
  }
}
