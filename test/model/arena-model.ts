/**
 * A plain reference model of one arena as one thread sees it: a fixed number of segments
 * (no growth), leases with limits and reservations, and the bytes of each segment, with no
 * shared memory, no free lists and no caches. test/core.property.test.ts runs random command
 * sequences against the real library and this model side by side.
 *
 * Accounting, in segments (S = segment size, T = segment count):
 *   lease M:  limit L_M = min(T, floor(limitBytes / S)) (no limit: T); reserve R_M =
 *             ceil(reserveBytes / S) (R_M > L_M is ERR_INVALID_OPTION); resUsed_M = segments
 *             drawn from its reservation; owned_M = its live blocks.
 *   G = T − Σ_open R_M                       general capacity
 *   U = Σ_open |owned_M| − Σ_open resUsed_M  general in use
 *   G − U = free segments any lease may take (in the library: AVAIL + this thread's cache)
 * Allocation takes general capacity first, then the lease's reservation; release gives back
 * to the reservation first while resUsed > 0; transfer moves ownership and charge, and while
 * the source has drawn on its reservation (resUsed > 0), a general unit takes the leaving
 * segment's place behind the reservation (resUsed_source − 1; needs G − U ≥ 1, else
 * ERR_ARENA_EXHAUSTED); close frees the lease's blocks and its whole reservation.
 *
 * A block is one ownership epoch of one segment (allocation → release/transfer/close). A
 * transfer ends the epoch and starts a new one owned by the target, which is why handles and
 * other objects taken before it go stale.
 *
 * Predictions are made before the library call (`plan*`); effects are applied after the
 * library agreed (`commit*`), with what only the library knows (which segment index it gave).
 */
import type { ArenaErrorCode } from '../../src/errors.js';

export interface ModelConfig {
  /** T: segments in the arena (it never grows). */
  readonly segments: number;
  /** S: bytes per segment. */
  readonly segmentSize: number;
  /** Size of the lease table. */
  readonly maxLeases: number;
}

export interface LeaseState {
  /** Position in `ArenaModel.leases`. */
  readonly key: number;
  /** L, in segments. */
  readonly limit: number;
  /** R, in segments. */
  readonly reserve: number;
  /** Segments drawn from the reservation. */
  resUsed: number;
  /** Keys of the live blocks this lease owns. */
  readonly owned: Set<number>;
  closed: boolean;
  /** Most segments held at once, in segments. */
  peak: number;
}

export interface BlockState {
  readonly key: number;
  readonly index: number;
  /** Owner during the epoch (kept after the epoch ends, for "release by the owner"). */
  readonly owner: number;
  alive: boolean;
}

/** What the model knows about the bytes of one segment index. */
interface SegmentMemory {
  /** Key of the lease that last received the segment (allocation or transfer); null: never. */
  last: number | null;
  /** True when every byte not listed in `values` is known to be zero. */
  zero: boolean;
  /** Known 32-bit values at stamped offsets. */
  readonly values: Map<number, number>;
}

/** A predicted outcome: success with a payload, an error code, or tryAllocate's null. */
export type Outcome<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly code: ArenaErrorCode } | { readonly kind: 'null' };

export const ok = <T>(value: T): Outcome<T> => ({ kind: 'ok', value });
export const fail = <T>(code: ArenaErrorCode): Outcome<T> => ({ kind: 'error', code });

/** How an allocation is split between general capacity and the lease's reservation. */
export interface AllocationPlan {
  readonly fromGeneral: number;
  readonly fromReserve: number;
}

/** A segment the model says must read as all zeros (it came from another lease, scrub on). */
export interface Received {
  readonly block: number;
  readonly mustBeZero: boolean;
}

export type ByteSpec = number | undefined;

export class ArenaModel {
  readonly leases: LeaseState[] = [];
  readonly blocks: BlockState[] = [];
  private readonly memory = new Map<number, SegmentMemory>();

  constructor(readonly config: ModelConfig) {}

  // ---- derived figures ---------------------------------------------------------------------

  openLeases(): LeaseState[] {
    return this.leases.filter((l) => !l.closed);
  }
  /** G */
  generalCapacity(): number {
    return this.config.segments - this.openLeases().reduce((s, l) => s + l.reserve, 0);
  }
  /** U */
  generalInUse(): number {
    return this.openLeases().reduce((s, l) => s + l.owned.size - l.resUsed, 0);
  }
  /** G − U */
  generalFree(): number {
    return this.generalCapacity() - this.generalInUse();
  }
  allocated(): number {
    return this.openLeases().reduce((s, l) => s + l.owned.size, 0);
  }
  lease(key: number): LeaseState {
    const l = this.leases[key];
    if (!l) throw new Error(`model: no lease ${key}`);
    return l;
  }
  block(key: number): BlockState {
    const b = this.blocks[key];
    if (!b) throw new Error(`model: no block ${key}`);
    return b;
  }
  /** The live block on segment `index`, if any. */
  liveBlockAt(index: number): BlockState | undefined {
    return this.blocks.find((b) => b.alive && b.index === index);
  }

  // ---- open --------------------------------------------------------------------------------

