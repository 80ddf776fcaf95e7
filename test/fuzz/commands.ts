/**
 * The fuzz command language: one command per public call of the core, with its arguments as
 * plain data. Live objects are named by position (resolved against the world when the command
 * runs), bad values are carried as they are, so a shrunk counterexample reads as a script.
 */
import fc from 'fast-check';
import { ABSENT, SEG, count, junk, offset, type Absent } from './values.js';

export type ArenaLabel = 'A' | 'A2' | 'B' | 'C';
/** A lease object: among the open ones (falls back to any), or among all of them. */
export type LeaseRef = { k: 'open' | 'any'; i: number };
/** A lease argument: a real lease, an object forged from Lease.prototype, or any value. */
export type LeaseArg = LeaseRef | { k: 'forged' } | { k: 'junk'; v: unknown };
/** A segment object: among the live ones (falls back to any), or among all of them. */
export type SegRef = { k: 'live' | 'any'; i: number };
export type SegArg = SegRef | { k: 'forged' } | { k: 'junk'; v: unknown };

export type BufSpec =
  | { k: 'u8'; len: number }
  | { k: 'bytes'; data: Uint8Array }
  | { k: 'kind'; what: 'buffer' | 'clamped' | 'int8' | 'u16' | 'dataview' | 'arraybuffer' | 'sab-u8' | 'detached' | 'subarray' | 'array' }
  | { k: 'junk'; v: unknown };

export const TYPED_ARRAYS = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;
export type TypedArrayName = (typeof TYPED_ARRAYS)[number];

export type CtorSpec =
  | { k: 'builtin'; name: TypedArrayName }
  | { k: 'subclass'; base: TypedArrayName }
  | { k: 'lying'; base: TypedArrayName; bpe: number }
  | {
      k: 'other';
      what: 'DataView' | 'Array' | 'ArrayBuffer' | 'SharedArrayBuffer' | 'Object' | 'Number' | 'BigInt' | 'Symbol' | 'arrow' |
        'arrowBpe' | 'fnBpe' | 'classNoBpe' | 'classBpe' | 'objBpe' | 'boundTyped';
    }
  | { k: 'junk'; v: unknown };

export type HandleSpec =
  | { k: 'live' | 'stale'; i: number }
  | { k: 'mod'; i: number; d: number }
  | { k: 'junk'; v: unknown };

export type LeaseDescField = 'kind' | 'arenaId' | 'slot' | 'uid' | 'base' | 'name' | 'limit' | 'reserve';
export type MutValue = { k: 'value'; v: unknown } | { k: 'delta'; d: number };
export type LeaseDescSpec =
  | { k: 'of'; i: number }
  | { k: 'mut'; i: number; field: LeaseDescField; m: MutValue }
  | { k: 'phantom'; slot: number }
  | { k: 'junk'; v: unknown };

export type AttachField = 'kind' | 'id' | 'control' | 'data';
export type AttachValue = { k: 'value'; v: unknown } | { k: 'other' } | { k: 'sab'; bytes: number } | { k: 'ab' };
export type AttachSpec =
  | { k: 'real'; a: 'A' | 'B' | 'C' }
  | { k: 'mut'; a: 'A' | 'B'; field: AttachField; m: AttachValue }
  | { k: 'junk'; v: unknown };

export const ARENA_FIELDS = [
  'size', 'segmentSize', 'maxSize', 'growthFactor', 'pressureThreshold', 'scrub', 'maxLeases', 'debug', 'maxThreads',
  'unsafeDisableAbaTag',
] as const;
export type ArenaField = (typeof ARENA_FIELDS)[number];
/** Overrides of a small valid base; ABSENT keeps the base value. */
export type ArenaOptsSpec = { k: 'fields'; over: Record<ArenaField, unknown>; extra: string | Absent } | { k: 'junk'; v: unknown };
export type LeaseOptsSpec =
  | Absent
  | { k: 'fields'; name: unknown; limit: unknown; reserve: unknown; extra: string | Absent }
  | { k: 'junk'; v: unknown };
