/**
 * PagedWriter: a stream of values written across a list of segments, taking a new segment from
 * a source whenever the current one is full (the output half of Flink's paged views,
 * AbstractPagedOutputView). A value that does not fit in what is left of a segment is split
 * across the boundary; the caller never sees one.
 *
 * Layout: `segments[0 … k-1]` are full, `segments[k]` holds the last `position - (bytes before it)`
 * bytes. Values are little-endian, like MemorySegment's accessors, so a PagedReader over the same
 * segments reads them back.
 *
 * Writes are all or nothing: a write that needs new segments asks the source for every one it
 * needs before it writes a byte; if the source refuses (ERR_LEASE_LIMIT, ERR_ARENA_EXHAUSTED, …),
 * the segments it already handed out for that write go back to it and the error is thrown, with
 * the writer (position, segments) and the source exactly as they were.
 *
 * Uses only the public API of src/core (MemorySegment, and a Lease as the usual source).
 */
import { invalidArgument } from '../errors.js';
import type { MemorySegment } from '../core/segment.js';
import { checkBigInt, checkBytes, checkNumber, checkSegment, pageAccess, type PageAccess } from './page-access.js';

/**
 * Where a {@link PagedWriter} gets its segments. A {@link Lease} is one: `new PagedWriter(lease)`.
 * Any object with these two methods will do (a pool of recycled segments, a lease with a quota…).
 */
export interface SegmentSource {
  /** A new segment for the writer; throw (e.g. ERR_LEASE_LIMIT) to refuse. */
  allocate(): MemorySegment;
  /** Take back a segment `allocate` handed out (only for a write that failed: all or nothing). */
  release(segment: MemorySegment): void;
}

/** What {@link PagedWriter.finish} hands over: the written segments and how many bytes they hold. */
export interface PagedData {
  /** The segments, in order; all full but the last. */
  readonly segments: MemorySegment[];
  /** Bytes written (the data is `segments` concatenated, cut at `length`). */
  readonly length: number;
}

const EMPTY: PageAccess = pageless();

type NumberKind = 'Uint8' | 'Int8' | 'Uint16' | 'Int16' | 'Uint32' | 'Int32' | 'Float32' | 'Float64';
type BigKind = 'BigInt64' | 'BigUint64';
const WIDTHS: Readonly<Record<NumberKind, number>> = { Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Uint32: 4, Int32: 4, Float32: 4, Float64: 8 };

/**
 * Writes numbers and bytes as one stream across as many segments as it takes.
 *
 * @example
 * ```ts
 * using lease = arena.lease({ limit: '1MiB' });
 * const out = new PagedWriter(lease);              // takes segments from the lease as it fills them
 * for (const r of records) { out.writeFloat64(r.key); out.writeUint32(r.id); }
 * const { segments, length } = out.finish();      // hand them on, e.g. as a task's result
 * const back = new PagedReader(segments, { length });
 * ```
 */
export class PagedWriter {
  private readonly source: SegmentSource;
  private list: MemorySegment[] = [];
  private u8: Uint8Array = EMPTY.u8;
  private dv: DataView = EMPTY.dv;
  /** Offset in the current segment. */
  private pos = 0;
  /** Size of the current segment (0 before the first). */
  private end = 0;
  /** Bytes in the segments before the current one. */
  private before = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private readonly scratchU8 = new Uint8Array(this.scratch.buffer);

  /**
   * @param source where new segments come from (a {@link Lease}, or any {@link SegmentSource}).
   * Nothing is taken until the first byte is written.
   * @throws ArenaError ERR_INVALID_ARGUMENT when `source` has no `allocate` and `release` methods.
   */
  constructor(source: SegmentSource) {
    const s = source as Partial<SegmentSource> | null;
    if (typeof s !== 'object' || s === null || typeof s.allocate !== 'function' || typeof s.release !== 'function') {
      throw invalidArgument('source', 'must be a Lease or an object with allocate() and release(segment)', source);
    }
    this.source = source;
  }

  /** Bytes written so far. */
  get position(): number {
    return this.before + this.pos;
  }

  /** The segments written so far, in order (a copy of the list; the writer still owns them). */
  get segments(): MemorySegment[] {
    return this.list.slice();
  }

  /** Write an unsigned 8-bit integer (wraps like a Uint8Array element). */
  writeUint8(value: number): void {
    const p = this.pos;
    if (p + 1 <= this.end && typeof value === 'number') {
      this.dv.setUint8(p, value);
      this.pos = p + 1;
    } else this.slow('Uint8', value);
  }

  /** Write a signed 8-bit integer. */
  writeInt8(value: number): void {
    const p = this.pos;
    if (p + 1 <= this.end && typeof value === 'number') {
      this.dv.setInt8(p, value);
      this.pos = p + 1;
    } else this.slow('Int8', value);
  }

  /** Write an unsigned 16-bit integer (little-endian). */
  writeUint16(value: number): void {
    const p = this.pos;
    if (p + 2 <= this.end && typeof value === 'number') {
      this.dv.setUint16(p, value, true);
      this.pos = p + 2;
    } else this.slow('Uint16', value);
  }

  /** Write a signed 16-bit integer (little-endian). */
  writeInt16(value: number): void {
    const p = this.pos;
    if (p + 2 <= this.end && typeof value === 'number') {
      this.dv.setInt16(p, value, true);
      this.pos = p + 2;
    } else this.slow('Int16', value);
  }

