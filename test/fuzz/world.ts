/**
 * The live state the fuzz commands run against, and the model that says what it must be.
 *
 * A world holds three arenas with live state: A (growable, two Arena objects: the creator and
 * an attached one, A2), B (another arena, debug mode) and C (closed at setup, with a lease that
 * still owns a segment). Their leases include a closed one and leases reached through A2;
 * their segments include released ones, a transferred one, and handles that went stale.
 *
 * The model is plain data: per lease, open/closed and how many segments it holds; per segment
 * (a "cell": arena + index), whether it is owned, by whom, in which epoch, and its expected
 * bytes. Objects (Lease, MemorySegment) are aliases of cells: a segment object is live while
 * its epoch is the cell's current one (a release or a transfer through another object ends it).
 *
 * `verify` compares everything observable with the model after every command: audit() ok,
 * stats().allocated and .leases, each lease object's used and closed, each segment object's
 * released, the bytes of every owned segment. `fingerprint` captures what no failed call may
 * change at all (free/cached/available counts, segment count, peaks).
 */
import { Arena, type ArenaStats, type Lease, type LeaseDescriptor, type LeaseOptions, type MemorySegment } from '../../src/index.js';
import { SEG } from './values.js';

export type ArenaName = 'A' | 'B' | 'C';

export interface ArenaCell {
  readonly name: ArenaName;
  readonly creator: Arena;
  readonly id: number;
  readonly maxSegments: number;
  readonly maxLeases: number;
  readonly debug: boolean;
  /** The creator closed the arena (every thread sees ERR_ARENA_CLOSED). */
  closed: boolean;
}

/** One Arena object (the creator or an attached one). */
export interface ArenaObj {
  readonly label: 'A' | 'A2' | 'B' | 'C';
  readonly obj: Arena;
  readonly cell: ArenaCell;
  /** This object was closed (detached). */
  closed: boolean;
}

export interface LeaseCell {
  readonly arena: ArenaCell;
  readonly desc: LeaseDescriptor;
  readonly limitSegments: number;
  readonly reserveSegments: number;
  closed: boolean;
  /** Segments owned now. */
  count: number;
}

export interface LeaseObj {
  readonly obj: Lease;
  readonly cell: LeaseCell;
  readonly via: ArenaObj;
}

export interface SegCell {
  readonly arena: ArenaCell;
  readonly index: number;
  owner: LeaseCell | null;
  epoch: number;
  /** The lease the bytes were last bound or transferred to (scrub: another lease reads zeros). */
  lastOwner: LeaseCell | null;
  /** Expected bytes while owned. */
  bytes: Uint8Array;
}

export interface SegObj {
  readonly obj: MemorySegment;
  readonly cell: SegCell;
  epoch: number;
  readonly via: ArenaObj;
}

export interface World {
  readonly arenas: Record<ArenaName, ArenaCell>;
  readonly objs: Record<'A' | 'A2' | 'B' | 'C', ArenaObj>;
  readonly leases: LeaseObj[];
  readonly segs: SegObj[];
  readonly cells: Map<string, SegCell>;
  /** Handles whose epoch is over (released or transferred since). */
  readonly staleHandles: number[];
  /** Stamp counter: each allocation writes a distinct pattern. */
  stamp: number;
}

export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

export function fail(message: string): never {
  throw new FuzzFailure(message);
}

export const isLive = (s: SegObj): boolean => s.cell.owner !== null && s.cell.epoch === s.epoch;
/** The calls a lease object makes reach an open arena object of an open arena. */
export const viaOpen = (o: ArenaObj): boolean => !o.closed && !o.cell.closed;

/** Raw bytes of a segment (not through the checked API). */
export function rawBytes(cell: SegCell): Uint8Array {
  return new Uint8Array(cell.arena.creator.descriptor.data, cell.index * SEG, SEG);
}

const ZERO = new Uint8Array(SEG);

function cellOf(w: World, arena: ArenaCell, index: number): SegCell {
  const key = `${arena.name}:${index}`;
  let c = w.cells.get(key);
  if (!c) {
    c = { arena, index, owner: null, epoch: 0, lastOwner: null, bytes: new Uint8Array(SEG) };
    w.cells.set(key, c);
  }
  return c;
}

// ---- model updates (called after a call succeeded) --------------------------------------------

/** Record a new lease object for a new lease. */
export function addLease(w: World, via: ArenaObj, obj: Lease): LeaseObj {
  const cell: LeaseCell = {
    arena: via.cell, desc: obj.descriptor, limitSegments: obj.limit / SEG, reserveSegments: obj.reserve / SEG, closed: false, count: 0,
  };
  const lo = { obj, cell, via };
  w.leases.push(lo);
  return lo;
}

