/**
 * Expensive walks: stats, audit, and recovery. Cheap checks run on every call; these walks
 * look at every segment and every lease slot, and are exact only when the arena is quiescent
 * (no thread inside an arena call).
 *
 * Recovery (`reclaimThread`, `repair`) is the only code besides the owners' that writes
 * shared words, and it does so only for owners that are gone: a thread known dead, or, in
 * repair(), everything, under the caller's promise that no other thread is inside the arena.
 */
import type { ArenaCore } from './arena-core.js';
import { sumCounters, type ActivityCounts } from './counters.js';
import { MAX_BATCH } from './cache.js';
import {
  L_RES_USED, L_USED, T_WAITING, W_AVAIL, W_CENTRAL_COUNT, W_GROWS, W_PEAK_OUT, W_POISON_DAMAGE, W_WAITERS, leaseWord, threadWord,
} from './layout.js';
import { COUNT_MASK, freeLeaseSlot, readLease } from './lease-table.js';
import {
  ID_MASK, KIND_CACHED, KIND_FREE, KIND_MASK, KIND_OWNED, KIND_QUARANTINED, LAST_POISONED, genIdx, lastIdx, stateIdx,
} from './segment-table.js';
import { freeThreadSlot, threadSlotLive } from './thread-table.js';

/** The result of `arena.audit()`. */
export interface AuditReport {
  /** True when no problem was found. */
  ok: boolean;
  /** One line per broken invariant. */
  problems: string[];
  /** Segments in the central free list. */
  free: number;
  /** Segments owned by leases. */
  allocated: number;
  /** Segments in thread caches (and debug quarantines). */
  cached: number;
  /** All segments of the arena. */
  total: number;
}

/** Per-lease figures in {@link ArenaStats}. */
export interface LeaseStats {
  id: number;
  slot: number;
  used: number;
  peak: number;
  limit: number;
  reserve: number;
  leaked: number;
}

/** The result of `arena.stats()` (segment counts unless named in bytes). */
export interface ArenaStats {
  /** Current size in bytes. */
  size: number;
  maxSize: number;
  segmentSize: number;
  segmentCount: number;
  free: number;
  allocated: number;
  cached: number;
  /** Free segments any lease may take (the rest back reservations). */
  available: number;
  /** Most segments ever out of the central list at once (allocated + cached), sampled at refills. */
  peak: number;
  /** Open leases. */
  leases: number;
  grows: number;
  /** Threads (attached Arena objects) that wait in allocateAsync. */
  waiters: number;
  /** Segments leases still held when they were closed, since the arena was created (= activity.leaked). */
  leaked: number;
  leaseStats: LeaseStats[];
  /** Activity since the arena was created (counters.ts: other threads' figures lag by at most a batch). */
  activity: ActivityCounts;
}

interface Census {
  free: number;
  cached: number;
  owned: Int32Array;
  problems: string[];
}

function census(core: ArenaCore, n: number): Census {
  const i32 = core.i32;
  const l = core.layout;
  const owned = new Int32Array(l.maxLeases);
  let free = 0;
  let cached = 0;
  const problems: string[] = [];
  for (let idx = 0; idx < n; idx++) {
    const st = i32[stateIdx(l, idx)]!;
    const kind = st & KIND_MASK;
    const id = st & ID_MASK;
    if (kind === KIND_FREE) free++;
    else if (kind === KIND_OWNED) {
      if (id >= l.maxLeases) problems.push(`segment ${idx}: owner slot ${id} out of range`);
      else owned[id]!++;
    } else {
      cached++;
      if (id >= l.maxThreads || !threadSlotLive(i32, l, id)) {
        problems.push(`segment ${idx}: ${kind === KIND_CACHED ? 'cached' : 'quarantined'} by thread slot ${id}, which is not attached`);
      }
    }
  }
  return { free, cached, owned, problems };
}

export function arenaStats(core: ArenaCore, maxSize: number): ArenaStats {
  if (!core.detached) core.counters.publish();
  const n = core.segCount();
  const c = census(core, n);
  const l = core.layout;
  const leaseStats: LeaseStats[] = [];
  let allocated = 0;
  for (let slot = 0; slot < l.maxLeases; slot++) {
    const w = readLease(core.i32, l, slot);
    if (w.uid === 0 || w.closed) continue;
    allocated += w.used;
    const s = core.segmentSize;
    leaseStats.push({ id: w.uid, slot, used: w.used * s, peak: w.peak * s, limit: w.limit * s, reserve: w.reserve * s, leaked: w.leaked });
  }
  const activity = sumCounters(core.descriptor.control, core.layout);
  return {
    size: n * core.segmentSize,
    maxSize,
    segmentSize: core.segmentSize,
    segmentCount: n,
    free: c.free,
    allocated,
    cached: c.cached,
    available: Atomics.load(core.i32, W_AVAIL),
    peak: Atomics.load(core.i32, W_PEAK_OUT),
    leases: leaseStats.length,
    grows: Atomics.load(core.i32, W_GROWS),
    waiters: Atomics.load(core.i32, W_WAITERS),
    leaked: activity.leaked,
    leaseStats,
    activity,
  };
}

