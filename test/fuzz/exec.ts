/**
 * Runs one fuzz command against the world and judges it.
 *
 * For every call an oracle written from the contract (DESIGN.md §4/§5 and the TSDoc of each
 * call), not from the implementation, says what the call must do given the model:
 *   - `must`: the call must throw an ArenaError whose code is one of these (several codes
 *     when the contract does not fix which check comes first), or one of `may`;
 *   - `must` empty: the call must succeed, or throw one of `may` (outcomes the model does
 *     not predict exactly: exhaustion, a wait that was aborted, a closed arena's segment).
 * Anything else fails: a TypeError or RangeError from V8, an ArenaError with another code,
 * ERR_INTERNAL, a success where an error was due, an error where success was due.
 * A successful call is applied to the model; `verify` (world.ts) then compares the world with
 * the model, and a call that failed on its arguments (or a read-only call) must leave even the
 * free/cached/available counts and every peak as they were (`fingerprint`).
 *
 * Known bugs: inputs that hit a bug already pinned by an `it.fails` in fuzz.test.ts are
 * recognised by `knownBug` (a narrow predicate per bug, named after the input class) and
 * skipped, so the property stays green while it keeps checking everything else. With
 * FUZZ_KNOWN_BUGS=1 nothing is skipped and the property finds them again.
 */
import {
  Arena, ArenaError, Lease, MemorySegment, isArenaError, parseByteSize, type ArenaErrorCode,
} from '../../src/index.js';
import {
  TYPED_ARRAYS, type AsyncOptsSpec, type AttachSpec, type BufSpec, type Command, type CtorSpec, type Getter,
  type HandleSpec, type LeaseArg, type LeaseDescSpec, type LeaseRef, type SegArg, type SegRef, type Setter, type TypedArrayName,
  ARENA_FIELDS,
} from './commands.js';
import { ABSENT, SEG, isAbsent, isDetached, numberCoercionThrows, show, stringCoercionThrows } from './values.js';
import {
  addLease, addLeaseAlias, addSegAlias, fail, fingerprint, granted, isLive, leaseClosed, released, transferred, verify, viaOpen,
  type ArenaCell, type ArenaObj, type LeaseCell, type LeaseObj, type SegObj, type World,
} from './world.js';

type Code = ArenaErrorCode;

/** The codes of DESIGN.md §5 a core call may throw. ERR_LEAK only where close() documents it. */
const DOCUMENTED: ReadonlySet<string> = new Set<Code>([
  'ERR_INVALID_OPTION', 'ERR_INVALID_ARGUMENT', 'ERR_LEASE_LIMIT', 'ERR_ARENA_EXHAUSTED', 'ERR_SEGMENT_RELEASED',
  'ERR_FOREIGN_SEGMENT', 'ERR_OUT_OF_BOUNDS', 'ERR_LEASE_CLOSED', 'ERR_ARENA_CLOSED', 'ERR_TOO_MANY_LEASES', 'ERR_ABORTED',
  'ERR_TIMEOUT',
]);
/** Codes that say "your arguments or objects are wrong": such a call may change nothing at all. */
const NO_EFFECT: ReadonlySet<string> = new Set<Code>([
  'ERR_INVALID_OPTION', 'ERR_INVALID_ARGUMENT', 'ERR_SEGMENT_RELEASED', 'ERR_FOREIGN_SEGMENT', 'ERR_OUT_OF_BOUNDS',
  'ERR_LEASE_CLOSED', 'ERR_ARENA_CLOSED',
]);

/** Bugs in src/ found by this fuzzer, each pinned by an `it.fails` in fuzz.test.ts. */
export const KNOWN_BUGS = {
  'offset-coercion':
    'segment.check() converts byteOffset with `>>> 0` before looking at its type: a bigint, a symbol or an object without ' +
    'a primitive value escapes as a TypeError from every get*/set*/read/write/copyTo',
  'attach-mismatch':
    'Arena.attach trusts control and data to belong together: a control buffer whose length is not a multiple of 4, or a ' +
    'data buffer that is not the arena\'s, escapes as a RangeError (leaking a thread slot) or attaches to the wrong memory',
  'lease-name-coercion': 'attachLease puts descriptor.name into messages unchecked: a symbol name escapes as a TypeError',
  'phantom-lease': 'attachLease accepts uid 0 (a lease slot that was never opened) and returns a Lease for no lease',
  'as-ctor':
    'segment.as() calls any function with a numeric BYTES_PER_ELEMENT: a RangeError/TypeError escapes, or it returns ' +
    'something that is not a view of exactly this segment',
  'detached-buffer':
    'segment.read/write with a Uint8Array whose buffer was transferred away (detached) escapes as a TypeError from ' +
    '%TypedArray%.prototype.set',
  'forged-object':
    'release/transfer/copyTo trust `instanceof`: an object made with Object.create(MemorySegment.prototype) or ' +
    'Object.create(Lease.prototype) escapes as a TypeError',
  'async-timeout-overflow':
    'allocateAsync accepts any finite timeout, but setTimeout clamps delays above 2**31-1 ms to 1 ms: a request that ' +
    'should wait ~25 days times out at once (and Node prints a TimeoutOverflowWarning)',
} as const;
export type BugId = keyof typeof KNOWN_BUGS;

export interface RunStats {
  calls: Map<string, number>;
  outcomes: Map<string, number>;
  skipped: Map<string, number>;
  /** Calls that threw an ArenaError (the "bad" calls). */
  errors: number;
  total: number;
}

export const newStats = (): RunStats => ({ calls: new Map(), outcomes: new Map(), skipped: new Map(), errors: 0, total: 0 });
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

export interface Ctx {
  readonly w: World;
  readonly stats: RunStats;
  /** Run inputs that hit known bugs instead of skipping them. */
  readonly showBugs: boolean;
}