export type AsyncOptsSpec =
  | Absent
  | { k: 'obj'; signal: 'none' | 'aborted' | { k: 'junk'; v: unknown }; timeout: unknown }
  | { k: 'junk'; v: unknown };
export type ParseSpec = { k: 'sized'; n: number; unit: string; space: string } | { k: 'value'; v: unknown };

export const GETTERS = ['getUint8', 'getInt8', 'getUint16', 'getInt16', 'getUint32', 'getInt32', 'getFloat32', 'getFloat64', 'getBigInt64'] as const;
export const SETTERS = ['setUint8', 'setInt8', 'setUint16', 'setInt16', 'setUint32', 'setInt32', 'setFloat32', 'setFloat64', 'setBigInt64'] as const;
export type Getter = (typeof GETTERS)[number];
export type Setter = (typeof SETTERS)[number];

export type Command =
  | { c: 'parseByteSize'; p: ParseSpec }
  | { c: 'newArena'; o: ArenaOptsSpec }
  | { c: 'attach'; d: AttachSpec }
  | { c: 'lease'; a: ArenaLabel; o: LeaseOptsSpec }
  | { c: 'attachLease'; a: ArenaLabel; d: LeaseDescSpec }
  | { c: 'segment'; a: ArenaLabel; h: HandleSpec }
  | { c: 'stats' | 'audit'; a: ArenaLabel; args: unknown[] }
  | { c: 'closeArena'; a: ArenaLabel }
  | { c: 'allocate' | 'tryAllocate'; l: LeaseRef; args: unknown[] }
  | { c: 'allocateMany'; l: LeaseRef; n: unknown }
  | { c: 'allocateAsync'; l: LeaseRef; n: unknown; o: AsyncOptsSpec }
  | { c: 'release'; l: LeaseRef | 'owner'; s: SegArg | SegArg[] | { k: 'junkList'; v: unknown } }
  | { c: 'transfer'; l: LeaseRef | 'owner'; s: SegArg; to: LeaseArg }
  | { c: 'closeLease'; l: LeaseRef; how: 'close' | 'dispose'; args: unknown[] }
  | { c: 'get'; s: SegRef; m: Getter; off: unknown }
  | { c: 'set'; s: SegRef; m: Setter; off: unknown; v: unknown }
  | { c: 'read' | 'write'; s: SegRef; off: unknown; b: BufSpec }
  | { c: 'copyTo'; s: SegRef; off: unknown; t: SegArg; toff: unknown; len: unknown }
  | { c: 'fill'; s: SegRef; args: unknown[] }
  | { c: 'as'; s: SegRef; ctor: CtorSpec }
  | { c: 'props'; s: SegRef; l: LeaseRef; a: ArenaLabel };

// ---- arbitraries ------------------------------------------------------------------------------

const i = fc.nat({ max: 63 });
const arenaLabel = fc.constantFrom<ArenaLabel>('A', 'A', 'A', 'A2', 'B', 'B', 'C');
const leaseRef: fc.Arbitrary<LeaseRef> = fc.record({ k: fc.constantFrom<'open' | 'any'>('open', 'open', 'open', 'any'), i });
const leaseArg: fc.Arbitrary<LeaseArg> = fc.oneof(
  { weight: 8, arbitrary: leaseRef },
  { weight: 1, arbitrary: fc.constant<LeaseArg>({ k: 'forged' }) },
  { weight: 2, arbitrary: junk.map((v): LeaseArg => ({ k: 'junk', v })) },
);
const segRef: fc.Arbitrary<SegRef> = fc.record({ k: fc.constantFrom<'live' | 'any'>('live', 'live', 'any'), i });
const segArg: fc.Arbitrary<SegArg> = fc.oneof(
  { weight: 8, arbitrary: segRef },
  { weight: 1, arbitrary: fc.constant<SegArg>({ k: 'forged' }) },
  { weight: 2, arbitrary: junk.map((v): SegArg => ({ k: 'junk', v })) },
);
const keep = <T>(a: fc.Arbitrary<T>, keepWeight = 4): fc.Arbitrary<T | Absent> =>
  fc.oneof({ weight: keepWeight, arbitrary: fc.constant(ABSENT) }, { weight: 3, arbitrary: a });