  limitSegments(limitBytes: ByteSpec): number {
    const { segments, segmentSize } = this.config;
    return limitBytes === undefined ? segments : Math.min(segments, Math.floor(limitBytes / segmentSize));
  }
  reserveSegments(reserveBytes: ByteSpec): number {
    return reserveBytes === undefined ? 0 : Math.ceil(reserveBytes / this.config.segmentSize);
  }

  /**
   * arena.lease({ limit, reserve }). The reservation is checked before the table (the
   * library claims the reservation first, then looks for a free lease slot).
   */
  planOpen(limitBytes: ByteSpec, reserveBytes: ByteSpec): Outcome<{ limit: number; reserve: number }> {
    const limit = this.limitSegments(limitBytes);
    const reserve = this.reserveSegments(reserveBytes);
    if (reserve > limit) return fail('ERR_INVALID_OPTION');
    if (reserve > 0 && reserve > this.generalFree()) return fail('ERR_ARENA_EXHAUSTED');
    if (this.openLeases().length >= this.config.maxLeases) return fail('ERR_TOO_MANY_LEASES');
    return ok({ limit, reserve });
  }
  commitOpen(limit: number, reserve: number): LeaseState {
    const l: LeaseState = { key: this.leases.length, limit, reserve, resUsed: 0, owned: new Set(), closed: false, peak: 0 };
    this.leases.push(l);
    return l;
  }
  /** Open-and-close churn: true if a lease with no limit and no reserve would open now. */
  canOpenPlain(): boolean {
    return this.openLeases().length < this.config.maxLeases;
  }

  // ---- allocate ----------------------------------------------------------------------------

  /**
   * allocate() / tryAllocate() (n = 1, `orNull` for tryAllocate) and allocateMany(n).
   * Limit first (an unlimited lease, L = T, reports exhaustion instead), then capacity:
   * general first, then the lease's own reservation, all or nothing.
   */
  planAllocate(key: number, n: number, orNull: boolean): Outcome<AllocationPlan> {
    if (!Number.isInteger(n) || n < 0) return fail('ERR_INVALID_ARGUMENT');
    const l = this.lease(key);
    if (l.closed) return fail('ERR_LEASE_CLOSED');
    if (n === 0) return ok({ fromGeneral: 0, fromReserve: 0 });
    const exhausted: Outcome<AllocationPlan> = orNull ? { kind: 'null' } : fail('ERR_ARENA_EXHAUSTED');
    if (l.owned.size + n > l.limit) return l.limit >= this.config.segments ? exhausted : fail('ERR_LEASE_LIMIT');
    const general = Math.max(0, this.generalFree());
    const fromGeneral = Math.min(n, general);
    const fromReserve = n - fromGeneral;
    if (fromReserve > l.reserve - l.resUsed) return exhausted;
    return ok({ fromGeneral, fromReserve });
  }

  /** Record the segments the library handed out; says which must read as zeros. */
  commitAllocate(key: number, plan: AllocationPlan, indexes: readonly number[]): Received[] {
    const l = this.lease(key);
    l.resUsed += plan.fromReserve;
    const out: Received[] = [];
    for (const index of indexes) {
      const b = this.newBlock(index, key);
      l.owned.add(b.key);
      const mem = this.mem(index);
      const mustBeZero = mem.last !== key;
      // Scrub on: a segment another lease (or nobody) had last is all zeros. Back from this
      // same lease, its bytes are whatever the lease left (the contract does not say).
      mem.zero = mustBeZero;
      mem.values.clear();
      mem.last = key;
      out.push({ block: b.key, mustBeZero });
    }
    l.peak = Math.max(l.peak, l.owned.size);
    return out;
  }

  // ---- release -----------------------------------------------------------------------------

  /** The error `lease.release` must throw for one segment of block `block`, or null. */
  private checkOwned(key: number, block: number): ArenaErrorCode | null {
    const b = this.block(block);
    if (!b.alive) return 'ERR_SEGMENT_RELEASED';
    if (b.owner !== key) return 'ERR_FOREIGN_SEGMENT';
    return null;
  }

  /**
   * release(one) and release([...]): lease closed first; then each element in order
   * (released, foreign, or listed twice); all or nothing.
   */
  planRelease(key: number, blocks: readonly number[]): Outcome<undefined> {
    if (this.lease(key).closed) return fail('ERR_LEASE_CLOSED');
    const seen = new Set<number>();
    for (const block of blocks) {
      const code = this.checkOwned(key, block);
      if (code !== null) return fail(code);
      if (seen.has(block)) return fail('ERR_SEGMENT_RELEASED');
      seen.add(block);
    }
    return ok(undefined);
  }
  commitRelease(key: number, blocks: readonly number[]): void {
    const l = this.lease(key);
    for (const block of blocks) {
      this.block(block).alive = false;
      l.owned.delete(block);
      // A release refills the reservation first: the segment goes back behind it.
      if (l.resUsed > 0) l.resUsed--;
    }
  }
  /** A segment of another arena. */
  planReleaseForeign(key: number): Outcome<undefined> {
    return this.lease(key).closed ? fail('ERR_LEASE_CLOSED') : fail('ERR_FOREIGN_SEGMENT');
  }

