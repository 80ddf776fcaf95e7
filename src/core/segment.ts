/**
 * MemorySegment: a view of one segment of an arena, with checked little-endian accessors.
 *
 * Every checked access first compares the segment's shared generation word with the
 * generation this object was handed out with (one plain read). Release and transfer bump that
 * word, so an object that outlived its epoch fails with ERR_SEGMENT_RELEASED in every thread.
 * `as()` returns a raw typed-array view for speed: it is not checked, and like any view of a
 * SharedArrayBuffer its `.buffer` reaches the whole data buffer (never the metadata, which
 * lives in a separate buffer).
 *
 * This module owns no shared word; it only reads GEN.
 */
import { ArenaError, invalidArgument, outOfBounds, segmentReleased } from '../errors.js';
import type { ArenaCore } from './arena-core.js';
import { genIdx, makeHandle } from './segment-table.js';

/** A typed-array constructor accepted by {@link MemorySegment.as}. */
export type TypedArrayConstructor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

const POISON_FILL_CHUNK = 64;

/** The built-in typed-array constructors: `as()` takes the element size from these, never from a subclass. */
const TYPED_ARRAYS: readonly { readonly BYTES_PER_ELEMENT: number; readonly prototype: object }[] = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array,
];

/** One segment of an arena, owned by one lease. Obtain it from a {@link Lease}; never construct it. */
export class MemorySegment {
  /** Brand: only objects built by this class have it (Object.create(prototype) does not). */
  readonly #brand = true;

  /** True if `x` is a MemorySegment built by the library (not a forged object). */
  static isSegment(x: unknown): x is MemorySegment {
    return typeof x === 'object' && x !== null && #brand in x;
  }

  /** @internal */ readonly ctx: ArenaCore;
  /** @internal */ gen: number;
  /** @internal */ leaseSlot: number;
  /** @internal */ readonly genWord: number;
  /** Size of the segment in bytes. */
  readonly size: number;
  /** Index of the segment in its arena. */
  readonly index: number;
  /** Byte offset of the segment in the arena's data buffer. */
  readonly offset: number;

  /** @internal */
  constructor(ctx: ArenaCore, index: number, gen: number, leaseSlot: number) {
    this.ctx = ctx;
    this.index = index;
    this.gen = gen;
    this.leaseSlot = leaseSlot;
    this.size = ctx.segmentSize;
    this.offset = index * ctx.segmentSize;
    this.genWord = genIdx(ctx.layout, index);
    ctx.ensureView(index);
  }

  /**
   * A plain number that names this segment and its current epoch (index and generation);
   * send it to another thread and rehydrate it there with `arena.segment(handle)`.
   */
  get handle(): number {
    return makeHandle(this.index, this.gen);
  }

  /** Id of the arena this segment belongs to (the same in every thread). */
  get arenaId(): number {
    return this.ctx.id;
  }

  /** True once the segment was released (or transferred through another object) in any thread. */
  get released(): boolean {
    return this.ctx.i32[this.genWord] !== this.gen;
  }

  /** @internal Throws unless the epoch is live and [byteOffset, byteOffset + width) is inside. */
  check(byteOffset: number, width: number): number {
    if (this.ctx.i32[this.genWord] !== this.gen) throw segmentReleased(`${this.index}`);
    // typeof first: `>>> 0` on a bigint, a symbol or a prototype-less object throws a TypeError
    // (regression: found by the fuzzer).
    if (typeof byteOffset !== 'number' || (byteOffset >>> 0) !== byteOffset || byteOffset + width > this.size) {
      throw this.badOffset(byteOffset, width);
    }
    return this.offset + byteOffset;
  }

  private badOffset(byteOffset: unknown, width: number): ArenaError {
    if (typeof byteOffset !== 'number' || !Number.isInteger(byteOffset)) {
      return invalidArgument('byteOffset', 'must be an integer', byteOffset);
    }
    return outOfBounds(byteOffset, width, this.size);
  }