class Expect {
  readonly must = new Set<string>();
  readonly may = new Set<string>();
  need(...codes: Code[]): this {
    for (const c of codes) this.must.add(c);
    return this;
  }
  allow(...codes: Code[]): this {
    for (const c of codes) this.may.add(c);
    return this;
  }
  get ok(): boolean {
    return this.must.size === 0;
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };
function attempt<T>(f: () => T): Outcome<T> {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${code === undefined ? '' : ` ${show(code)}`}: ${e.message}\n    at ${(e.stack ?? '').split('\n')[1]?.trim() ?? '?'}`;
  }
  return `a thrown ${show(e)}`;
}

/** Judge an outcome; returns the error code, or null when the call succeeded. */
function judge(label: string, ex: Expect, out: Outcome<unknown>, extra: readonly Code[] = []): string | null {
  const expected = (): string =>
    ex.ok ? `success${ex.may.size ? ` (or ${[...ex.may].join(' | ')})` : ''}` : [...ex.must, ...ex.may].join(' | ');
  if (out.ok) {
    if (!ex.ok) fail(`${label}: succeeded (returned ${show(out.value)}) but must throw ${expected()}`);
    return null;
  }
  const e = out.error;
  if (!isArenaError(e) || !(e instanceof ArenaError)) fail(`${label}: a non-ArenaError escaped: ${describeError(e)}\n  expected ${expected()}`);
  const code: string = e.code;
  if (!DOCUMENTED.has(code) && !(extra as readonly string[]).includes(code)) fail(`${label}: undocumented code ${describeError(e)}`);
  if (!ex.must.has(code) && !ex.may.has(code)) fail(`${label}: threw ${describeError(e)}\n  expected ${expected()}`);
  return code;
}

// ---- resolving references --------------------------------------------------------------------

function pick<T>(all: readonly T[], preferred: readonly T[], i: number): T {
  const from = preferred.length > 0 ? preferred : all;
  return from[i % from.length]!;
}
function leaseOf(w: World, ref: LeaseRef): LeaseObj {
  const open = ref.k === 'open' ? w.leases.filter((l) => !l.cell.closed && viaOpen(l.via)) : [];
  return pick(w.leases, open, ref.i);
}
function segOf(w: World, ref: SegRef): SegObj {
  return pick(w.segs, ref.k === 'live' ? w.segs.filter(isLive) : [], ref.i);
}
/** An open lease object of the lease that owns `so` (the natural caller of release/transfer). */
function ownerOf(w: World, so: SegObj | undefined): LeaseObj {
  const owner = so && isLive(so) ? so.cell.owner : null;
  const objs = w.leases.filter((l) => l.cell === owner);
  return objs.find((l) => viaOpen(l.via)) ?? objs[0] ?? leaseOf(w, { k: 'open', i: 0 });
}

interface SegValue {
  value: unknown;
  so?: SegObj;
  forged?: boolean;
}
function segArg(w: World, a: SegArg): SegValue {
  if (a.k === 'junk') return { value: a.v };
  if (a.k === 'forged') return { value: Object.create(MemorySegment.prototype) as unknown, forged: true };
  const so = segOf(w, a);
  return { value: so.obj, so };
}
interface LeaseValue {
  value: unknown;
  lo?: LeaseObj;
  forged?: boolean;
}
function leaseArg(w: World, a: LeaseArg): LeaseValue {
  if (a.k === 'junk') return { value: a.v };
  if (a.k === 'forged') return { value: Object.create(Lease.prototype) as unknown, forged: true };
  const lo = leaseOf(w, a);
  return { value: lo.obj, lo };
}

// ---- shared oracle pieces ---------------------------------------------------------------------

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const validOffset = (off: unknown, width: number): off is number =>
  typeof off === 'number' && Number.isInteger(off) && off >= 0 && off + width <= SEG;
const limited = (l: LeaseCell): boolean => l.limitSegments < l.arena.maxSegments;

/** A call that first checks its lease and the lease's arena object. */
function leaseState(ex: Expect, lo: LeaseObj): void {
  if (!viaOpen(lo.via)) {
    ex.need('ERR_ARENA_CLOSED');
    if (lo.cell.closed) ex.allow('ERR_LEASE_CLOSED');
  } else if (lo.cell.closed) ex.need('ERR_LEASE_CLOSED');
}
/** A checked access through a segment object. */
function segState(ex: Expect, so: SegObj): void {
  if (!isLive(so)) ex.need('ERR_SEGMENT_RELEASED');
  if (!viaOpen(so.via)) ex.allow('ERR_ARENA_CLOSED'); // use of a closed arena's segment: either answer is fair
}
function offsetCodes(ex: Expect, off: unknown, width: number): void {
  if (!validOffset(off, width)) ex.need('ERR_INVALID_ARGUMENT', 'ERR_OUT_OF_BOUNDS');
}
/** A segment argument of release/transfer on lease `lo`. */
function ownedCodes(ex: Expect, lo: LeaseObj, s: SegValue): void {
  if (s.forged) ex.need('ERR_INVALID_ARGUMENT').allow('ERR_FOREIGN_SEGMENT');
  else if (!s.so) ex.need('ERR_INVALID_ARGUMENT');
  else if (s.so.cell.arena !== lo.cell.arena) ex.need('ERR_FOREIGN_SEGMENT').allow('ERR_SEGMENT_RELEASED');
  else if (!isLive(s.so)) ex.need('ERR_SEGMENT_RELEASED').allow('ERR_FOREIGN_SEGMENT');
  else if (s.so.cell.owner !== lo.cell) ex.need('ERR_FOREIGN_SEGMENT');
}
function segLabel(so: SegObj): string {
  return `${so.via.label}:${so.cell.index}${isLive(so) ? '' : '(stale)'}`;
}
function leaseLabel(lo: LeaseObj): string {
  return `lease#${lo.cell.desc.uid}(${lo.via.label}${lo.cell.closed ? ',closed' : ''})`;
}
function argList(args: readonly unknown[]): unknown[] {
  const out = [...args];
  while (out.length > 0 && out[out.length - 1] === ABSENT) out.pop();
  return out.map((a) => (a === ABSENT ? undefined : a));
}

/** Every typed-array constructor by name. */
const TYPED: Record<TypedArrayName, { new (b: ArrayBufferLike, o: number, l: number): ArrayBufferView; BYTES_PER_ELEMENT: number }> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array,
};
/** The built-in a constructor honestly is (itself, or a subclass that keeps its element size). */
function honestTypedArray(ctor: unknown): TypedArrayName | undefined {
  if (typeof ctor !== 'function') return undefined;
  const c = ctor as { prototype?: unknown; BYTES_PER_ELEMENT?: unknown };
  for (const name of TYPED_ARRAYS) {
    const base = TYPED[name];
    const related = ctor === base || (typeof c.prototype === 'object' && c.prototype !== null && Object.prototype.isPrototypeOf.call(base.prototype, c.prototype));
    // Contract: a subclass of a built-in typed array is accepted whatever its static
    // BYTES_PER_ELEMENT claims; as() takes the element size from the built-in base, so the view
    // is still exactly the segment (the as-ctor fix).
    if (related) return name;
  }
  return undefined;
}

const WIDTH: Record<Getter, number> = {
  getUint8: 1, getInt8: 1, getUint16: 2, getInt16: 2, getUint32: 4, getInt32: 4, getFloat32: 4, getFloat64: 8, getBigInt64: 8,
};
const getterOf = (m: Setter): Getter => m.replace('set', 'get') as Getter;

type DvGet = (this: DataView, off: number, le?: boolean) => number | bigint;
type DvSet = (this: DataView, off: number, v: never, le?: boolean) => void;
const modelView = (so: SegObj): DataView => new DataView(so.cell.bytes.buffer, so.cell.bytes.byteOffset, SEG);

// ---- building arguments -----------------------------------------------------------------------