/** Record a second object for an existing lease (attachLease). */
export function addLeaseAlias(w: World, via: ArenaObj, obj: Lease, cell: LeaseCell): LeaseObj {
  const lo = { obj, cell, via };
  w.leases.push(lo);
  return lo;
}

/**
 * Record segments a lease just received, check them (not granted twice; scrubbed when the
 * bytes come from another lease), and stamp each with a distinct pattern through `write`.
 */
export function granted(w: World, lo: LeaseObj, got: readonly MemorySegment[]): void {
  for (const seg of got) {
    const cell = cellOf(w, lo.cell.arena, seg.index);
    if (cell.owner !== null) fail(`segment ${lo.cell.arena.name}:${seg.index} granted to lease ${lo.cell.desc.uid} while lease ${cell.owner.desc.uid} owns it`);
    const raw = rawBytes(cell);
    if (cell.lastOwner !== lo.cell && Buffer.compare(raw, ZERO) !== 0) {
      fail(`segment ${lo.cell.arena.name}:${seg.index} reached lease ${lo.cell.desc.uid} unscrubbed (last owner ${cell.lastOwner?.desc.uid ?? 'none'})`);
    }
    cell.owner = lo.cell;
    cell.lastOwner = lo.cell;
    cell.epoch++;
    cell.bytes = raw.slice();
    lo.cell.count++;
    w.segs.push({ obj: seg, cell, epoch: cell.epoch, via: lo.via });
    // A distinct stamp at both ends, so a write that lands anywhere near shows.
    const n = ++w.stamp;
    const stamp = new Uint8Array(16);
    for (let k = 0; k < 16; k++) stamp[k] = (n * 31 + k * 7 + seg.index) & 0xff;
    seg.write(0, stamp);
    seg.write(SEG - 16, stamp);
    cell.bytes.set(stamp, 0);
    cell.bytes.set(stamp, SEG - 16);
  }
  trim(w);
}

/** A segment object was rehydrated from a live handle: another object for the same epoch. */
export function addSegAlias(w: World, via: ArenaObj, obj: MemorySegment, of: SegObj): void {
  w.segs.push({ obj, cell: of.cell, epoch: of.epoch, via });
  trim(w);
}

export function released(w: World, s: SegObj): void {
  const cell = s.cell;
  w.staleHandles.push(s.obj.handle);
  cell.owner!.count--;
  cell.owner = null;
  cell.epoch++;
}

export function transferred(w: World, s: SegObj, to: LeaseCell): void {
  const cell = s.cell;
  w.staleHandles.push(s.obj.handle);
  cell.owner!.count--;
  cell.owner = to;
  cell.lastOwner = to;
  to.count++;
  cell.epoch++;
  s.epoch = cell.epoch;
}

export function leaseClosed(w: World, cell: LeaseCell): number {
  let n = 0;
  for (const c of w.cells.values()) {
    if (c.owner !== cell) continue;
    c.owner = null;
    c.epoch++;
    n++;
  }
  cell.count = 0;
  cell.closed = true;
  return n;
}

/** Keep the lists short: drop the oldest stale objects and handles. */
function trim(w: World): void {
  if (w.segs.length > 48) {
    const k = w.segs.findIndex((s) => !isLive(s));
    if (k >= 0) w.segs.splice(k, 1);
  }
  if (w.staleHandles.length > 16) w.staleHandles.shift();
}

// ---- building the world -----------------------------------------------------------------------

function newArena(name: ArenaName, options: ConstructorParameters<typeof Arena>[0]): { cell: ArenaCell; obj: ArenaObj } {
  const creator = new Arena(options);
  const cell: ArenaCell = {
    name, creator, id: creator.descriptor.id, maxSegments: creator.maxSize / SEG, maxLeases: options.maxLeases ?? 4096,
    debug: options.debug === true, closed: false,
  };
  return { cell, obj: { label: name, obj: creator, cell, closed: false } };
}

function open(w: World, via: ArenaObj, options?: LeaseOptions): LeaseObj {
  return addLease(w, via, via.obj.lease(options));
}