  /** Write an unsigned 32-bit integer (little-endian). */
  writeUint32(value: number): void {
    const p = this.pos;
    if (p + 4 <= this.end && typeof value === 'number') {
      this.dv.setUint32(p, value, true);
      this.pos = p + 4;
    } else this.slow('Uint32', value);
  }

  /** Write a signed 32-bit integer (little-endian). */
  writeInt32(value: number): void {
    const p = this.pos;
    if (p + 4 <= this.end && typeof value === 'number') {
      this.dv.setInt32(p, value, true);
      this.pos = p + 4;
    } else this.slow('Int32', value);
  }

  /** Write a 32-bit float (little-endian). */
  writeFloat32(value: number): void {
    const p = this.pos;
    if (p + 4 <= this.end && typeof value === 'number') {
      this.dv.setFloat32(p, value, true);
      this.pos = p + 4;
    } else this.slow('Float32', value);
  }

  /** Write a 64-bit float (little-endian). */
  writeFloat64(value: number): void {
    const p = this.pos;
    if (p + 8 <= this.end && typeof value === 'number') {
      this.dv.setFloat64(p, value, true);
      this.pos = p + 8;
    } else this.slow('Float64', value);
  }

  /** Write a signed 64-bit integer (little-endian; wraps modulo 2^64). */
  writeBigInt64(value: bigint): void {
    const p = this.pos;
    if (p + 8 <= this.end && typeof value === 'bigint') {
      this.dv.setBigInt64(p, value, true);
      this.pos = p + 8;
    } else this.slowBig('BigInt64', value);
  }

  /** Write an unsigned 64-bit integer (little-endian; wraps modulo 2^64). */
  writeBigUint64(value: bigint): void {
    const p = this.pos;
    if (p + 8 <= this.end && typeof value === 'bigint') {
      this.dv.setBigUint64(p, value, true);
      this.pos = p + 8;
    } else this.slowBig('BigUint64', value);
  }

  /** Write all of `bytes` (any length: it may span many segments). */
  writeBytes(bytes: Uint8Array): void {
    checkBytes('bytes', bytes);
    this.put(bytes, bytes.length);
  }

  /**
   * The slow path of the write* methods, out of line so that their fast path stays small enough
   * for V8 to inline into a caller's loop: check the value, then write it through the scratch.
   */
  private slow(kind: NumberKind, value: number): void {
    checkNumber(value);
    const width = WIDTHS[kind];
    (this.scratch[`set${kind}`] as (o: number, v: number, le: boolean) => void).call(this.scratch, 0, value, true);
    this.put(this.scratchU8, width);
  }

  private slowBig(kind: BigKind, value: bigint): void {
    checkBigInt(value);
    (this.scratch[`set${kind}`] as (o: number, v: bigint, le: boolean) => void).call(this.scratch, 0, value, true);
    this.put(this.scratchU8, 8);
  }

  /**
   * Hand over what was written: the segments (still owned by the source's lease) and the length.
   * The writer is empty afterwards and starts a new segment at its next write.
   */
  finish(): PagedData {
    const data: PagedData = { segments: this.list, length: this.position };
    this.reset();
    return data;
  }

  /** Give every segment written so far back to the source, and start empty. */
  discard(): void {
    const list = this.list;
    this.reset();
    let first: unknown;
    for (const seg of list) {
      try {
        this.source.release(seg);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  private reset(): void {
    this.list = [];
    this.u8 = EMPTY.u8;
    this.dv = EMPTY.dv;
    this.pos = 0;
    this.end = 0;
    this.before = 0;
  }

  /** The slow path: the first `length` bytes of `src`, across as many new segments as it takes. */
  private put(src: Uint8Array, length: number): void {
    const room = this.end - this.pos;
    if (length <= room) {
      this.u8.set(length === src.length ? src : src.subarray(0, length), this.pos);
      this.pos += length;
      return;
    }
    // All or nothing: every segment the write needs, and its raw views, before the first byte.
    const fresh: MemorySegment[] = [];
    const access: PageAccess[] = [];
    try {
      for (let capacity = room; capacity < length; ) {
        const seg = this.source.allocate();
        fresh.push(seg);
        checkSegment('segment (from the source)', seg);
        access.push(pageAccess(seg));
        capacity += seg.size;
      }
    } catch (e) {
      for (const seg of fresh) {
        try {
          this.source.release(seg);
        } catch {
          // The first error is the one to report; a source that cannot take back its own
          // segment has a bug of its own.
        }
      }
      throw e;
    }
    let from = 0;
    if (room > 0) {
      this.u8.set(src.subarray(0, room), this.pos);
      from = room;
    }
    for (let i = 0; i < fresh.length; i++) {
      const seg = fresh[i]!;
      const a = access[i]!;
      this.before += this.end;
      this.list.push(seg);
      this.u8 = a.u8;
      this.dv = a.dv;
      this.end = seg.size;
      const n = Math.min(seg.size, length - from);
      this.u8.set(src.subarray(from, from + n), 0);
      this.pos = n;
      from += n;
    }
  }
}

function pageless(): PageAccess {
  const u8 = new Uint8Array(0);
  return { u8, dv: new DataView(u8.buffer) };
}