function makeBuf(b: BufSpec, forWrite: boolean): unknown {
  switch (b.k) {
    case 'u8': {
      const u = new Uint8Array(b.len);
      if (forWrite) for (let k = 0; k < u.length; k++) u[k] = (k * 13 + b.len) & 0xff;
      return u;
    }
    case 'bytes':
      return Uint8Array.from(b.data);
    case 'junk':
      return b.v;
    case 'kind':
      switch (b.what) {
        case 'buffer': return Buffer.from([1, 2, 3, 4, 5]);
        case 'clamped': return new Uint8ClampedArray([1, 2, 3, 4]);
        case 'int8': return new Int8Array([1, -2, 3, -4]);
        case 'u16': return new Uint16Array([1, 2]);
        case 'dataview': return new DataView(new ArrayBuffer(4));
        case 'arraybuffer': return new ArrayBuffer(4);
        case 'sab-u8': return new Uint8Array(new SharedArrayBuffer(8)).fill(9);
        case 'detached': {
          const u = new Uint8Array([1, 2, 3]);
          structuredClone(u.buffer, { transfer: [u.buffer] });
          return u;
        }
        case 'subarray': return new Uint8Array(32).map((_, k) => k + 1).subarray(4, 20);
        case 'array': return [1, 2, 3];
      }
  }
}

function makeCtor(c: CtorSpec): unknown {
  switch (c.k) {
    case 'builtin':
      return TYPED[c.name];
    case 'subclass': {
      const Base = TYPED[c.base] as unknown as Uint8ArrayConstructor;
      return class Sub extends Base {};
    }
    case 'lying': {
      const Base = TYPED[c.base] as unknown as Uint8ArrayConstructor;
      const Lying = class extends Base {};
      Object.defineProperty(Lying, 'BYTES_PER_ELEMENT', { value: c.bpe });
      return Lying;
    }
    case 'junk':
      return c.v;
    case 'other':
      switch (c.what) {
        case 'DataView': return DataView;
        case 'Array': return Array;
        case 'ArrayBuffer': return ArrayBuffer;
        case 'SharedArrayBuffer': return SharedArrayBuffer;
        case 'Object': return Object;
        case 'Number': return Number;
        case 'BigInt': return BigInt;
        case 'Symbol': return Symbol;
        case 'arrow': return (): number => 0;
        case 'arrowBpe': return Object.assign((): number => 0, { BYTES_PER_ELEMENT: 8 });
        case 'fnBpe': return Object.assign(function Plain(): void {}, { BYTES_PER_ELEMENT: 8 });
        case 'classNoBpe': return class NoBpe {};
        case 'classBpe': return class WithBpe { static BYTES_PER_ELEMENT = 8; };
        case 'objBpe': return { BYTES_PER_ELEMENT: 8 };
        case 'boundTyped': return Float64Array.bind(null);
      }
  }
}

function makeHandle(w: World, h: HandleSpec): unknown {
  const live = w.segs.filter(isLive);
  switch (h.k) {
    case 'junk':
      return h.v;
    case 'stale':
      return w.staleHandles.length > 0 ? w.staleHandles[h.i % w.staleHandles.length] : 0;
    case 'live':
      return pick(w.segs, live, h.i).obj.handle;
    case 'mod':
      return pick(w.segs, live, h.i).obj.handle + h.d;
  }
}

function makeLeaseDesc(w: World, ao: ArenaObj, d: LeaseDescSpec): unknown {
  switch (d.k) {
    case 'junk':
      return d.v;
    case 'phantom':
      return { kind: 'segment-arena-lease', arenaId: ao.cell.id, slot: d.slot, uid: 0, base: 0, name: 'phantom', limit: 0, reserve: 0 };
    case 'of':
      return w.leases[d.i % w.leases.length]!.obj.descriptor;
    case 'mut': {
      const base: Record<string, unknown> = { ...w.leases[d.i % w.leases.length]!.obj.descriptor };
      const old = base[d.field];
      base[d.field] = d.m.k === 'value' ? d.m.v : typeof old === 'number' ? old + d.m.d : d.m.d;
      return base;
    }
  }
}

function makeArenaDesc(w: World, d: AttachSpec): unknown {
  switch (d.k) {
    case 'junk':
      return d.v;
    case 'real':
      return w.arenas[d.a].creator.descriptor;
    case 'mut': {
      const base: Record<string, unknown> = { ...w.arenas[d.a].creator.descriptor };
      const other = w.arenas[d.a === 'A' ? 'B' : 'A'].creator.descriptor as unknown as Record<string, unknown>;
      const m = d.m;
      base[d.field] = m.k === 'value' ? m.v : m.k === 'other' ? other[d.field] : m.k === 'sab' ? new SharedArrayBuffer(m.bytes) : new ArrayBuffer(8);
      return base;
    }
  }
}

/** A ByteSize as the contract reads it: bytes, or undefined when it is not a size. */
function specBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  try {
    // parseByteSize is the documented meaning of a size string (and is fuzzed on its own).
    return parseByteSize(v);
  } catch {
    return undefined;
  }
}

type Verdict = 'valid' | 'invalid' | 'either';

/** ArenaOptions against DESIGN §4 and the TSDoc of ArenaOptions. */
function arenaOptionsVerdict(o: unknown): { verdict: Verdict; size: number; maxLeases: number } {
  const bad = { verdict: 'invalid' as const, size: 0, maxLeases: 0 };
  if (typeof o !== 'object' || o === null) return bad;
  const known = new Set<string>(ARENA_FIELDS);
  if (Object.keys(o).some((k) => !known.has(k))) return bad;
  const r = o as Record<string, unknown>;
  let sawNull = false;
  const get = (k: string): unknown => {
    const v = r[k];
    if (v === null) sawNull = true;
    return v ?? undefined;
  };
  if (r.size === undefined) return bad;
  const size = specBytes(r.size);
  const segmentSize = specBytes(get('segmentSize') ?? 32 * 1024);
  if (size === undefined || segmentSize === undefined) return bad;
  if (!(segmentSize >= 4096 && segmentSize <= 2 ** 24 && (segmentSize & (segmentSize - 1)) === 0)) return bad;
  if (size <= 0 || size > 2 ** 32 || size % segmentSize !== 0 || segmentSize > size) return bad;
  const maxSize = specBytes(get('maxSize') ?? size);
  if (maxSize === undefined || maxSize < size || maxSize > 2 ** 32 || maxSize % segmentSize !== 0 || maxSize / segmentSize > 2 ** 21 - 1) return bad;
  const growth = get('growthFactor') ?? 1.5;
  // Bounded so the header's Int32 words hold them exactly (see options.ts).
  if (typeof growth !== 'number' || !(growth > 1 && growth <= 1000)) return bad;
  const pressure = get('pressureThreshold') ?? 0.9;
  if (typeof pressure !== 'number' || !(pressure >= 1e-6 && pressure <= 1)) return bad;
  for (const k of ['scrub', 'debug', 'unsafeDisableAbaTag', 'unsafeLateLimitCheck', 'unsafeDisableWaitPoll']) {
    const v = get(k);
    if (v !== undefined && typeof v !== 'boolean') return bad;
  }
  const int = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const maxLeases = get('maxLeases') ?? 4096;
  if (!int(maxLeases, 1, 2 ** 20) || !int(get('maxThreads') ?? 256, 1, 4096)) return bad;
  return { verdict: sawNull ? 'either' : 'valid', size, maxLeases: maxLeases as number };
}