const pool = (values: readonly unknown[]): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: junk });

const bufSpec: fc.Arbitrary<BufSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('u8' as const), len: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(SEG - 1, SEG, SEG + 1)) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('bytes' as const), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('kind' as const),
      what: fc.constantFrom('buffer', 'clamped', 'int8', 'u16', 'dataview', 'arraybuffer', 'sab-u8', 'detached', 'subarray', 'array') as fc.Arbitrary<
        Extract<BufSpec, { k: 'kind' }>['what']
      >,
    }),
  },
  { weight: 2, arbitrary: junk.map((v): BufSpec => ({ k: 'junk', v })) },
);

const typedName = fc.constantFrom(...TYPED_ARRAYS);
const ctorSpec: fc.Arbitrary<CtorSpec> = fc.oneof(
  { weight: 3, arbitrary: typedName.map((name): CtorSpec => ({ k: 'builtin', name })) },
  { weight: 1, arbitrary: typedName.map((base): CtorSpec => ({ k: 'subclass', base })) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('lying' as const), base: typedName, bpe: fc.constantFrom(0, -1, 1, 3, 16, 1.5, NaN, Infinity) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('other' as const),
      what: fc.constantFrom(
        'DataView', 'Array', 'ArrayBuffer', 'SharedArrayBuffer', 'Object', 'Number', 'BigInt', 'Symbol', 'arrow', 'arrowBpe', 'fnBpe',
        'classNoBpe', 'classBpe', 'objBpe', 'boundTyped',
      ) as fc.Arbitrary<Extract<CtorSpec, { k: 'other' }>['what']>,
    }),
  },
  { weight: 2, arbitrary: junk.map((v): CtorSpec => ({ k: 'junk', v })) },
);

const handleSpec: fc.Arbitrary<HandleSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom<'live' | 'stale'>('live', 'stale'), i }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('mod' as const), i, d: fc.constantFrom(1, -1, 2, 2 ** 32, -(2 ** 32), 0.5, 2 ** 53) }) },
  { weight: 2, arbitrary: junk.map((v): HandleSpec => ({ k: 'junk', v })) },
);

const mutValue: fc.Arbitrary<MutValue> = fc.oneof(
  { weight: 3, arbitrary: junk.map((v): MutValue => ({ k: 'value', v })) },
  { weight: 2, arbitrary: fc.constantFrom(1, -1, 1 << 22, 0.5).map((d): MutValue => ({ k: 'delta', d })) },
);
const leaseDescSpec: fc.Arbitrary<LeaseDescSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('of' as const), i }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('mut' as const),
      i,
      field: fc.constantFrom<LeaseDescField>('kind', 'arenaId', 'slot', 'uid', 'base', 'name', 'limit', 'reserve'),
      m: mutValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('phantom' as const), slot: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: junk.map((v): LeaseDescSpec => ({ k: 'junk', v })) },
);

const attachValue: fc.Arbitrary<AttachValue> = fc.oneof(
  { weight: 2, arbitrary: junk.map((v): AttachValue => ({ k: 'value', v })) },
  { weight: 2, arbitrary: fc.constant<AttachValue>({ k: 'other' }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 3, 4, 4096, 65536).map((bytes): AttachValue => ({ k: 'sab', bytes })) },
  { weight: 1, arbitrary: fc.constant<AttachValue>({ k: 'ab' }) },
);
const attachSpec: fc.Arbitrary<AttachSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('real' as const), a: fc.constantFrom<'A' | 'B' | 'C'>('A', 'B', 'C') }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('mut' as const),
      a: fc.constantFrom<'A' | 'B'>('A', 'B'),
      field: fc.constantFrom<AttachField>('kind', 'id', 'control', 'data'),
      m: attachValue,
    }),
  },
  { weight: 2, arbitrary: junk.map((v): AttachSpec => ({ k: 'junk', v })) },
);