  /** Read an unsigned 8-bit integer. */
  getUint8(byteOffset: number): number {
    return this.ctx.dv.getUint8(this.check(byteOffset, 1));
  }
  /** Read a signed 8-bit integer. */
  getInt8(byteOffset: number): number {
    return this.ctx.dv.getInt8(this.check(byteOffset, 1));
  }
  /** Read an unsigned 16-bit integer (little-endian). */
  getUint16(byteOffset: number): number {
    return this.ctx.dv.getUint16(this.check(byteOffset, 2), true);
  }
  /** Read a signed 16-bit integer (little-endian). */
  getInt16(byteOffset: number): number {
    return this.ctx.dv.getInt16(this.check(byteOffset, 2), true);
  }
  /** Read an unsigned 32-bit integer (little-endian). */
  getUint32(byteOffset: number): number {
    return this.ctx.dv.getUint32(this.check(byteOffset, 4), true);
  }
  /** Read a signed 32-bit integer (little-endian). */
  getInt32(byteOffset: number): number {
    return this.ctx.dv.getInt32(this.check(byteOffset, 4), true);
  }
  /** Read a 32-bit float (little-endian). */
  getFloat32(byteOffset: number): number {
    return this.ctx.dv.getFloat32(this.check(byteOffset, 4), true);
  }
  /** Read a 64-bit float (little-endian). */
  getFloat64(byteOffset: number): number {
    return this.ctx.dv.getFloat64(this.check(byteOffset, 8), true);
  }
  /** Read a signed 64-bit integer (little-endian). */
  getBigInt64(byteOffset: number): bigint {
    return this.ctx.dv.getBigInt64(this.check(byteOffset, 8), true);
  }

  /** Write an unsigned 8-bit integer (the value wraps like a Uint8Array element). */
  setUint8(byteOffset: number, value: number): void {
    this.ctx.dv.setUint8(this.check(byteOffset, 1), num(value));
  }
  /** Write a signed 8-bit integer. */
  setInt8(byteOffset: number, value: number): void {
    this.ctx.dv.setInt8(this.check(byteOffset, 1), num(value));
  }
  /** Write an unsigned 16-bit integer (little-endian). */
  setUint16(byteOffset: number, value: number): void {
    this.ctx.dv.setUint16(this.check(byteOffset, 2), num(value), true);
  }
  /** Write a signed 16-bit integer (little-endian). */
  setInt16(byteOffset: number, value: number): void {
    this.ctx.dv.setInt16(this.check(byteOffset, 2), num(value), true);
  }
  /** Write an unsigned 32-bit integer (little-endian). */
  setUint32(byteOffset: number, value: number): void {
    this.ctx.dv.setUint32(this.check(byteOffset, 4), num(value), true);
  }
  /** Write a signed 32-bit integer (little-endian). */
  setInt32(byteOffset: number, value: number): void {
    this.ctx.dv.setInt32(this.check(byteOffset, 4), num(value), true);
  }
  /** Write a 32-bit float (little-endian). */
  setFloat32(byteOffset: number, value: number): void {
    this.ctx.dv.setFloat32(this.check(byteOffset, 4), num(value), true);
  }
  /** Write a 64-bit float (little-endian). */
  setFloat64(byteOffset: number, value: number): void {
    this.ctx.dv.setFloat64(this.check(byteOffset, 8), num(value), true);
  }
  /** Write a signed 64-bit integer (little-endian). */
  setBigInt64(byteOffset: number, value: bigint): void {
    if (typeof value !== 'bigint') throw invalidArgument('value', 'must be a bigint', value);
    this.ctx.dv.setBigInt64(this.check(byteOffset, 8), value, true);
  }

  /** Copy `target.length` bytes starting at `byteOffset` into `target`. */
  read(byteOffset: number, target: Uint8Array): Uint8Array {
    if (!(target instanceof Uint8Array)) throw invalidArgument('target', 'must be a Uint8Array', target);
    const at = this.check(byteOffset, target.length);
    if (target.length === 0) return target; // nothing to copy (also a detached buffer: .set would throw)
    target.set(this.ctx.u8.subarray(at, at + target.length));
    return target;
  }