/** LeaseOptions against DESIGN §4 and the TSDoc of LeaseOptions. */
function leaseOptionsVerdict(args: readonly unknown[], arena: ArenaCell): { verdict: Verdict; limit: number; reserve: number } {
  const bad = { verdict: 'invalid' as const, limit: 0, reserve: 0 };
  const o = args.length === 0 ? undefined : args[0];
  let verdict: Verdict = 'valid';
  if (o === null || (Array.isArray(o) && o.length === 0)) verdict = 'either'; // "no options", arguably
  else if (o !== undefined && typeof o !== 'object') return bad;
  const r = (o ?? {}) as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'name' && k !== 'limit' && k !== 'reserve')) return bad;
  if (r.name !== undefined && typeof r.name !== 'string') return bad;
  const limitBytes = r.limit === undefined ? Infinity : specBytes(r.limit);
  const reserveBytes = r.reserve === undefined ? 0 : specBytes(r.reserve);
  if (limitBytes === undefined || reserveBytes === undefined) return bad;
  const limit = Math.min(arena.maxSegments, Math.floor(limitBytes / SEG));
  const reserve = Math.ceil(reserveBytes / SEG);
  if (reserve > limit) return bad;
  return { verdict, limit, reserve };
}

// ---- known bugs -------------------------------------------------------------------------------