/** Check every invariant of DESIGN §3 (see IMPLEMENTATION.md for each argument). */
export function auditArena(core: ArenaCore): AuditReport {
  const i32 = core.i32;
  const l = core.layout;
  const n = core.segCount();
  const c = census(core, n);
  const problems = c.problems;

  // The central list: every FREE segment reachable exactly once, nothing else on it.
  const onList = new Uint8Array(n);
  let listed = 0;
  const walked = core.central.walk((idx) => {
    if (onList[idx]) problems.push(`segment ${idx}: linked twice into the central list`);
    onList[idx] = 1;
    listed++;
  }, n);
  if (!walked) problems.push('central free list: broken chain (cycle, bad index or bad batch header)');
  if (listed !== c.free) problems.push(`central free list links ${listed} segments but ${c.free} are marked free`);
  const centralCount = Atomics.load(i32, W_CENTRAL_COUNT);
  if (centralCount !== listed) problems.push(`central count word says ${centralCount}, list holds ${listed}`);

  // Leases: charge == owned, within limit, reservations consistent.
  let allocated = 0;
  let outstanding = 0;
  for (let slot = 0; slot < l.maxLeases; slot++) {
    const w = readLease(i32, l, slot);
    const owned = c.owned[slot]!;
    if (w.uid === 0) {
      if (owned > 0) problems.push(`${owned} segment(s) owned by free lease slot ${slot}`);
      continue;
    }
    if (w.closed) {
      if (owned > 0 || w.used > 0) problems.push(`closed lease ${w.uid} still holds ${owned} segment(s), charged ${w.used}`);
      continue;
    }
    allocated += owned;
    if (owned !== w.used) problems.push(`lease ${w.uid}: charged ${w.used} segment(s) but owns ${owned}`);
    if (w.used > w.limit) problems.push(`lease ${w.uid}: ${w.used} segment(s) over its limit of ${w.limit}`);
    if (w.peak > w.limit) problems.push(`lease ${w.uid}: peak ${w.peak} over its limit of ${w.limit}`);
    if (w.resUsed < 0 || w.resUsed > w.reserve) problems.push(`lease ${w.uid}: reservation draw ${w.resUsed} outside [0, ${w.reserve}]`);
    outstanding += w.reserve - w.resUsed;
  }
  const avail = Atomics.load(i32, W_AVAIL);
  if (avail + outstanding !== listed) {
    problems.push(`available (${avail}) + outstanding reservations (${outstanding}) != free segments (${listed})`);
  }
  if (c.free + c.cached + allocated !== n) {
    problems.push(`free ${c.free} + cached ${c.cached} + allocated ${allocated} != total ${n}`);
  }
  // Generations: odd exactly while owned (segment-table.ts). Scrub bookkeeping: an owned
  // segment's LAST names its owner (it was bound or transferred to it).
  for (let idx = 0; idx < n; idx++) {
    const st = i32[stateIdx(l, idx)]!;
    const odd = (i32[genIdx(l, idx)]! & 1) === 1;
    if (odd !== ((st & KIND_MASK) === KIND_OWNED)) {
      problems.push(`segment ${idx}: generation ${i32[genIdx(l, idx)]} is ${odd ? 'odd' : 'even'} but the segment is ${odd ? 'not owned' : 'owned'}`);
    }
    if ((st & KIND_MASK) !== KIND_OWNED) continue;
    const w = readLease(i32, l, st & ID_MASK);
    if (w.uid !== 0 && i32[lastIdx(l, idx)] !== w.uid) problems.push(`segment ${idx}: owned by lease ${w.uid} but last bound to ${i32[lastIdx(l, idx)]}`);
  }
  if (core.debug) {
    const damage = Atomics.load(i32, W_POISON_DAMAGE);
    if (damage > 0) problems.push(`debug: ${damage} segment(s) were written after their release (poison damaged)`);
    for (let idx = 0; idx < n; idx++) {
      const kind = i32[stateIdx(l, idx)]! & KIND_MASK;
      if (kind === KIND_QUARANTINED && i32[lastIdx(l, idx)] !== LAST_POISONED) problems.push(`segment ${idx}: quarantined but not poisoned`);
    }
  }
  return { ok: problems.length === 0, problems, free: c.free, allocated, cached: c.cached, total: n };
}

