/**
 * The sequential model the interleaving checker holds every schedule to.
 *
 * After a schedule, each operation of each virtual thread has an outcome ('ok' with the
 * segment epochs it got, or an error code) and a real-time interval [start, end] in steps. The
 * schedule passes when some sequential order of the operations' atomic events — keeping each
 * thread's program order, and every event of a before every event of b whenever a ended before
 * b started — takes the model through every outcome (linearizability, M. Herlihy & J. Wing,
 * TOPLAS 1990, with a Wing & Gong style memoised depth-first search over the orders), and ends
 * in the state the arena really ended in: the same owner and generation for every segment.
 *
 * Events. Most operations are one atomic event. Three are two, because the library's
 * contract makes them so (IMPLEMENTATION.md §6, §7): an allocation is charged first (the USED
 * CAS, where limit and closed are decided) and bound later; a release ends the epoch (the GEN
 * CAS) and uncharges later; a transfer checks its arguments, charges its target, moves the epoch
 * (the GEN CAS), then uncharges its source (so it can fail on a full target after the epoch it
 * checked has ended: found by this checker); close() marks the lease closed (and gives up every segment it
 * owns at that instant), then settles: it waits for allocations and transfers into the lease
 * that were charged before the mark, releases what they bind, and returns the total. (Found by
 * this checker: an allocation charged before close() can be handed a segment that the same
 * close() released a moment before; as a single event that outcome is not sequential, as two
 * it is.)
 *
 * Model state: open leases; per segment, owner (lease or free) and generation; per lease the
 * units charged but not yet bound, and the tally of the close in progress. Rules (when several
 * errors apply, any of them may be reported: which check comes first is not part of the contract):
 *   alloc(L, n)   charge: L closed → ERR_LEASE_CLOSED; owned + charged + n > limit →
 *                 ERR_LEASE_LIMIT; else charge n.  bind: ok → n segments, each free, each with an
 *                 odd generation above its last one (nothing granted twice, generations strictly
 *                 increase), owned by L (or, if L was closed meanwhile, released at once into its
 *                 close's tally); ERR_ARENA_EXHAUSTED never while L stays within its reservation
 *                 (owned + n <= reserve) with no other charge on L in flight (a concurrent
 *                 allocateMany that will fail holds its draws for a moment), otherwise only when free − n < slack + what other
 *                 leases reserve: segments can sit in other threads' caches or operations in
 *                 flight, out of this thread's reach (DESIGN §3: caches are not charged to any
 *                 lease). This rule is loose on purpose; lost segments are caught exactly at the
 *                 end (audit, and a fresh lease that must get every segment).
 *   release(s, L) end: L closed → LEASE_CLOSED; s's epoch over → SEGMENT_RELEASED; owned by
 *                 another lease → FOREIGN_SEGMENT; ok → free, generation + 1, still charged to L.
 *                 uncharge: L's count drops (until then other threads may see L full).
 *   transfer(s, L→M)  check: L or M closed → LEASE_CLOSED; epoch over → SEGMENT_RELEASED; owner ≠
 *                 L → FOREIGN_SEGMENT.  charge: M closed → LEASE_CLOSED; M full → LEASE_LIMIT; L has
 *                 a reservation → ARENA_EXHAUSTED allowed (no general unit to back a drawn one); else
 *                 charge M.  move: epoch over → SEGMENT_RELEASED; else ok, owner M, generation + 2.
 *                 uncharge: L's count drops.
 *   close(L)      mark: L closed already → returns 0; else closes L and frees what it owns.
 *                 settle: nothing charged on L is unbound; returns the tally.
 *   detach        ok, no change (segments in caches are free in the model).
 * Any other code (ERR_INTERNAL, a TypeError, …) is never sequentially possible.
 */
import type { Op, OpOutcome, SegRef } from '../fixtures/checker-protocol.js';

export interface ModelConfig {
  readonly segments: number;
  readonly limits: readonly number[];
  /** Reserved segments per lease. */
  readonly reserves: readonly number[];
  /** Segments owned before the run: index, generation, lease. */
  readonly preheld: readonly { readonly index: number; readonly gen: number; readonly lease: number }[];
  readonly scripts: readonly (readonly Op[])[];
  /** Free segments that may be out of this thread's reach (see the header). */
  readonly slack: number;
  /** A lease whose limit is at least this is unlimited: over its limit reads as exhaustion. */
  readonly maxSegments: number;
}

/** Real final state: for every segment, owner lease (−1 = free) and generation. */
export interface FinalState {
  readonly owner: readonly number[];
  readonly gen: readonly number[];
}

interface State {
  open: boolean[];
  owner: number[];
  gen: number[];
  /** Units charged to each lease and not yet bound (alloc, transfer in flight). */
  charged: number[];
  /** Segments released so far by the close in progress on each lease. */
  tally: number[];
}

const clone = (s: State): State => ({ open: [...s.open], owner: [...s.owner], gen: [...s.gen], charged: [...s.charged], tally: [...s.tally] });
const key = (s: State): string => `${s.open.map(Number).join('')}|${s.owner.join(',')}|${s.gen.join(',')}|${s.charged.join(',')}|${s.tally.join(',')}`;
const owned = (s: State, lease: number): number => s.owner.filter((o) => o === lease).length;

