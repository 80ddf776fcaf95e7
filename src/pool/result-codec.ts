/**
 * Segments in task results, both ends.
 *
 * Slot side ({@link encodeResult}): walk the result through plain objects and arrays, at any
 * depth, and replace every MemorySegment by ONE shared mark object, while the segments' handles
 * go, in walk order, into a separate list. Copy-on-write: containers are copied only on the path
 * to a segment, so a result without segments is posted as it is, and a primitive result is not
 * walked at all.
 *
 * Why one shared mark and a handle list: structured clone keeps object identity within a
 * message, so a thousand references to one mark cost one object and a thousand back references,
 * and the handles travel as one Float64Array. One small object per segment cost about 0.6 µs
 * each to clone and rebuild (1.2 ms for the 2048 handles of a 64 MiB result of 32 KiB segments).
 *
 * Main side ({@link moveResult}): walk the clone in the SAME order (depth first; arrays by index,
 * objects by Object.keys, which structured clone preserves; a container met again is not walked
 * again, on either side), give the i-th mark met the i-th handle, rehydrate the handles in the
 * main thread's arena and move them all from the task lease into `into` with one `transferMany`:
 * ownership and charge move, not one byte is copied, and each arrives as a MemorySegment. All or
 * nothing: if `into` is full or closed, or a segment is not the task's, nothing moves and the
 * error is thrown; the task lease's close then releases them all.
 *
 * Only plain objects (prototype Object.prototype or null) and arrays are walked; a segment inside
 * a Map, a Set or a class instance is not found (structured clone would then fail to copy it).
 */
import { foreignSegment, internal, invalidArgument } from '../errors.js';
import type { Arena } from '../core/arena.js';
import type { Lease } from '../core/lease.js';
import { MemorySegment } from '../core/segment.js';
import type { SegmentMark } from '../protocol.js';

export const SEGMENT_MARK_KEY = '@@segment-arena/segment';

/** An encoded result: `value` with every segment replaced by `mark`, and their handles in walk order. */
export interface EncodedResult {
  readonly value: unknown;
  /** How many marks `value` holds (0: nothing to decode, the common case). */
  readonly segments: number;
  /** The i-th mark's segment handle (absent when `segments` is 0). */
  readonly handles?: Float64Array | undefined;
  /** The one object every segment was replaced by (absent when `segments` is 0). */
  readonly mark?: SegmentMark | undefined;
}

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Slot side: the result with segments replaced by the mark, and their handles in walk order.
 * With `arena`, a segment of any other arena is refused (ERR_FOREIGN_SEGMENT): a handle names a
 * segment only within its arena, so it would name some other segment of the TaskManager's.
 */
export function encodeResult(value: unknown, arena?: Arena): EncodedResult {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw notCloneable('the result', value);
    return { value, segments: 0 };
  }
  const walk = new EncodeWalk(arena?.descriptor.id);
  const out = walk.encode(value, 'result');
  if (walk.count === 0) return { value: out, segments: 0 };
  if (walk.cyclic) {
    // A back reference would reach the original container, which still holds the segment.
    throw invalidArgument('result', 'cannot hold segments inside a cycle of objects', value);
  }
  return { value: out, segments: walk.count, handles: Float64Array.from(walk.handles), mark: walk.mark };
}

class EncodeWalk {
  count = 0;
  cyclic = false;
  readonly handles: number[] = [];
  readonly mark: SegmentMark = { [SEGMENT_MARK_KEY]: true };

  constructor(private readonly arenaId: number | undefined) {}
  /** Objects seen: their encoded form (themselves while still being walked: a cycle). */
  private readonly memo = new Map<object, unknown>();
  /** Containers on the current path. */
  private readonly walking = new Set<object>();

  encode(v: object, path: string): unknown {
    if (v instanceof MemorySegment) {
      if (this.arenaId !== undefined && v.arenaId !== this.arenaId) throw foreignSegment(`${path} (segment ${v.index})`, 'arena');
      this.count++;
      this.handles.push(v.handle);
      return this.mark;
    }
    const seen = this.memo.get(v);
    if (seen !== undefined) {
      if (seen === v) this.cyclic ||= this.walking.has(v);
      return seen;
    }
    if (Array.isArray(v)) {
      this.memo.set(v, v);
      this.walking.add(v);
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        const x = this.child(e, path, i);
        if (x !== e) (copy ??= v.slice())[i] = x;
      }
      this.walking.delete(v);
      const out = copy ?? v;
      this.memo.set(v, out);
      return out;
    }
    if (!isPlainObject(v)) return v;
    this.memo.set(v, v);
    this.walking.add(v);
    let copy: Record<string, unknown> | undefined;
    const rec = v as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      const e = rec[key];
      const x = this.child(e, path, key);
      if (x !== e) (copy ??= { ...rec })[key] = x;
    }
    this.walking.delete(v);
    const out = copy ?? v;
    this.memo.set(v, out);
    return out;
  }

  private child(e: unknown, path: string, key: string | number): unknown {
    if (typeof e === 'object' && e !== null) return this.encode(e, typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`);
    if (typeof e === 'function' || typeof e === 'symbol') throw notCloneable(typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`, e);
    return e;
  }
}

function notCloneable(where: string, value: unknown): Error {
  return invalidArgument('result', `cannot be sent to the main thread: ${where} is a ${typeof value}`, value);
}

/**
 * Main side: replace the marks in `encoded.value` (a fresh structured clone: changed in place)
 * with the segments, moved from `from` (the task lease) into `into`. Returns the new value.
 */
export function moveResult(encoded: EncodedResult, arena: Arena, from: Lease, into: Lease): unknown {
  const { value, segments: count, handles, mark } = encoded;
  if (count === 0) return value;
  if (!(handles instanceof Float64Array) || handles.length !== count || typeof mark !== 'object' || mark === null) {
    throw invalidArgument('result', 'is not an encoded task result', encoded);
  }
  // Find every mark first, and only then move anything: a mismatch is refused while the
  // segments are still the task lease's (its close releases them), never half-way.
  const holders: Record<string | number, unknown>[] = [];
  const keys: (string | number)[] = [];
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (holders.length === count || typeof v !== 'object' || v === null || v === mark || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && holders.length < count; i++) {
        if (v[i] === mark) {
          holders.push(v as unknown as Record<number, unknown>);
          keys.push(i);
        } else visit(v[i]);
      }
    } else if (isPlainObject(v)) {
      const rec = v as Record<string, unknown>;
      for (const key of Object.keys(rec)) {
        if (holders.length === count) break;
        if (rec[key] === mark) {
          holders.push(rec);
          keys.push(key);
        } else visit(rec[key]);
      }
    }
  };
  // The value sits in a box, so a result that is one segment is a mark like any other.
  const box: unknown[] = [value];
  visit(box);
  if (holders.length !== count) throw internal(`a task result held ${count} segment marks, but ${holders.length} were found`);
  // The distinct segments (a segment may appear twice in a result): one transferMany for all.
  const bySegment = new Map<number, MemorySegment>();
  for (const h of handles) if (!bySegment.has(h)) bySegment.set(h, arena.segment(h));
  from.transferMany([...bySegment.values()], into);
  for (let i = 0; i < count; i++) holders[i]![keys[i]!] = bySegment.get(handles[i]!);
  return box[0];
}