/**
 * Return every segment cached or quarantined by thread slot `slot` to the central list and
 * free the slot. Only for a thread that is gone (terminated, or exited without detaching):
 * its segments have no other holder, so these writes race with nobody.
 */
export function reclaimThread(core: ArenaCore, slot: number): number {
  const i32 = core.i32;
  const l = core.layout;
  const n = core.segCount();
  const batch = new Int32Array(MAX_BATCH);
  let k = 0;
  let total = 0;
  const flush = (): void => {
    core.central.push(batch, 0, k);
    core.central.give(k);
    total += k;
    k = 0;
  };
  for (let idx = 0; idx < n; idx++) {
    const st = i32[stateIdx(l, idx)]!;
    const kind = st & KIND_MASK;
    if ((kind === KIND_CACHED || kind === KIND_QUARANTINED) && (st & ID_MASK) === slot) {
      batch[k++] = idx;
      if (k === MAX_BATCH) flush();
    }
  }
  if (k > 0) flush();
  if (Atomics.exchange(i32, threadWord(l, slot, T_WAITING), 0) === 1) Atomics.sub(i32, W_WAITERS, 1);
  freeThreadSlot(i32, l, slot);
  return total;
}

/**
 * Quiescent repair: rebuild the central list and every count from the per-segment STATE
 * words, the source of truth. Segments held by no live owner (a dead thread's cache, a closed
 * or freed lease, or stranded mid-operation by a thread killed between two steps) go back to
 * the central list; each open lease's charge is set to what it owns. Returns how many segments
 * it gave back that the free list did not hold. The caller guarantees that no thread is inside
 * an arena call.
 */
export function repairArena(core: ArenaCore): number {
  const i32 = core.i32;
  const l = core.layout;
  const n = core.segCount();
  const wasFree = Atomics.load(i32, W_CENTRAL_COUNT);
  const owned = new Int32Array(l.maxLeases);
  const free: number[] = [];
  for (let idx = 0; idx < n; idx++) {
    const st = i32[stateIdx(l, idx)]!;
    const kind = st & KIND_MASK;
    const id = st & ID_MASK;
    if (kind === KIND_OWNED) {
      const w = readLease(i32, l, id);
      // An even generation under OWNED is a bind or transfer cut short by a dead thread: the
      // segment never reached its owner's hands.
      if (w.uid !== 0 && !w.closed && (i32[genIdx(l, idx)]! & 1) === 1) {
        owned[id]!++;
        continue;
      }
      if ((i32[genIdx(l, idx)]! & 1) === 1) i32[genIdx(l, idx)] = (i32[genIdx(l, idx)]! + 1) | 0;
    } else if (kind === KIND_CACHED || kind === KIND_QUARANTINED) {
      if (threadSlotLive(i32, l, id)) continue;
    }
    free.push(idx);
  }
  core.central.reset();
  const batch = new Int32Array(MAX_BATCH);
  for (let s = 0; s < free.length; s += MAX_BATCH) {
    const k = Math.min(MAX_BATCH, free.length - s);
    for (let j = 0; j < k; j++) batch[j] = free[s + j]!;
    core.central.push(batch, 0, k);
  }
  let outstanding = 0;
  for (let slot = 0; slot < l.maxLeases; slot++) {
    const w = readLease(i32, l, slot);
    if (w.uid === 0) continue;
    const usedIdx = leaseWord(l, slot, L_USED);
    const u = Atomics.load(i32, usedIdx);
    if (w.closed) {
      Atomics.store(i32, usedIdx, u & ~COUNT_MASK);
      freeLeaseSlot(i32, l, slot);
      continue;
    }
    Atomics.store(i32, usedIdx, (u & ~COUNT_MASK) | owned[slot]!);
    // A draw can only stand for a segment the lease still holds.
    const resUsed = Math.min(w.reserve, owned[slot]!, Atomics.load(i32, leaseWord(l, slot, L_RES_USED)));
    Atomics.store(i32, leaseWord(l, slot, L_RES_USED), resUsed);
    outstanding += w.reserve - resUsed;
  }
  // Reservations are backed first; if the free list cannot back them all (only after damage),
  // W_AVAIL is 0 and audit() reports the mismatch rather than repair hiding it.
  const avail = free.length - outstanding;
  Atomics.store(i32, W_AVAIL, Math.max(0, avail));
  let waiting = 0;
  for (let t = 0; t < l.maxThreads; t++) {
    const w = threadWord(l, t, T_WAITING);
    if (!threadSlotLive(i32, l, t)) Atomics.store(i32, w, 0);
    else waiting += Atomics.load(i32, w);
  }
  Atomics.store(i32, W_WAITERS, waiting);
  return Math.max(0, free.length - wasFree);
}