/** A fresh world with live state of every kind the commands can aim at. */
export function buildWorld(): World {
  const a = newArena('A', { size: 8 * SEG, segmentSize: SEG, maxSize: 12 * SEG, maxLeases: 6, maxThreads: 4 });
  const b = newArena('B', { size: 4 * SEG, segmentSize: SEG, maxLeases: 4, maxThreads: 2, debug: true });
  const c = newArena('C', { size: 2 * SEG, segmentSize: SEG, maxLeases: 2, maxThreads: 2 });
  const a2: ArenaObj = { label: 'A2', obj: Arena.attach(a.obj.obj.descriptor), cell: a.cell, closed: false };
  const w: World = {
    arenas: { A: a.cell, B: b.cell, C: c.cell },
    objs: { A: a.obj, A2: a2, B: b.obj, C: c.obj },
    leases: [],
    segs: [],
    cells: new Map(),
    staleHandles: [],
    stamp: 0,
  };
  const l0 = open(w, a.obj, { name: 'unlimited' });
  const l1 = open(w, a.obj, { name: 'limited', limit: 2 * SEG });
  const l2 = open(w, a.obj, { name: 'reserved', limit: 4 * SEG, reserve: SEG });
  const l3 = open(w, a2, { name: 'via-A2', limit: 3 * SEG });
  const lb = open(w, b.obj, { name: 'B' });
  const lc = open(w, c.obj, { name: 'C' });
  const closed = open(w, a.obj, { name: 'closed' });
  granted(w, l0, l0.obj.allocateMany(3));
  granted(w, l1, [l1.obj.allocate()]);
  granted(w, l3, [l3.obj.allocate()]);
  granted(w, lb, lb.obj.allocateMany(2));
  granted(w, lc, [lc.obj.allocate()]);
  granted(w, closed, [closed.obj.allocate()]);
  // A released segment, a transferred one (its old handle is stale), a closed lease.
  const s0 = w.segs[0]!;
  l0.obj.release(s0.obj);
  released(w, s0);
  const s1 = w.segs[1]!;
  l0.obj.transfer(s1.obj, l2.obj);
  transferred(w, s1, l2.cell);
  const n = closed.obj.close();
  if (n !== leaseClosed(w, closed.cell)) fail('setup: close released an unexpected count');
  // C: closed with its lease and segment still in place.
  c.obj.obj.close();
  c.obj.closed = true;
  c.cell.closed = true;
  return w;
}

/** Close what is still open (the end of a run). */
export function teardown(w: World): void {
  for (const o of [w.objs.A2, w.objs.A, w.objs.B]) {
    try {
      o.obj.close();
    } catch {
      // already reported by verify if it mattered
    }
  }
}

// ---- checks -----------------------------------------------------------------------------------

const ARENA_NAMES: readonly ArenaName[] = ['A', 'B', 'C'];

/** Everything observable must match the model. */
export function verify(w: World, where: string): void {
  for (const name of ARENA_NAMES) {
    const cell = w.arenas[name];
    const report = cell.creator.audit();
    if (!report.ok) fail(`${where}: arena ${name} audit failed:\n  ${report.problems.join('\n  ')}`);
    const st = cell.creator.stats();
    const open = w.leases.filter((l) => l.cell.arena === cell && !l.cell.closed).map((l) => l.cell);
    const cells = [...new Set(open)];
    const allocated = cells.reduce((s, l) => s + l.count, 0);
    if (st.allocated !== allocated) fail(`${where}: arena ${name} stats().allocated ${st.allocated}, model ${allocated}`);
    if (st.leases !== cells.length) fail(`${where}: arena ${name} stats().leases ${st.leases}, model ${cells.length}`);
  }
  for (const lo of w.leases) {
    const want = lo.cell.closed ? 0 : lo.cell.count * SEG;
    if (lo.obj.used !== want) fail(`${where}: lease ${lo.cell.desc.uid} (${lo.via.label}) used ${lo.obj.used}, model ${want}`);
    if (lo.obj.closed !== lo.cell.closed) fail(`${where}: lease ${lo.cell.desc.uid} closed=${lo.obj.closed}, model ${lo.cell.closed}`);
  }
  for (const s of w.segs) {
    if (s.obj.released !== !isLive(s)) {
      fail(`${where}: segment ${s.cell.arena.name}:${s.cell.index} released=${s.obj.released}, model ${!isLive(s)}`);
    }
  }
  for (const cell of w.cells.values()) {
    if (cell.owner === null) continue;
    const raw = rawBytes(cell);
    if (Buffer.compare(raw, cell.bytes) !== 0) {
      const at = raw.findIndex((b, k) => b !== cell.bytes[k]);
      fail(`${where}: segment ${cell.arena.name}:${cell.index} bytes differ from the model at offset ${at} (got ${raw[at]}, want ${cell.bytes[at]})`);
    }
  }
}

/** What a call that fails on its arguments may not change at all. */
export function fingerprint(w: World): string {
  const parts: string[] = [];
  for (const name of ARENA_NAMES) {
    const st: ArenaStats = w.arenas[name].creator.stats();
    parts.push(
      `${name}: count=${st.segmentCount} free=${st.free} cached=${st.cached} available=${st.available} allocated=${st.allocated} ` +
        `leases=${st.leases} grows=${st.grows} ` +
        st.leaseStats.map((l) => `[${l.id} used=${l.used} peak=${l.peak} limit=${l.limit} reserve=${l.reserve}]`).join(''),
    );
  }
  return parts.join('\n');
}
