/**
 * Value pools for the fuzz test (test/fuzz.test.ts): bad arguments of every class the issue
 * names (wrong types, NaN, ±Infinity, negative, fractional, huge, -0), mixed with values that
 * are valid for some calls, so that the oracle (test/fuzz/oracle.ts), not the generator,
 * decides what each call must do.
 *
 * Values are plain data or well-known objects, so a shrunk counterexample prints as a script.
 */
import fc from 'fast-check';

/** Marks an argument that is not passed at all (trailing arguments are dropped). */
export const ABSENT: { readonly absent: true } = Object.freeze({ absent: true as const });
export type Absent = typeof ABSENT;
export const isAbsent = (v: unknown): v is Absent => v === ABSENT;

/** The segment size of every arena of the fuzz world. */
export const SEG = 4096;

/** An object with no prototype: converting it to a primitive throws a TypeError. */
export const NULL_PROTO: object = Object.freeze(Object.create(null) as object);
/** An object whose valueOf hands back a bigint: converting it to a number throws. */
export const BIGINT_VALUE_OF = Object.freeze({ valueOf: (): bigint => 1n });
/** An object whose valueOf hands back 0: a number-like object. */
export const ZERO_VALUE_OF = Object.freeze({ valueOf: (): number => 0 });

/** Hand-picked values of every class. */
const CONSTANTS: readonly unknown[] = [
  undefined, null, true, false,
  NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, -0.5, 1.5, 4095.5,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308,
  Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, Number.MAX_SAFE_INTEGER,
  '', '0', '1', '-1', '4KiB', ' 4 KiB ', '1.5KiB', 'abc', 'NaN', 'Infinity', '1e3', '0x10', '4096',
  0n, 1n, -1n, 2n ** 64n,
  [], [0], [1, 2], {}, { length: 1 }, ZERO_VALUE_OF, BIGINT_VALUE_OF, NULL_PROTO,
  new Date(0), /re/, new Map(), new Set(), Promise.resolve(0),
  (): number => 0, function named(): void {}, class Klass {}, Math.max, Object, Array, DataView,
];

/** Any value, biased to the hand-picked classes. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CONSTANTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => Symbol(s)) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 33), max: 2 ** 33 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.anything({
      maxDepth: 1, maxKeys: 3, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true,
      withNullPrototype: true, withSparseArray: true, withTypedArray: true,
    }),
  },
);

/** A byte offset into a 4 KiB segment: valid ones, edges, and junk. */
export const offset: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: SEG }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(0, -0, 1, SEG - 8, SEG - 4, SEG - 2, SEG - 1, SEG, SEG + 1, -1, -8) },
  { weight: 3, arbitrary: junk },
);

/** A count of segments: small valid ones, edges and junk. */
export const count: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, 13, 2 ** 21, 2 ** 22, 2 ** 31) },
  { weight: 3, arbitrary: junk },
);

/** True when converting `v` to a number throws (bigint, symbol, no usable valueOf/toString). */
export function numberCoercionThrows(v: unknown): boolean {
  try {
    void ((v as number) >>> 0);
    return false;
  } catch {
    return true;
  }
}

/** True when a template literal of `v` throws (a symbol, an object without toString). */
export function stringCoercionThrows(v: unknown): boolean {
  try {
    void `${v as string}`;
    return false;
  } catch {
    return true;
  }
}

/** True when the view's ArrayBuffer was detached (transferred away); Node 20 has no `.detached`. */
export function isDetached(v: ArrayBufferView): boolean {
  if (v.buffer instanceof SharedArrayBuffer) return false;
  try {
    void new Uint8Array(v.buffer);
    return false;
  } catch {
    return true;
  }
}

/** A short, safe description of any value, for failure messages. */
export function show(v: unknown): string {
  if (v === ABSENT) return '<absent>';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (v === null || typeof v !== 'object') return String(v);
  if (v === NULL_PROTO) return 'Object.create(null)';
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  const proto = Object.getPrototypeOf(v) as object | null;
  const name = proto === null ? 'null-prototype object' : (proto.constructor as { name?: string } | undefined)?.name ?? 'object';
  try {
    const keys = Object.keys(v).slice(0, 6);
    return `${name} {${keys.map((k) => `${k}: ${show((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  } catch {
    return name;
  }
}
