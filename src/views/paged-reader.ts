/**
 * PagedReader: reads back a stream of values that spans many segments (the input half of Flink's
 * paged views, AbstractPagedInputView). A value split across a segment boundary is put together
 * again; the caller never sees a boundary.
 *
 * Pages come from a {@link PageSource}: a list of segments (the usual case: what a PagedWriter
 * wrote) or anything else that hands out one segment at a time, e.g. one segment refilled from a
 * file again and again. A page is a segment and how many of its bytes hold data.
 *
 * End of data: a read that needs more bytes than are left throws ERR_OUT_OF_BOUNDS. When the
 * source knows its total length (a list does) that is checked before anything is read, so a
 * failed read consumes nothing; a source that does not know its length is only found exhausted
 * by asking it, and the reader is then left at the end of the data.
 *
 * Uses only the public API of src/core (MemorySegment).
 */
import { invalidArgument } from '../errors.js';
import type { MemorySegment } from '../core/segment.js';
import { checkBytes, checkCount, checkSegment, endOfData, pageAccess, type PageAccess } from './page-access.js';

/** One page of a {@link PageSource}: bytes [offset, offset + length) of a segment. */
export interface Page {
  readonly segment: MemorySegment;
  /** Where the data starts in `segment`. Default 0. */
  readonly offset?: number;
  /** Bytes of data (offset + length ≤ segment.size). */
  readonly length: number;
}

/** Hands a {@link PagedReader} its pages, in order. */
export interface PageSource {
  /**
   * The next page, or undefined at the end of the data. `left` is the page the reader has just
   * read to its end (undefined at the first call): the source may release it, or refill and
   * return the same segment. Pages of length 0 are skipped.
   */
  next(left: Page | undefined): Page | undefined;
  /** Total bytes of data, if known: then a read past the end is refused before it starts. */
  readonly length?: number;
  /** Called by {@link PagedReader.close}: give back whatever the source still holds. */
  close?(): void;
}

/** Options of a {@link PagedReader} over a list of segments. */
export interface PagedReaderOptions {
  /** Bytes of data in the list (the first `length` bytes of the segments, in order). Default: all of them. */
  length?: number;
  /**
   * Called once for each segment of the list as soon as the reader no longer needs it (it has
   * read past it), and for all the rest at the end of the data or at close(). Pass
   * `(s) => lease.release(s)` to give memory back while reading, e.g. while merging runs.
   */
  release?: (segment: MemorySegment) => void;
}

/** The list source: segment i holds bytes [i * size, …) of the data. */
class SegmentListPages implements PageSource {
  readonly length: number;
  private next_ = 0;
  private released = 0;
  private left: number;

  constructor(
    private readonly list: readonly MemorySegment[],
    length: number,
    private readonly release: ((segment: MemorySegment) => void) | undefined,
  ) {
    this.length = length;
    this.left = length;
  }

  next(): Page | undefined {
    // Every segment before the next one has been read to its end: it may go.
    this.releaseUpTo(this.next_);
    if (this.left === 0 || this.next_ >= this.list.length) {
      this.releaseUpTo(this.list.length);
      return undefined;
    }
    const segment = this.list[this.next_++]!;
    const length = Math.min(segment.size, this.left);
    this.left -= length;
    return { segment, length };
  }

  close(): void {
    this.left = 0;
    this.next_ = this.list.length;
    this.releaseUpTo(this.list.length);
  }

  private releaseUpTo(end: number): void {
    const release = this.release;
    if (release === undefined) {
      this.released = end;
      return;
    }
    while (this.released < end) release(this.list[this.released++]!);
  }
}

type NumberKind = 'Uint8' | 'Int8' | 'Uint16' | 'Int16' | 'Uint32' | 'Int32' | 'Float32' | 'Float64';
type BigKind = 'BigInt64' | 'BigUint64';
const WIDTHS: Readonly<Record<NumberKind, number>> = { Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Uint32: 4, Int32: 4, Float32: 4, Float64: 8 };

const EMPTY_U8 = new Uint8Array(0);
const EMPTY: PageAccess = { u8: EMPTY_U8, dv: new DataView(EMPTY_U8.buffer) };

/**
 * Reads numbers and bytes as one stream from a list of segments (or any {@link PageSource}).
 *
 * @example
 * ```ts
 * const { segments, length } = writer.finish();
 * const r = new PagedReader(segments, { length, release: (s) => lease.release(s) });
 * while (!r.atEnd()) sum += r.readFloat64();      // segments go back to the lease as r passes them
 * ```
 */