/** The event is the operation's last. */
const DONE = -1;
/** What an event leads to: the next state, and the operation's next phase (or DONE). */
interface Step {
  readonly state: State;
  readonly next: number;
}

/** An error outcome that one of the applicable `errors` explains ends the operation here. */
function failWith(s: State, o: OpOutcome, errors: readonly string[]): Step[] {
  return errors.includes(o.code) ? [{ state: s, next: DONE }] : [];
}

/** A segment epoch that ends in lease L's close: freed at once, counted by the close. */
function freeIntoClose(s: State, index: number, gen: number, L: number): void {
  s.owner[index] = -1;
  s.gen[index] = gen + 1;
  s.tally[L]! += 1;
}

/** Apply phase `phase` of outcome `o` to `s0`: every way it can go (none: impossible here). */
function apply(cfg: ModelConfig, s0: State, o: OpOutcome, phase: number): Step[] {
  if (o.kind === 'skip') return [{ state: s0, next: DONE }];
  if (o.kind === 'detach') return o.code === 'ok' ? [{ state: s0, next: DONE }] : [];
  const op = cfg.scripts[o.thread]?.[o.op];
  if (op === undefined) return [];
  const s = clone(s0);
  switch (op.op) {
    case 'alloc':
    case 'allocMany': {
      const n = op.op === 'alloc' ? 1 : op.n;
      const L = op.lease;
      if (phase === 0) {
        const errors: string[] = [];
        if (!s.open[L]) errors.push('ERR_LEASE_CLOSED');
        const limit = cfg.limits[L]!;
        if (owned(s, L) + s.charged[L]! + n > limit) errors.push(limit >= cfg.maxSegments ? 'ERR_ARENA_EXHAUSTED' : 'ERR_LEASE_LIMIT');
        if (errors.length > 0) return failWith(s, o, errors);
        if (o.code !== 'ok' && o.code !== 'ERR_ARENA_EXHAUSTED') return [];
        s.charged[L]! += n;
        return [{ state: s, next: 1 }];
      }
      s.charged[L]! -= n;
      const free = s.owner.filter((x) => x < 0).length;
      if (o.code === 'ERR_ARENA_EXHAUSTED') {
        // A lease within its reservation is never refused; others may find the free segments
        // reserved by other leases, cached or in flight.
        const reservedElsewhere = cfg.reserves.reduce((a, r, M) => a + (M === L ? 0 : r), 0);
        // (An operation of another thread on L in flight, charged, may hold a draw for a moment.)
        const withinReserve = owned(s, L) + n <= cfg.reserves[L]! && s.charged[L] === 0;
        return !withinReserve && free - n < cfg.slack + reservedElsewhere ? [{ state: s, next: DONE }] : [];
      }
      if (o.code !== 'ok' || o.segments.length !== n || free < n) return [];
      for (const { index, gen } of o.segments) {
        if (index < 0 || index >= cfg.segments || s.owner[index]! >= 0) return []; // granted twice
        if ((gen & 1) !== 1 || gen <= s.gen[index]!) return []; // generation not fresh
        if (s.open[L]) {
          s.owner[index] = L;
          s.gen[index] = gen;
        } else freeIntoClose(s, index, gen, L);
      }
      return [{ state: s, next: DONE }];
    }
    case 'release': {
      const t = o.target;
      if (t === null) return [];
      const L = o.lease;
      const errors: string[] = [];
      if (!s.open[L]) errors.push('ERR_LEASE_CLOSED');
      const live = s.owner[t.index]! >= 0 && s.gen[t.index] === t.gen;
      if (!live) errors.push('ERR_SEGMENT_RELEASED');
      else if (s.owner[t.index] !== L) errors.push('ERR_FOREIGN_SEGMENT');
      if (phase === 1) {
        s.charged[L]! -= 1; // the uncharge that follows the GEN CAS
        return [{ state: s, next: DONE }];
      }
      if (errors.length > 0) return failWith(s, o, errors);
      if (o.code !== 'ok') return [];
      s.owner[t.index] = -1;
      s.gen[t.index] = t.gen + 1;
      s.charged[L]! += 1; // still counted by L until the uncharge
      return [{ state: s, next: 1 }];
    }
    case 'transfer': {
      const t = o.target;
      if (t === null) return [];
      const L = o.lease;
      const M = op.to;
      const live = s.owner[t.index]! >= 0 && s.gen[t.index] === t.gen;
      if (phase === 0) {
        // The checks of the arguments (ensureOpen of both leases, checkOwned).
        const errors: string[] = [];
        if (!s.open[L] || !s.open[M]) errors.push('ERR_LEASE_CLOSED');
        if (!live) errors.push('ERR_SEGMENT_RELEASED');
        else if (s.owner[t.index] !== L) errors.push('ERR_FOREIGN_SEGMENT');
        if (errors.length > 0) return failWith(s, o, errors);
        if (M === L) return o.code === 'ok' ? [{ state: s, next: DONE }] : [];
        return [{ state: s, next: 1 }];
      }
      if (phase === 1) {
        // The charge CAS on the target (after a lease with a reservation claimed the general
        // unit that backs a drawn one: refused with ERR_ARENA_EXHAUSTED, nothing moves).
        const errors: string[] = cfg.reserves[L]! > 0 ? ['ERR_ARENA_EXHAUSTED'] : [];
        if (!s.open[M]) errors.push('ERR_LEASE_CLOSED');
        if (owned(s, M) + s.charged[M]! + 1 > cfg.limits[M]!) errors.push('ERR_LEASE_LIMIT');
        if (errors.includes(o.code)) return [{ state: s, next: DONE }];
        if (errors.some((e) => e !== 'ERR_ARENA_EXHAUSTED') || (o.code !== 'ok' && o.code !== 'ERR_SEGMENT_RELEASED')) return [];
        s.charged[M]! += 1;
        return [{ state: s, next: 2 }];
      }
      if (phase === 3) {
        s.charged[L]! -= 1; // the source's uncharge after the move
        return [{ state: s, next: DONE }];
      }
      // The GEN CAS: the move.
      s.charged[M]! -= 1;
      if (!live) return o.code === 'ERR_SEGMENT_RELEASED' ? [{ state: s, next: DONE }] : [];
      const landed: SegRef | undefined = o.segments[0];
      if (o.code !== 'ok' || landed === undefined || landed.index !== t.index || landed.gen !== t.gen + 2) return [];
      if (s.open[M]) {
        s.owner[t.index] = M;
        s.gen[t.index] = landed.gen;
      } else freeIntoClose(s, t.index, landed.gen, M);
      s.charged[L]! += 1; // still counted by L until its uncharge
      return [{ state: s, next: 3 }];
    }
    case 'close': {
      if (o.code !== 'ok') return [];
      const L = op.lease;
      if (phase === 0) {
        if (!s.open[L]) return o.released === 0 ? [{ state: s, next: DONE }] : [];
        s.open[L] = false;
        s.tally[L] = 0;
        s.owner.forEach((x, i) => {
          if (x === L) freeIntoClose(s, i, s.gen[i]!, L);
        });
        return [{ state: s, next: 1 }];
      }
      if (s.charged[L] !== 0 || o.released !== s.tally[L]) return [];
      s.tally[L] = 0;
      return [{ state: s, next: DONE }];
    }
  }
}