/** Per-option pools: valid values, near misses, and (through `pool`) junk. */
const ARENA_POOLS: Record<ArenaField, readonly unknown[]> = {
  size: [undefined, 4 * SEG, 2 * SEG, SEG, '16KiB', '4KiB', 0, -SEG, SEG - 1, 1.5 * SEG, '5GiB', 2 ** 32 + SEG, 2 ** 53, 1e308, '1.5KiB', 'x'],
  segmentSize: [undefined, SEG, '4KiB', 2 * SEG, 2048, 3000, 1.5 * SEG, 2 ** 25, 0, -SEG, '4 KiB'],
  maxSize: [undefined, 4 * SEG, 8 * SEG, '64KiB', SEG, 2 ** 32, 2 ** 32 + SEG, 5 * SEG + 1, 2 ** 53],
  growthFactor: [undefined, 1.5, 2, 1.01, 1e308, 1, 0.5, NaN, Infinity, -1, '2'],
  pressureThreshold: [undefined, 1, 0.5, 1e-9, 0, 1.1, NaN, -0.1, '0.5'],
  scrub: [undefined, true, false, 0, 1, 'true'],
  maxLeases: [undefined, 1, 4, 64, 0, -1, 1.5, 2 ** 20 + 1, NaN, '4'],
  debug: [undefined, true, false, 0, 'false'],
  maxThreads: [undefined, 1, 2, 4096, 0, 4097, 1.5, -1],
  unsafeDisableAbaTag: [undefined, false, true, 1],
};
const arenaOptsSpec: fc.Arbitrary<ArenaOptsSpec> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('fields' as const),
      over: fc.record(
        Object.fromEntries(ARENA_FIELDS.map((f) => [f, keep(pool(ARENA_POOLS[f]), 8)])) as Record<ArenaField, fc.Arbitrary<unknown>>,
      ),
      extra: keep(fc.constantFrom('sizee', 'maxleases', 'constructor', 'toString', '0'), 10),
    }),
  },
  { weight: 1, arbitrary: junk.map((v): ArenaOptsSpec => ({ k: 'junk', v })) },
);

const leaseOptsSpec: fc.Arbitrary<LeaseOptsSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(ABSENT) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('fields' as const),
      name: keep(pool(['n', '', 5, null, {}])),
      limit: keep(pool([undefined, 0, SEG, 2 * SEG, SEG - 1, '8KiB', 1e308, 2 ** 53, -SEG, NaN, Infinity, '1.5KiB', 12 * SEG, 2 ** 32])),
      reserve: keep(pool([undefined, 0, 1, SEG, 2 * SEG, 5 * SEG, -1, NaN, '4KiB'])),
      extra: keep(fc.constantFrom('limits', 'reserved', 'signal', 'debug'), 10),
    }),
  },
  { weight: 2, arbitrary: junk.map((v): LeaseOptsSpec => ({ k: 'junk', v })) },
);

const asyncOptsSpec: fc.Arbitrary<AsyncOptsSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(ABSENT) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('obj' as const),
      signal: fc.oneof(
        { weight: 3, arbitrary: fc.constant<'none'>('none') },
        { weight: 1, arbitrary: fc.constant<'aborted'>('aborted') },
        { weight: 2, arbitrary: junk.map((v) => ({ k: 'junk' as const, v })) },
      ),
      timeout: keep(pool([0, 1, 5, 1000, 2 ** 31 - 1, -1, -0, NaN, Infinity, -Infinity, '10', 0.5])),
    }),
  },
  { weight: 2, arbitrary: junk.map((v): AsyncOptsSpec => ({ k: 'junk', v })) },
);