/** Which pinned bug this command would hit, if any (see KNOWN_BUGS). */
function knownBug(w: World, cmd: Command, args: Record<string, unknown>): BugId | undefined {
  const live = (v: unknown): boolean => {
    const so = w.segs.find((s) => s.obj === v);
    return so !== undefined && isLive(so);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  switch (cmd.c) {
    case 'get':
    case 'set':
      if (cmd.c === 'set' && cmd.m === 'setBigInt64' && typeof args.v !== 'bigint') return undefined;
      return live(args.seg) && numberCoercionThrows(args.off) ? 'offset-coercion' : undefined;
    case 'read':
    case 'write': {
      const buf = args.buf;
      if (!live(args.seg) || !(buf instanceof Uint8Array)) return undefined;
      if (numberCoercionThrows(args.off)) return 'offset-coercion';
      return isDetached(buf) && validOffset(args.off, 0) ? 'detached-buffer' : undefined;
    }
    case 'copyTo': {
      const len = args.len;
      if (!(args.target instanceof MemorySegment) || typeof len !== 'number' || len >>> 0 !== len || !live(args.seg)) return undefined;
      if (numberCoercionThrows(args.off)) return 'offset-coercion';
      if (!validOffset(args.off, len)) return undefined;
      if (args.forged) return 'forged-object';
      return live(args.target) && numberCoercionThrows(args.toff) ? 'offset-coercion' : undefined;
    }
    case 'as': {
      const ctor = args.ctor;
      const suspicious =
        typeof ctor === 'function' && typeof (ctor as { BYTES_PER_ELEMENT?: unknown }).BYTES_PER_ELEMENT === 'number' && !honestTypedArray(ctor);
      return suspicious && live(args.seg) ? 'as-ctor' : undefined;
    }
    case 'attach': {
      const d = args.desc;
      if (!isObj(d) || d.kind !== 'segment-arena' || !(d.control instanceof SharedArrayBuffer) || !(d.data instanceof SharedArrayBuffer)) return undefined;
      if (d.control.byteLength % 4 !== 0) return 'attach-mismatch';
      const owner = Object.values(w.arenas).find((c) => c.creator.descriptor.control === d.control && c.id === d.id);
      return owner && owner.creator.descriptor.data !== d.data ? 'attach-mismatch' : undefined;
    }
    case 'attachLease': {
      const d = args.desc;
      if (!isObj(d) || d.kind !== 'segment-arena-lease') return undefined;
      if (stringCoercionThrows(d.name)) return 'lease-name-coercion';
      return d.uid === 0 && d.arenaId === (args.arena as ArenaObj).cell.id ? 'phantom-lease' : undefined;
    }
    case 'release':
    case 'transfer':
      return args.receiverOpen === true && args.forged === true ? 'forged-object' : undefined;
    default:
      return undefined;
  }
}

// ---- the executor -----------------------------------------------------------------------------

interface Result {
  /** null: success; a code: the ArenaError it threw; 'skipped': a known bug's input. */
  code: string | null | 'skipped';
  /** A successful call that must not change anything. */
  readOnly: boolean;
}

/** Run one command, judge it, update the model, and verify the world. */
export async function runCommand(ctx: Ctx, cmd: Command, step: number): Promise<void> {
  const before = fingerprint(ctx.w);
  const r = await exec(ctx, cmd, `#${step} ${cmd.c}`);
  const s = ctx.stats;
  s.total++;
  bump(s.calls, cmd.c);
  if (r.code === 'skipped') return;
  bump(s.outcomes, `${cmd.c}: ${r.code ?? 'ok'}`);
  if (r.code !== null) s.errors++;
  const where = `after #${step} ${cmd.c} (${r.code ?? 'ok'})`;
  verify(ctx.w, where);
  if ((r.code !== null && NO_EFFECT.has(r.code)) || (r.code === null && r.readOnly)) {
    const after = fingerprint(ctx.w);
    if (after !== before) fail(`${where}: the call changed the arena although it ${r.code === null ? 'only reads' : 'failed on its arguments'}\n  before:\n${before}\n  after:\n${after}`);
  }
}

function skip(ctx: Ctx, bug: BugId | undefined): boolean {
  if (bug === undefined || ctx.showBugs) return false;
  bump(ctx.stats.skipped, bug);
  return true;
}

const SKIPPED: Result = { code: 'skipped', readOnly: true };

async function exec(ctx: Ctx, cmd: Command, label: string): Promise<Result> {
  const w = ctx.w;
  const ex = new Expect();
  switch (cmd.c) {
    case 'parseByteSize': {
      const p = cmd.p;
      const v = p.k === 'sized' ? `${p.n}${p.space}${p.unit}` : p.v;
      const unit: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30 };
      const want = p.k === 'sized' ? p.n * unit[p.unit]! : typeof v === 'number' ? v : undefined;
      const exact = p.k === 'sized' || typeof v === 'number';
      if (exact && !(want !== undefined && Number.isSafeInteger(want) && want >= 0)) ex.need('ERR_INVALID_ARGUMENT');
      if (p.k === 'sized' && p.space !== '') ex.allow('ERR_INVALID_ARGUMENT'); // "32 KiB": the contract shows no space
      if (!exact && typeof v !== 'string') ex.need('ERR_INVALID_ARGUMENT');
      if (typeof v === 'string' && !exact) ex.allow('ERR_INVALID_ARGUMENT');
      const out = attempt(() => parseByteSize(v as string));
      const code = judge(`${label}(${show(v)})`, ex, out);
      if (out.ok) {
        if (exact && out.value !== want) fail(`${label}(${show(v)}) returned ${out.value}, want ${want}`);
        if (!Number.isSafeInteger(out.value) || out.value < 0) fail(`${label}(${show(v)}) returned ${out.value}, not a byte count`);
      }
      return { code, readOnly: true };
    }

    case 'newArena': {
      let options: unknown;
      if (cmd.o.k === 'junk') options = cmd.o.v;
      else {
        const o: Record<string, unknown> = { size: 4 * SEG, segmentSize: SEG, maxLeases: 4, maxThreads: 2 };
        for (const f of ARENA_FIELDS) if (cmd.o.over[f] !== ABSENT) o[f] = cmd.o.over[f];
        const extra = cmd.o.extra;
        if (!isAbsent(extra)) o[extra] = 1;
        options = o;
      }
      const v = arenaOptionsVerdict(options);
      if (v.verdict !== 'invalid' && (v.size > 2 ** 20 || v.maxLeases > 4096)) {
        bump(ctx.stats.skipped, 'newArena: valid but too large to create here');
        return SKIPPED;
      }
      if (v.verdict === 'invalid') ex.need('ERR_INVALID_OPTION');
      if (v.verdict === 'either') ex.allow('ERR_INVALID_OPTION');
      const out = attempt(() => new Arena(options as ConstructorParameters<typeof Arena>[0]));
      const code = judge(`${label}(${show(options)})`, ex, out);
      if (out.ok) {
        const a = out.value;
        if (v.verdict === 'valid' && a.size !== v.size) fail(`${label}(${show(options)}): size ${a.size}, want ${v.size}`);
        const report = a.audit();
        a.close();
        if (!report.ok) fail(`${label}(${show(options)}): a new arena fails its audit: ${report.problems.join('; ')}`);
      }
      return { code, readOnly: true };
    }

    case 'attach': {
      const desc = makeArenaDesc(w, cmd.d);
      if (skip(ctx, knownBug(w, cmd, { desc }))) return SKIPPED;
      const d = desc as Record<string, unknown> | null;
      const owner =
        typeof desc === 'object' && desc !== null && d!.kind === 'segment-arena'
          ? Object.values(w.arenas).find((c) => {
              const cd = c.creator.descriptor;
              return cd.control === d!.control && cd.data === d!.data && cd.id === d!.id;
            })
          : undefined;
      if (!owner) {
        ex.need('ERR_INVALID_ARGUMENT');
        if (Object.values(w.arenas).some((c) => c.closed && typeof desc === 'object' && desc !== null && c.creator.descriptor.control === d!.control)) {
          ex.allow('ERR_ARENA_CLOSED');
        }
      } else if (owner.closed) ex.need('ERR_ARENA_CLOSED');
      const out = attempt(() => Arena.attach(desc as Arena['descriptor']));
      const code = judge(`${label}(${show(desc)})`, ex, out);
      if (out.ok) {
        const a = out.value;
        const count = a.segmentCount;
        a.close();
        if (owner && count !== owner.creator.segmentCount) fail(`${label}: attached arena sees ${count} segments, the creator ${owner.creator.segmentCount}`);
      }
      return { code, readOnly: true };
    }

    case 'lease': {
      const ao = w.objs[cmd.a];
      const o = cmd.o;
      let args: unknown[];
      if (isAbsent(o)) args = [];
      else if (o.k === 'junk') args = [o.v];
      else {
        const r: Record<string, unknown> = {};
        if (o.name !== ABSENT) r.name = o.name;
        if (o.limit !== ABSENT) r.limit = o.limit;
        if (o.reserve !== ABSENT) r.reserve = o.reserve;
        if (!isAbsent(o.extra)) r[o.extra] = 1;
        args = [r];
      }
      const v = leaseOptionsVerdict(args, ao.cell);
      if (!viaOpen(ao)) ex.need('ERR_ARENA_CLOSED');
      if (v.verdict === 'invalid') ex.need('ERR_INVALID_OPTION');
      else {
        if (v.verdict === 'either') ex.allow('ERR_INVALID_OPTION');
        const open = new Set(w.leases.filter((l) => l.cell.arena === ao.cell && !l.cell.closed).map((l) => l.cell));
        if (ex.ok && open.size >= ao.cell.maxLeases) ex.need('ERR_TOO_MANY_LEASES');
        if (v.reserve > 0) ex.allow('ERR_ARENA_EXHAUSTED');
      }
      const f = ao.obj.lease as (this: Arena, ...a: unknown[]) => Lease;
      const out = attempt(() => f.apply(ao.obj, args));
      const code = judge(`${label} on ${ao.label}(${args.map(show).join(', ')})`, ex, out);
      if (out.ok) {
        const lo = addLease(w, ao, out.value);
        if (v.verdict === 'valid' && (lo.obj.limit !== v.limit * SEG || lo.obj.reserve !== v.reserve * SEG)) {
          fail(`${label}(${args.map(show).join(', ')}): limit ${lo.obj.limit} reserve ${lo.obj.reserve}, want ${v.limit * SEG} and ${v.reserve * SEG}`);
        }
      }
      return { code, readOnly: false };
    }

    case 'attachLease': {
      const ao = w.objs[cmd.a];
      const desc = makeLeaseDesc(w, ao, cmd.d);
      if (skip(ctx, knownBug(w, cmd, { desc, arena: ao }))) return SKIPPED;
      if (!viaOpen(ao)) ex.need('ERR_ARENA_CLOSED');
      let match: LeaseCell | undefined;
      if (typeof desc === 'object' && desc !== null) {
        const d = desc as Record<string, unknown>;
        if (d.kind === 'segment-arena-lease' && d.arenaId === ao.cell.id) {
          match = w.leases
            .map((l) => l.cell)
            .find((c) => c.arena === ao.cell && !c.closed && c.desc.slot === d.slot && c.desc.uid === d.uid && c.desc.base === d.base);
          // Contract (lease-name-coercion fix): the name must be a string, else ERR_INVALID_ARGUMENT.
          if (typeof d.name !== 'string') match = undefined;
        }
      }
      if (!match) ex.need('ERR_INVALID_ARGUMENT', 'ERR_FOREIGN_SEGMENT', 'ERR_LEASE_CLOSED');
      const out = attempt(() => ao.obj.attachLease(desc as Lease['descriptor']));
      const code = judge(`${label} on ${ao.label}(${show(desc)})`, ex, out);
      if (out.ok && match) {
        const lo = addLeaseAlias(w, ao, out.value, match);
        if (lo.obj.limit !== match.limitSegments * SEG || lo.obj.id !== match.desc.uid) fail(`${label}: the attached lease has another limit or id`);
      }
      return { code, readOnly: true };
    }

    case 'segment': {
      const ao = w.objs[cmd.a];
      const h = makeHandle(w, cmd.h);
      if (!viaOpen(ao)) ex.need('ERR_ARENA_CLOSED');
      let match: SegObj | undefined;
      if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 0) ex.need('ERR_INVALID_ARGUMENT');
      else {
        match = w.segs.find((s) => isLive(s) && s.cell.arena === ao.cell && s.obj.handle === h);
        if (!match) ex.need('ERR_SEGMENT_RELEASED', 'ERR_INVALID_ARGUMENT');
      }
      const out = attempt(() => ao.obj.segment(h as number));
      const code = judge(`${label} on ${ao.label}(${show(h)})`, ex, out);
      if (out.ok && match) {
        const seg = out.value;
        if (seg.index !== match.cell.index || seg.handle !== h || seg.released) fail(`${label}(${show(h)}): rehydrated the wrong segment (${seg.index})`);
        addSegAlias(w, ao, seg, match);
      }
      return { code, readOnly: true };
    }

    case 'stats':
    case 'audit': {
      const ao = w.objs[cmd.a];
      if (!viaOpen(ao)) ex.allow('ERR_ARENA_CLOSED');
      const f = (cmd.c === 'stats' ? ao.obj.stats : ao.obj.audit) as (this: Arena, ...a: unknown[]) => unknown;
      const out = attempt(() => f.apply(ao.obj, cmd.args));
      const code = judge(`${label} on ${ao.label}(${cmd.args.map(show).join(', ')})`, ex, out);
      if (out.ok && cmd.c === 'audit' && !(out.value as { ok: boolean }).ok) fail(`${label} on ${ao.label}: ${show(out.value)}`);
      return { code, readOnly: true };
    }

    case 'closeArena': {
      const ao = w.objs[cmd.a];
      const out = attempt(() => ao.obj.close());
      const code = judge(`${label} ${ao.label}`, ex, out);
      if (out.ok) {
        ao.closed = true;
        if (ao.label !== 'A2') ao.cell.closed = true;
      }
      return { code, readOnly: false };
    }

    case 'allocate':
    case 'tryAllocate': {
      const lo = leaseOf(w, cmd.l);
      leaseState(ex, lo);
      if (ex.ok) {
        if (limited(lo.cell) && lo.cell.count + 1 > lo.cell.limitSegments) ex.need('ERR_LEASE_LIMIT');
        else if (cmd.c === 'allocate') ex.allow('ERR_ARENA_EXHAUSTED');
      }
      const f = (cmd.c === 'allocate' ? lo.obj.allocate : lo.obj.tryAllocate) as (this: Lease, ...a: unknown[]) => MemorySegment | null;
      const out = attempt(() => f.apply(lo.obj, cmd.args));
      const code = judge(`${label} on ${leaseLabel(lo)}`, ex, out);
      if (out.ok && out.value !== null) granted(w, lo, [out.value]);
      return { code, readOnly: false };
    }

    case 'allocateMany': {
      const lo = leaseOf(w, cmd.l);
      const n = cmd.n;
      leaseState(ex, lo);
      if (!isCount(n)) ex.need('ERR_INVALID_ARGUMENT');
      else if (ex.ok && n > 0) {
        if (limited(lo.cell) && lo.cell.count + n > lo.cell.limitSegments) ex.need('ERR_LEASE_LIMIT');
        else if (lo.cell.count + n > lo.cell.arena.maxSegments) ex.need('ERR_ARENA_EXHAUSTED', 'ERR_LEASE_LIMIT');
        else ex.allow('ERR_ARENA_EXHAUSTED');
      }
      if (!isCount(n)) ex.allow('ERR_ARENA_CLOSED', 'ERR_LEASE_CLOSED');
      const out = attempt(() => lo.obj.allocateMany(n as number));
      const code = judge(`${label} on ${leaseLabel(lo)}(${show(n)})`, ex, out);
      if (out.ok) {
        if (out.value.length !== n) fail(`${label}(${show(n)}) returned ${out.value.length} segments`);
        granted(w, lo, out.value);
      }
      return { code, readOnly: false };
    }

    case 'allocateAsync':
      return allocateAsync(ctx, cmd, label);

    case 'release': {
      let values: SegValue[];
      let value: unknown;
      let single = false;
      if (Array.isArray(cmd.s)) {
        values = cmd.s.map((a) => segArg(w, a));
        value = values.map((v) => v.value);
      } else if (cmd.s.k === 'junkList' || (cmd.s.k === 'junk' && Array.isArray(cmd.s.v))) {
        value = cmd.s.v;
        values = Array.isArray(value) ? Array.from(value as unknown[], (v) => ({ value: v })) : [{ value }];
        single = !Array.isArray(value);
      } else {
        values = [segArg(w, cmd.s)];
        value = values[0]!.value;
        single = true;
      }
      const lo = cmd.l === 'owner' ? ownerOf(w, values[0]?.so) : leaseOf(w, cmd.l);
      const receiverOpen = viaOpen(lo.via) && !lo.cell.closed;
      if (skip(ctx, knownBug(w, cmd, { receiverOpen, forged: values.some((v) => v.forged) }))) return SKIPPED;
      leaseState(ex, lo);
      for (const v of values) ownedCodes(ex, lo, v);
      const cells = values.flatMap((v) => (v.so ? [v.so.cell] : []));
      if (!single && new Set(cells).size !== cells.length) ex.need('ERR_SEGMENT_RELEASED');
      const out = attempt(() => lo.obj.release(value as MemorySegment));
      const what = single ? show(value) : `[${values.map((v) => (v.so ? segLabel(v.so) : show(v.value))).join(', ')}]`;
      const code = judge(`${label} on ${leaseLabel(lo)}(${what})`, ex, out);
      if (out.ok) for (const v of values) released(w, v.so!);
      return { code, readOnly: false };
    }

    case 'transfer': {
      const s = segArg(w, cmd.s);
      const lo = cmd.l === 'owner' ? ownerOf(w, s.so) : leaseOf(w, cmd.l);
      const t = leaseArg(w, cmd.to);
      const receiverOpen = viaOpen(lo.via) && !lo.cell.closed;
      if (skip(ctx, knownBug(w, cmd, { receiverOpen, forged: s.forged === true || t.forged === true }))) return SKIPPED;
      leaseState(ex, lo);
      if (t.forged) ex.need('ERR_INVALID_ARGUMENT').allow('ERR_FOREIGN_SEGMENT', 'ERR_LEASE_CLOSED');
      else if (!t.lo) ex.need('ERR_INVALID_ARGUMENT');
      else if (t.lo.cell.arena !== lo.cell.arena) ex.need('ERR_FOREIGN_SEGMENT');
      else if (!viaOpen(t.lo.via)) ex.need('ERR_ARENA_CLOSED').allow('ERR_LEASE_CLOSED');
      else if (t.lo.cell.closed) ex.need('ERR_LEASE_CLOSED');
      ownedCodes(ex, lo, s);
      const same = t.lo !== undefined && t.lo.cell === lo.cell;
      if (ex.ok && !same) {
        const to = t.lo!.cell;
        if (limited(to) && to.count + 1 > to.limitSegments) ex.need('ERR_LEASE_LIMIT');
        if (lo.cell.reserveSegments > 0) ex.allow('ERR_ARENA_EXHAUSTED');
      }
      const out = attempt(() => lo.obj.transfer(s.value as MemorySegment, t.value as Lease));
      const code = judge(
        `${label} on ${leaseLabel(lo)}(${s.so ? segLabel(s.so) : show(s.value)}, ${t.lo ? leaseLabel(t.lo) : show(t.value)})`, ex, out,
      );
      if (out.ok && !same) transferred(w, s.so!, t.lo!.cell);
      return { code, readOnly: false };
    }

    case 'closeLease': {
      const lo = leaseOf(w, cmd.l);
      let want = 0;
      if (lo.cell.closed) ex.allow('ERR_ARENA_CLOSED');
      else if (lo.via.closed) ex.need('ERR_ARENA_CLOSED');
      else {
        want = lo.cell.count;
        if (lo.cell.arena.closed) ex.allow('ERR_ARENA_CLOSED');
        if (lo.cell.arena.debug && want > 0) ex.need('ERR_LEAK' as Code);
      }
      const f = (cmd.how === 'close' ? lo.obj.close : lo.obj[Symbol.dispose]) as (this: Lease, ...a: unknown[]) => number | undefined;
      const out = attempt(() => f.apply(lo.obj, cmd.args));
      const code = judge(`${label} ${leaseLabel(lo)} by ${cmd.how}`, ex, out, ['ERR_LEAK']);
      if (code === null || code === 'ERR_LEAK') {
        const n = lo.cell.closed ? 0 : leaseClosed(w, lo.cell);
        if (out.ok && cmd.how === 'close' && out.value !== n) fail(`${label}: close() returned ${show(out.value)}, the lease held ${n}`);
      }
      return { code, readOnly: false };
    }

    case 'get':
    case 'set': {
      const so = segOf(w, cmd.s);
      const off = cmd.off;
      const m = cmd.c === 'get' ? cmd.m : getterOf(cmd.m);
      const v = cmd.c === 'set' ? cmd.v : undefined;
      if (skip(ctx, knownBug(w, cmd, { seg: so.obj, off, v }))) return SKIPPED;
      segState(ex, so);
      offsetCodes(ex, off, WIDTH[m]);
      if (cmd.c === 'set' && typeof v !== (cmd.m === 'setBigInt64' ? 'bigint' : 'number')) ex.need('ERR_INVALID_ARGUMENT');
      const call = `${label} ${segLabel(so)}.${cmd.m}(${show(off)}${cmd.c === 'set' ? `, ${show(v)}` : ''})`;
      if (cmd.c === 'get') {
        const f = so.obj[cmd.m] as (this: MemorySegment, o: unknown) => number | bigint;
        const out = attempt(() => f.call(so.obj, off));
        const code = judge(call, ex, out);
        if (out.ok) {
          const want = (DataView.prototype[cmd.m] as DvGet).call(modelView(so), off as number, true);
          if (!Object.is(out.value, want)) fail(`${call} returned ${show(out.value)}, the model holds ${show(want)}`);
        }
        return { code, readOnly: true };
      }
      const f = so.obj[cmd.m] as (this: MemorySegment, o: unknown, v: unknown) => void;
      const out = attempt(() => f.call(so.obj, off, v));
      const code = judge(call, ex, out);
      if (out.ok) (DataView.prototype[cmd.m] as DvSet).call(modelView(so), off as number, v as never, true);
      return { code, readOnly: false };
    }

    case 'read':
    case 'write': {
      const so = segOf(w, cmd.s);
      const buf = makeBuf(cmd.b, cmd.c === 'write');
      const off = cmd.off;
      if (skip(ctx, knownBug(w, cmd, { seg: so.obj, off, buf }))) return SKIPPED;
      segState(ex, so);
      if (!(buf instanceof Uint8Array)) ex.need('ERR_INVALID_ARGUMENT');
      else {
        offsetCodes(ex, off, buf.length);
        if (isDetached(buf)) ex.allow('ERR_INVALID_ARGUMENT'); // a detached view: refusing it is as fair as copying 0 bytes
      }
      const call = `${label} ${segLabel(so)}.${cmd.c}(${show(off)}, ${show(buf)})`;
      if (cmd.c === 'read') {
        const out = attempt(() => so.obj.read(off as number, buf as Uint8Array));
        const code = judge(call, ex, out);
        if (out.ok) {
          const u = buf as Uint8Array;
          if (out.value !== u) fail(`${call} did not return its target`);
          if (Buffer.compare(u, so.cell.bytes.subarray(off as number, (off as number) + u.length)) !== 0) fail(`${call} read other bytes than the model holds`);
        }
        return { code, readOnly: true };
      }
      const src = buf instanceof Uint8Array && !isDetached(buf) ? buf.slice() : new Uint8Array(0);
      const out = attempt(() => so.obj.write(off as number, buf as Uint8Array));
      const code = judge(call, ex, out);
      if (out.ok) so.cell.bytes.set(src, off as number);
      return { code, readOnly: false };
    }

    case 'copyTo': {
      const so = segOf(w, cmd.s);
      const t = segArg(w, cmd.t);
      const { off, toff, len } = cmd;
      if (skip(ctx, knownBug(w, cmd, { seg: so.obj, off, toff, len, target: t.value, forged: t.forged }))) return SKIPPED;
      segState(ex, so);
      const lenOk = typeof len === 'number' && Number.isInteger(len) && len >= 0 && len <= 2 ** 32 - 1;
      if (!lenOk) ex.need('ERR_INVALID_ARGUMENT').allow('ERR_OUT_OF_BOUNDS');
      else offsetCodes(ex, off, len);
      if (t.forged || !t.so) ex.need('ERR_INVALID_ARGUMENT');
      else {
        segState(ex, t.so);
        if (lenOk) offsetCodes(ex, toff, len);
      }
      const call = `${label} ${segLabel(so)}.copyTo(${show(off)}, ${t.so ? segLabel(t.so) : show(t.value)}, ${show(toff)}, ${show(len)})`;
      const out = attempt(() => so.obj.copyTo(off as number, t.value as MemorySegment, toff as number, len as number));
      const code = judge(call, ex, out);
      if (out.ok) {
        const n = len as number;
        t.so!.cell.bytes.set(so.cell.bytes.slice(off as number, (off as number) + n), toff as number);
      }
      return { code, readOnly: false };
    }

    case 'fill': {
      const so = segOf(w, cmd.s);
      const args = argList(cmd.args);
      const [value, fromArg, toArg] = args;
      const from = fromArg === undefined ? 0 : fromArg;
      const to = toArg === undefined ? SEG : toArg;
      segState(ex, so);
      const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
      if (!int(value) || value < 0 || value > 255) ex.need('ERR_INVALID_ARGUMENT');
      if (!int(to) || to < 0 || to > SEG || !int(from) || from < 0 || from > to) ex.need('ERR_INVALID_ARGUMENT', 'ERR_OUT_OF_BOUNDS');
      const call = `${label} ${segLabel(so)}.fill(${args.map(show).join(', ')})`;
      const f = so.obj.fill as (this: MemorySegment, ...a: unknown[]) => MemorySegment;
      const out = attempt(() => f.apply(so.obj, args));
      const code = judge(call, ex, out);
      if (out.ok) {
        if (out.value !== so.obj) fail(`${call} did not return the segment`);
        so.cell.bytes.fill(value as number, from as number, to as number);
      }
      return { code, readOnly: false };
    }

    case 'as': {
      const so = segOf(w, cmd.s);
      const ctor = makeCtor(cmd.ctor);
      if (skip(ctx, knownBug(w, cmd, { seg: so.obj, ctor }))) return SKIPPED;
      segState(ex, so);
      const honest = honestTypedArray(ctor);
      if (!honest) ex.need('ERR_INVALID_ARGUMENT');
      const call = `${label} ${segLabel(so)}.as(${cmd.ctor.k === 'junk' ? show(ctor) : JSON.stringify(cmd.ctor)})`;
      const out = attempt(() => so.obj.as(ctor as typeof Uint8Array));
      const code = judge(call, ex, out);
      if (out.ok) {
        const view = out.value as unknown;
        const ok =
          ArrayBuffer.isView(view) && view instanceof (ctor as typeof Uint8Array) && view.byteOffset === so.obj.offset &&
          view.byteLength === SEG && view.buffer === so.cell.arena.creator.descriptor.data;
        if (!ok) fail(`${call} returned ${show(view)}, not a view of exactly this segment`);
        if (honest === 'Uint8Array' && Buffer.compare(view as Uint8Array, so.cell.bytes) !== 0) fail(`${call}: the view shows other bytes`);
      }
      return { code, readOnly: true };
    }

    case 'props': {
      const so = segOf(w, cmd.s);
      const lo = leaseOf(w, cmd.l);
      const ao = w.objs[cmd.a];
      const out = attempt(() => {
        const s = so.obj;
        const l = lo.obj;
        const a = ao.obj;
        return [
          s.size, s.index, s.offset, s.handle, s.released, l.id, l.name, l.limit, l.reserve, l.used, l.peak, l.closed, l.descriptor,
          a.size, a.maxSize, a.segmentSize, a.segmentCount, a.closed, a.descriptor,
        ];
      });
      const code = judge(`${label} of ${segLabel(so)}, ${leaseLabel(lo)}, ${ao.label}`, ex, out);
      if (so.obj.size !== SEG || so.obj.offset !== so.obj.index * SEG) fail(`${label}: segment size/offset wrong`);
      if (so.obj.index !== so.cell.index) fail(`${label}: segment index ${so.obj.index}, model ${so.cell.index}`);
      return { code, readOnly: true };
    }
  }
}