export class PagedReader {
  private readonly source: PageSource;
  private readonly limit: number | undefined;
  private page: Page | undefined;
  private u8: Uint8Array = EMPTY.u8;
  private dv: DataView = EMPTY.dv;
  /** Offset in the current segment. */
  private pos = 0;
  /** End of the current page's data in its segment. */
  private end = 0;
  /** Where the current page's data starts in its segment. */
  private start = 0;
  /** Bytes in the pages before the current one. */
  private before = 0;
  private ended = false;
  private closed = false;
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private readonly scratchU8 = new Uint8Array(this.scratch.buffer);

  /**
   * Read the first `options.length` bytes of `segments` (default: all of them), or the pages a
   * {@link PageSource} hands out.
   * @throws ArenaError ERR_INVALID_ARGUMENT for a list that is not all segments, a `length`
   * that is not an integer from 0 to the list's total size, a `release` that is not a function,
   * or options given with a PageSource.
   */
  constructor(segments: readonly MemorySegment[], options?: PagedReaderOptions);
  constructor(source: PageSource);
  constructor(input: readonly MemorySegment[] | PageSource, options?: PagedReaderOptions) {
    if (Array.isArray(input)) {
      const list = input as readonly unknown[];
      let total = 0;
      list.forEach((s, i) => (total += checkSegment(`segments[${i}]`, s).size));
      const o: PagedReaderOptions = options ?? {};
      if (typeof o !== 'object' || o === null) throw invalidArgument('options', 'must be an object', options);
      const length = o.length === undefined ? total : checkCount('length', o.length, total);
      if (o.release !== undefined && typeof o.release !== 'function') {
        throw invalidArgument('release', 'must be a function', o.release);
      }
      this.source = new SegmentListPages(list as readonly MemorySegment[], length, o.release);
    } else {
      const s = input as Partial<PageSource> | null;
      if (typeof s !== 'object' || s === null || typeof s.next !== 'function') {
        throw invalidArgument('segments', 'must be an array of MemorySegment or a PageSource', input);
      }
      if (options !== undefined) throw invalidArgument('options', 'are only for a list of segments', options);
      if (s.length !== undefined) checkCount('source.length', s.length);
      this.source = input as PageSource;
    }
    this.limit = this.source.length;
  }

  /** Bytes read (or skipped) so far. */
  get position(): number {
    return this.before + this.pos - this.start;
  }

  /** Total bytes of data, when the source knows it. */
  get length(): number | undefined {
    return this.limit;
  }

  /** Bytes left, when the source knows its length. */
  get remaining(): number | undefined {
    return this.limit === undefined ? undefined : this.limit - this.position;
  }

  /** True when no byte is left. May ask the source for the next page to find out. */
  atEnd(): boolean {
    if (this.pos < this.end) return false;
    while (this.advance()) if (this.pos < this.end) return false;
    return true;
  }

  /** Read an unsigned 8-bit integer. */
  readUint8(): number {
    const p = this.pos;
    if (p + 1 <= this.end) {
      this.pos = p + 1;
      return this.dv.getUint8(p);
    }
    return this.slow('Uint8');
  }

  /** Read a signed 8-bit integer. */
  readInt8(): number {
    const p = this.pos;
    if (p + 1 <= this.end) {
      this.pos = p + 1;
      return this.dv.getInt8(p);
    }
    return this.slow('Int8');
  }

  /** Read an unsigned 16-bit integer (little-endian). */
  readUint16(): number {
    const p = this.pos;
    if (p + 2 <= this.end) {
      this.pos = p + 2;
      return this.dv.getUint16(p, true);
    }
    return this.slow('Uint16');
  }

  /** Read a signed 16-bit integer (little-endian). */
  readInt16(): number {
    const p = this.pos;
    if (p + 2 <= this.end) {
      this.pos = p + 2;
      return this.dv.getInt16(p, true);
    }
    return this.slow('Int16');
  }

  /** Read an unsigned 32-bit integer (little-endian). */
  readUint32(): number {
    const p = this.pos;
    if (p + 4 <= this.end) {
      this.pos = p + 4;
      return this.dv.getUint32(p, true);
    }
    return this.slow('Uint32');
  }

  /** Read a signed 32-bit integer (little-endian). */
  readInt32(): number {
    const p = this.pos;
    if (p + 4 <= this.end) {
      this.pos = p + 4;
      return this.dv.getInt32(p, true);
    }
    return this.slow('Int32');
  }