const parseSpec: fc.Arbitrary<ParseSpec> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('sized' as const),
      n: fc.oneof(fc.nat({ max: 5000 }), fc.constantFrom(0, 1, 4, 8191, 2 ** 40, 2 ** 53)),
      unit: fc.constantFrom('', 'B', 'KB', 'MB', 'GB', 'KiB', 'MiB', 'GiB'),
      space: fc.constantFrom('', ' '),
    }),
  },
  { weight: 3, arbitrary: junk.map((v): ParseSpec => ({ k: 'value', v })) },
);

const setValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 32), max: 2 ** 32 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }) },
  { weight: 2, arbitrary: junk },
);
const fillArg: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: offset },
  { weight: 1, arbitrary: fc.constant(ABSENT) },
);
const length: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(SEG, SEG + 1, 2 ** 32 - 1, 2 ** 32, -1, -0) },
  { weight: 2, arbitrary: junk },
);
const segArgs = fc.array(segArg, { maxLength: 3 });

/** One command; the weights keep live state changing while bad calls hit it. */
export const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ c: fc.constant('parseByteSize' as const), p: parseSpec }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('newArena' as const), o: arenaOptsSpec }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('attach' as const), d: attachSpec }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('lease' as const), a: arenaLabel, o: leaseOptsSpec }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('attachLease' as const), a: arenaLabel, d: leaseDescSpec }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('segment' as const), a: arenaLabel, h: handleSpec }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constantFrom('stats' as const, 'audit' as const), a: arenaLabel, args: fc.array(junk, { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('closeArena' as const), a: fc.constantFrom<ArenaLabel>('A', 'A2', 'A2', 'B', 'C') }) },
  {
    weight: 4,
    arbitrary: fc.record({ c: fc.constantFrom('allocate' as const, 'tryAllocate' as const), l: leaseRef, args: fc.array(junk, { maxLength: 1 }) }),
  },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('allocateMany' as const), l: leaseRef, n: count }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('allocateAsync' as const), l: leaseRef, n: keep(count, 1), o: asyncOptsSpec }) },
  {
    weight: 5,
    arbitrary: fc.record({
      c: fc.constant('release' as const),
      l: fc.oneof({ weight: 3, arbitrary: fc.constant<'owner'>('owner') }, { weight: 2, arbitrary: leaseRef }),
      s: fc.oneof(
        { weight: 4, arbitrary: segArg },
        { weight: 2, arbitrary: segArgs },
        { weight: 1, arbitrary: junk.map((v) => ({ k: 'junkList' as const, v })) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      c: fc.constant('transfer' as const),
      l: fc.oneof({ weight: 3, arbitrary: fc.constant<'owner'>('owner') }, { weight: 2, arbitrary: leaseRef }),
      s: segArg,
      to: leaseArg,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant('closeLease' as const),
      l: leaseRef,
      how: fc.constantFrom<'close' | 'dispose'>('close', 'dispose'),
      args: fc.array(junk, { maxLength: 1 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('get' as const), s: segRef, m: fc.constantFrom(...GETTERS), off: offset }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('set' as const), s: segRef, m: fc.constantFrom(...SETTERS), off: offset, v: setValue }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constantFrom('read' as const, 'write' as const), s: segRef, off: offset, b: bufSpec }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('copyTo' as const), s: segRef, off: offset, t: segArg, toff: offset, len: length }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('fill' as const), s: segRef, args: fc.array(fillArg, { maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('as' as const), s: segRef, ctor: ctorSpec }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('props' as const), s: segRef, l: leaseRef, a: arenaLabel }) },
);

/** A run: a short random sequence of commands against a fresh world. */
export const script: fc.Arbitrary<Command[]> = fc.array(command, { minLength: 1, maxLength: 14 });