  // ---- transfer ----------------------------------------------------------------------------

  /**
   * transfer(segment, to): source closed, target closed, the segment (released / foreign),
   * to itself (a no-op), the reservation backfill, the target's limit. Returns whether
   * anything moves.
   */
  planTransfer(key: number, block: number, to: number): Outcome<boolean> {
    const from = this.lease(key);
    if (from.closed) return fail('ERR_LEASE_CLOSED');
    const target = this.lease(to);
    if (target.closed) return fail('ERR_LEASE_CLOSED');
    const code = this.checkOwned(key, block);
    if (code !== null) return fail(code);
    if (to === key) return ok(false);
    if (this.needsBackfill(from) && this.generalFree() < 1) return fail('ERR_ARENA_EXHAUSTED');
    if (target.owned.size + 1 > target.limit) return fail('ERR_LEASE_LIMIT');
    return ok(true);
  }
  /** A lease that has drawn on its reservation backs every segment it transfers away. */
  private needsBackfill(from: LeaseState): boolean {
    return from.reserve > 0 && from.resUsed > 0;
  }
  /** Ends the block's epoch and returns the new block (owned by `to`). */
  commitTransfer(key: number, block: number, to: number): number {
    const b = this.block(block);
    const from = this.lease(key);
    const target = this.lease(to);
    if (this.needsBackfill(from)) from.resUsed--; // a general unit now backs the reservation
    b.alive = false;
    from.owned.delete(block);
    const nb = this.newBlock(b.index, to);
    target.owned.add(nb.key);
    target.peak = Math.max(target.peak, target.owned.size);
    this.mem(b.index).last = to; // the bytes travel with the segment
    return nb.key;
  }
  /** transfer to a lease of another arena. */
  planTransferForeign(key: number): Outcome<undefined> {
    return this.lease(key).closed ? fail('ERR_LEASE_CLOSED') : fail('ERR_FOREIGN_SEGMENT');
  }

  // ---- close -------------------------------------------------------------------------------

  /** close(): the number of segments it releases (0 once closed). Never fails. */
  close(key: number): number {
    const l = this.lease(key);
    if (l.closed) return 0;
    const n = l.owned.size;
    for (const block of l.owned) this.block(block).alive = false;
    l.owned.clear();
    l.closed = true;
    return n;
  }

  // ---- segment access ----------------------------------------------------------------------

  /** arena.segment(handle) for a handle taken during epoch `block`. */
  planRehydrate(block: number): Outcome<undefined> {
    return this.block(block).alive ? ok(undefined) : fail('ERR_SEGMENT_RELEASED');
  }
  /** Any checked access through an object of epoch `block`: live, or ERR_SEGMENT_RELEASED. */
  planAccess(block: number): Outcome<undefined> {
    return this.block(block).alive ? ok(undefined) : fail('ERR_SEGMENT_RELEASED');
  }
  stamp(block: number, offset: number, value: number): void {
    this.mem(this.block(block).index).values.set(offset, value);
  }
  /** The value a read at `offset` must return, or undefined when the model does not know. */
  expectedAt(block: number, offset: number): number | undefined {
    const mem = this.mem(this.block(block).index);
    const v = mem.values.get(offset);
    if (v !== undefined) return v;
    return mem.zero ? 0 : undefined;
  }

  // ---- contract checks that follow from the model alone ------------------------------------

  /**
   * The reservation promise (LeaseOptions.reserve: "it can always draw them, whatever other
   * leases hold"; DESIGN §1 "guaranteed headroom other leases cannot take"): an open lease
   * holding fewer segments than it reserved can always allocate one more. Returns one line
   * per lease for which the model (which mirrors the library) says it cannot.
   */
  reservationPromiseBroken(): string[] {
    const out: string[] = [];
    for (const l of this.openLeases()) {
      if (l.owned.size < l.reserve && this.planAllocate(l.key, 1, false).kind !== 'ok') {
        out.push(
          `lease L${l.key} holds ${l.owned.size} < reserve ${l.reserve} segment(s) but cannot allocate one ` +
            `(resUsed ${l.resUsed}, general free ${this.generalFree()})`,
        );
      }
    }
    return out;
  }

  describe(): string {
    const ls = this.leases
      .map((l) => `L${l.key}${l.closed ? '(closed)' : ''}{limit ${l.limit}, reserve ${l.reserve}, resUsed ${l.resUsed}, owns ${l.owned.size}, peak ${l.peak}}`)
      .join(' ');
    return `T=${this.config.segments} G=${this.generalCapacity()} U=${this.generalInUse()} ${ls}`;
  }

  private newBlock(index: number, owner: number): BlockState {
    const b: BlockState = { key: this.blocks.length, index, owner, alive: true };
    this.blocks.push(b);
    return b;
  }
  private mem(index: number): SegmentMemory {
    let m = this.memory.get(index);
    if (!m) {
      m = { last: null, zero: true, values: new Map() };
      this.memory.set(index, m);
    }
    return m;
  }
}