export interface Linearization {
  readonly ok: boolean;
  /** A witness order ("t0.1 t1.0 …"), or why none exists. */
  readonly detail: string;
}

/** Search a sequential order of the events of `outcomes` that the model accepts and that ends in `final`. */
export function linearize(cfg: ModelConfig, outcomes: readonly OpOutcome[], final: FinalState): Linearization {
  const init: State = {
    open: cfg.limits.map(() => true),
    owner: new Array<number>(cfg.segments).fill(-1),
    gen: new Array<number>(cfg.segments).fill(0),
    charged: cfg.limits.map(() => 0),
    tally: cfg.limits.map(() => 0),
  };
  for (const p of cfg.preheld) {
    init.owner[p.index] = p.lease;
    init.gen[p.index] = p.gen;
  }
  const ops = [...outcomes];
  const n = ops.length;
  // pred[b] = bit mask of operations that must be complete before b's first event.
  const pred = ops.map((b) => {
    let m = 0;
    ops.forEach((a, i) => {
      if (a === b) return;
      if ((a.thread === b.thread && a.op < b.op) || a.end < b.start) m |= 1 << i;
    });
    return m;
  });
  const finalKey = `${final.owner.join(',')}|${final.gen.join(',')}`;
  const dead = new Set<string>();
  const phase = new Array<number>(n).fill(0);
  const order: string[] = [];
  let deepest: string[] = [];
  const name = (i: number, p: number): string => `t${ops[i]!.thread}.${ops[i]!.op}${p > 0 ? `'${p}` : ''}`;
  const dfs = (done: number, s: State): boolean => {
    if (done === (1 << n) - 1) return `${s.owner.join(',')}|${s.gen.join(',')}` === finalKey;
    const k = `${done}#${phase.join('')}#${key(s)}`;
    if (dead.has(k)) return false;
    for (let i = 0; i < n; i++) {
      if ((done & (1 << i)) !== 0 || (pred[i]! & ~done) !== 0) continue;
      const p = phase[i]!;
      for (const st of apply(cfg, s, ops[i]!, p)) {
        order.push(name(i, p));
        if (order.length > deepest.length) deepest = [...order];
        phase[i] = st.next === DONE ? p : st.next;
        if (dfs(st.next === DONE ? done | (1 << i) : done, st.state)) return true;
        phase[i] = p;
        order.pop();
      }
    }
    dead.add(k);
    return false;
  };
  if (dfs(0, init)) return { ok: true, detail: order.join(' ') };
  return { ok: false, detail: `no sequential execution gives these outcomes (longest valid event prefix: ${deepest.join(' ') || '(none)'})` };
}