  /** Copy all of `source` into the segment starting at `byteOffset`. */
  write(byteOffset: number, source: Uint8Array): void {
    if (!(source instanceof Uint8Array)) throw invalidArgument('source', 'must be a Uint8Array', source);
    const at = this.check(byteOffset, source.length);
    if (source.length === 0) return; // nothing to copy (also a detached buffer: .set would throw)
    this.ctx.u8.set(source, at);
  }

  /** Copy `length` bytes from this segment to another (of any arena); overlap is handled. */
  copyTo(byteOffset: number, target: MemorySegment, targetOffset: number, length: number): void {
    if (!MemorySegment.isSegment(target)) throw invalidArgument('target', 'must be a MemorySegment', target);
    if (typeof length !== 'number' || (length >>> 0) !== length) {
      throw invalidArgument('length', 'must be a non-negative integer', length);
    }
    const from = this.check(byteOffset, length);
    const to = target.check(targetOffset, length);
    target.ctx.u8.set(this.ctx.u8.subarray(from, from + length), to);
  }

  /** Fill bytes [from, to) with `value` (an integer 0..255). */
  fill(value: number, from = 0, to: number = this.size): this {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
      throw invalidArgument('value', 'must be an integer from 0 to 255', value);
    }
    if (typeof to !== 'number' || (to >>> 0) !== to || to > this.size) throw this.badOffset(to, 0);
    if (typeof from !== 'number' || (from >>> 0) !== from || from > to) throw invalidArgument('from', `must be an integer from 0 to ${to}`, from);
    const start = this.check(from, to - from);
    const end = start + (to - from);
    const u8 = this.ctx.u8;
    // Uint8Array.fill on shared memory is ~5x slower than BigInt64Array.fill: fill the
    // 8-byte-aligned middle with 64-bit words.
    if (end - start >= POISON_FILL_CHUNK) {
      const a = Math.ceil(start / 8) * 8;
      const b = Math.floor(end / 8) * 8;
      u8.fill(value, start, a);
      this.ctx.z64.fill(BigInt(value) * 0x0101010101010101n, a / 8, b / 8);
      u8.fill(value, b, end);
    } else {
      u8.fill(value, start, end);
    }
    return this;
  }

  /**
   * A raw view of exactly this segment as any typed array (`segment.as(Float64Array)`).
   * Unchecked: it keeps working after release, so drop it when you release the segment.
   */
  as<T>(ctor: TypedArrayConstructor<T>): T {
    // Only real typed-array constructors (or their subclasses), and the element size of the
    // built-in base, never a subclass's own BYTES_PER_ELEMENT: a lying subclass could otherwise
    // get a view beyond this segment (regression: found by the fuzzer).
    const base = typeof ctor === 'function' ? TYPED_ARRAYS.find((t) => ctor === t || ctor.prototype instanceof (t as unknown as typeof Int8Array)) : undefined;
    if (base === undefined) throw invalidArgument('ctor', 'must be a typed-array constructor (e.g. Float64Array)', ctor);
    this.check(0, 0);
    let view: T;
    try {
      view = new ctor(this.ctx.descriptor.data, this.offset, this.size / base.BYTES_PER_ELEMENT);
    } catch {
      throw invalidArgument('ctor', 'must construct a typed array over (buffer, byteOffset, length)', ctor);
    }
    const v = view as unknown as { byteOffset?: unknown; byteLength?: unknown; buffer?: unknown };
    if (v.byteOffset !== this.offset || v.byteLength !== this.size || v.buffer !== this.ctx.descriptor.data) {
      throw invalidArgument('ctor', 'must construct a view of exactly the given range', ctor);
    }
    return view;
  }
}

function num(value: number): number {
  if (typeof value !== 'number') throw invalidArgument('value', 'must be a number', value);
  return value;
}