  /** Read a 32-bit float (little-endian). */
  readFloat32(): number {
    const p = this.pos;
    if (p + 4 <= this.end) {
      this.pos = p + 4;
      return this.dv.getFloat32(p, true);
    }
    return this.slow('Float32');
  }

  /** Read a 64-bit float (little-endian). */
  readFloat64(): number {
    const p = this.pos;
    if (p + 8 <= this.end) {
      this.pos = p + 8;
      return this.dv.getFloat64(p, true);
    }
    return this.slow('Float64');
  }

  /** Read a signed 64-bit integer (little-endian). */
  readBigInt64(): bigint {
    const p = this.pos;
    if (p + 8 <= this.end) {
      this.pos = p + 8;
      return this.dv.getBigInt64(p, true);
    }
    return this.slowBig('BigInt64');
  }

  /** Read an unsigned 64-bit integer (little-endian). */
  readBigUint64(): bigint {
    const p = this.pos;
    if (p + 8 <= this.end) {
      this.pos = p + 8;
      return this.dv.getBigUint64(p, true);
    }
    return this.slowBig('BigUint64');
  }

  /** Fill all of `target` with the next `target.length` bytes, and return it. */
  readBytes(target: Uint8Array): Uint8Array {
    checkBytes('target', target);
    this.take(target, target.length);
    return target;
  }

  /** Move `n` bytes ahead without reading them. */
  skip(n: number): void {
    checkCount('n', n);
    const start = this.position;
    if (this.limit !== undefined && start + n > this.limit) throw endOfData(n, start, this.limit);
    let left = n;
    while (left > 0) {
      const room = this.end - this.pos;
      if (room === 0) {
        if (!this.advance()) throw endOfData(n, start, this.limit);
        continue;
      }
      const k = Math.min(room, left);
      this.pos += k;
      left -= k;
    }
  }

  /**
   * Done reading: the source gives back what it still holds (a list with a `release` option
   * releases every segment it has not released yet). Reads after close find the end of the data.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.before += this.pos - this.start;
    this.finishPages();
    this.source.close?.();
  }

  /** The slow path of the read* methods (out of line: see PagedWriter). */
  private slow(kind: NumberKind): number {
    this.take(this.scratchU8, WIDTHS[kind]);
    return (this.scratch[`get${kind}`] as (o: number, le: boolean) => number).call(this.scratch, 0, true);
  }

  private slowBig(kind: BigKind): bigint {
    this.take(this.scratchU8, 8);
    return (this.scratch[`get${kind}`] as (o: number, le: boolean) => bigint).call(this.scratch, 0, true);
  }

  /** The slow path: `length` bytes into `dst` from as many pages as it takes. */
  private take(dst: Uint8Array, length: number): void {
    const start = this.position;
    if (this.limit !== undefined && start + length > this.limit) throw endOfData(length, start, this.limit);
    let done = 0;
    while (done < length) {
      const room = this.end - this.pos;
      if (room === 0) {
        if (!this.advance()) throw endOfData(length, start, this.limit);
        continue;
      }
      const k = Math.min(room, length - done);
      dst.set(this.u8.subarray(this.pos, this.pos + k), done);
      this.pos += k;
      done += k;
    }
  }

  /** Leave the current page (read to its end) for the next; false at the end of the data. */
  private advance(): boolean {
    if (this.ended) return false;
    const next = this.source.next(this.page);
    if (next === undefined) {
      this.before += this.end - this.start;
      this.finishPages();
      return false;
    }
    if (typeof next !== 'object' || next === null) throw invalidArgument('page', 'must be { segment, offset?, length } or undefined', next);
    const segment = checkSegment('page.segment', next.segment);
    const offset = next.offset === undefined ? 0 : checkCount('page.offset', next.offset, segment.size);
    const length = checkCount('page.length', next.length, segment.size - offset);
    const a = pageAccess(segment);
    this.before += this.end - this.start;
    this.page = next;
    this.u8 = a.u8;
    this.dv = a.dv;
    this.start = offset;
    this.pos = offset;
    this.end = offset + length;
    return true;
  }

  private finishPages(): void {
    this.ended = true;
    this.page = undefined;
    this.u8 = EMPTY.u8;
    this.dv = EMPTY.dv;
    this.pos = 0;
    this.end = 0;
    this.start = 0;
  }
}