/** allocateAsync: the promise must settle at once unless it really waits; waits end by our signal. */
async function allocateAsync(ctx: Ctx, cmd: Extract<Command, { c: 'allocateAsync' }>, label: string): Promise<Result> {
  const w = ctx.w;
  const ex = new Expect();
  const lo = leaseOf(w, cmd.l);
  const o: AsyncOptsSpec = cmd.o;
  const mine = new AbortController();
  let options: unknown;
  if (isAbsent(o)) options = undefined;
  else if (o.k === 'junk') options = o.v;
  else {
    const r: Record<string, unknown> = {};
    if (o.signal === 'aborted') r.signal = AbortSignal.abort('pre-aborted');
    else if (o.signal !== 'none') r.signal = o.signal.v;
    if (o.timeout !== ABSENT) r.timeout = o.timeout;
    options = r;
  }
  const n = cmd.n === ABSENT || cmd.n === undefined ? 1 : cmd.n; // n = 1 by default
  // The oracle.
  let optionsOk: Verdict = 'valid';
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null) optionsOk = 'invalid';
    else {
      if (Array.isArray(options) || Object.getPrototypeOf(options) !== Object.prototype) optionsOk = 'either';
      const { signal, timeout } = options as { signal?: unknown; timeout?: unknown };
      if (signal !== undefined && !(signal instanceof AbortSignal)) optionsOk = 'invalid';
      if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0) || !Number.isFinite(timeout))) optionsOk = 'invalid';
      // Contract (async-timeout-overflow fix): a timeout above 2^31 - 1 ms is refused.
      if (typeof timeout === 'number' && timeout > 2 ** 31 - 1) optionsOk = 'invalid';
    }
  }
  const t = typeof options === 'object' && options !== null ? (options as { timeout?: unknown }).timeout : undefined;
  if (optionsOk !== 'invalid' && isCount(n) && typeof t === 'number' && Number.isFinite(t) && t > 2 ** 31 - 1 && skip(ctx, 'async-timeout-overflow')) {
    return SKIPPED;
  }
  // A request that may wait carries our signal, so that every wait ends right after the call.
  let injected = false;
  if (optionsOk !== 'invalid' && (options === undefined || (options as { signal?: unknown }).signal === undefined)) {
    options = Object.create((options ?? null) as object | null, { signal: { value: mine.signal, enumerable: true } }) as unknown;
    injected = true;
  }
  if (optionsOk === 'invalid' || !isCount(n)) ex.need('ERR_INVALID_ARGUMENT').allow('ERR_ARENA_CLOSED', 'ERR_LEASE_CLOSED');
  else if ((options as { signal?: AbortSignal }).signal?.aborted === true) {
    // Contract: valid arguments with an already-aborted signal reject ERR_ABORTED before anything else.
    ex.need('ERR_ABORTED');
    if (optionsOk === 'either') ex.allow('ERR_INVALID_ARGUMENT');
  } else {
    if (optionsOk === 'either') ex.allow('ERR_INVALID_ARGUMENT');
    leaseState(ex, lo);
    if (ex.ok && n > 0) {
      if (n > lo.cell.limitSegments || (limited(lo.cell) && lo.cell.count + n > lo.cell.limitSegments)) ex.need('ERR_LEASE_LIMIT');
      else ex.allow('ERR_ABORTED', 'ERR_TIMEOUT', 'ERR_ARENA_EXHAUSTED');
    }
    if (ex.ok && (options as { signal?: AbortSignal }).signal?.aborted === true) ex.allow('ERR_ABORTED');
  }
  const call = `${label} on ${leaseLabel(lo)}(${cmd.n === ABSENT ? '' : show(n)}${isAbsent(o) ? '' : `, ${show(o.k !== 'junk' ? options : o.v)}`})${injected ? ' [+our signal]' : ''}`;
  let p: Promise<MemorySegment[]>;
  try {
    const f = lo.obj.allocateAsync as (this: Lease, ...a: unknown[]) => Promise<MemorySegment[]>;
    p = cmd.n === ABSENT && !injected && isAbsent(o) ? f.call(lo.obj) : f.call(lo.obj, cmd.n === ABSENT ? undefined : n, options);
  } catch (e) {
    fail(`${call}: threw synchronously instead of rejecting: ${describeError(e)}`);
  }
  if (!(p instanceof Promise)) fail(`${call}: did not return a promise`);
  mine.abort('fuzz: end the wait');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([
    p.then((value): Outcome<MemorySegment[]> => ({ ok: true, value }), (error: unknown): Outcome<MemorySegment[]> => ({ ok: false, error })),
    new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), 250);
    }),
  ]);
  clearTimeout(timer);
  if (settled === 'pending') fail(`${call}: still pending 250 ms after the call (it should have failed at once or seen our abort)`);
  const code = judge(call, ex, settled);
  if (settled.ok) {
    if (settled.value.length !== n) fail(`${call} resolved with ${settled.value.length} segments`);
    granted(w, lo, settled.value);
  }
  return { code, readOnly: false };
}

