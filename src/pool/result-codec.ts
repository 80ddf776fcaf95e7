/**
 * Segments in task results, both ends.
 *
 * Slot side ({@link encodeResult}): walk the result through plain objects and arrays, at any
 * depth, and replace every MemorySegment by a {@link SegmentMark} holding its handle (a number).
 * Copy-on-write: containers are copied only on the path to a segment, so a result without
 * segments is posted as it is, and a primitive result is not walked at all.
 *
 * Main side ({@link moveResult}): find the marks again, rehydrate each handle in the main
 * thread's arena, and move them all from the task lease into `into` with one `transferMany`:
 * ownership and charge move, not one byte is copied, and each arrives as a MemorySegment. All or
 * nothing: if `into` is full or closed, or a segment is not the task's, nothing moves and the
 * error is thrown; the task lease's close then releases them all.
 *
 * Only plain objects (prototype Object.prototype or null) and arrays are walked; a segment inside
 * a Map, a Set or a class instance is not found (structured clone would then fail to copy it).
 */
import { invalidArgument } from '../errors.js';
import type { Arena } from '../core/arena.js';
import type { Lease } from '../core/lease.js';
import { MemorySegment } from '../core/segment.js';
import type { SegmentMark } from '../protocol.js';

export const SEGMENT_MARK_KEY = '@@segment-arena/segment';

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** Slot side: the result with segments replaced by marks, and how many marks it holds. */
export function encodeResult(value: unknown): { value: unknown; segments: number } {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw notCloneable('the result', value);
    return { value, segments: 0 };
  }
  const walk = new EncodeWalk();
  const out = walk.encode(value, 'result');
  if (walk.cyclic && walk.count > 0) {
    // A back reference would reach the original container, which still holds the segment.
    throw invalidArgument('result', 'cannot hold segments inside a cycle of objects', value);
  }
  return { value: out, segments: walk.count };
}

class EncodeWalk {
  count = 0;
  cyclic = false;
  /** Objects seen: their encoded form (themselves while still being walked: a cycle). */
  private readonly memo = new Map<object, unknown>();
  /** Containers on the current path. */
  private readonly walking = new Set<object>();

  encode(v: object, path: string): unknown {
    if (v instanceof MemorySegment) {
      this.count++;
      const mark: SegmentMark = { [SEGMENT_MARK_KEY]: v.handle };
      return mark;
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

const isMark = (v: object): v is SegmentMark => {
  if (!(SEGMENT_MARK_KEY in v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && typeof (v as Record<string, unknown>)[SEGMENT_MARK_KEY] === 'number';
};

/**
 * Main side: replace the `count` marks in `value` (a fresh structured clone: changed in place)
 * with the segments, moved from `from` (the task lease) into `into`. Returns the new value.
 */
export function moveResult(value: unknown, count: number, arena: Arena, from: Lease, into: Lease): unknown {
  // Pass 1: the distinct handles, in order. Pass 2 (after one transferMany) puts the segments in.
  const handles: number[] = [];
  const seen = new Set<number>();
  walkMarks(value, count, (h) => {
    if (!seen.has(h)) {
      seen.add(h);
      handles.push(h);
    }
    return undefined;
  });
  const segs = handles.map((h) => arena.segment(h));
  // One charge of `into` for all of them; all or nothing when `into` is full or closed.
  from.transferMany(segs, into);
  const byHandle = new Map<number, MemorySegment>();
  handles.forEach((h, i) => byHandle.set(h, segs[i]!));
  return walkMarks(value, count, (h) => byHandle.get(h));
}

/** Visit the first `count` marks of `value` (changed in place where `swap` returns a value). */
function walkMarks(value: unknown, count: number, swap: (handle: number) => MemorySegment | undefined): unknown {
  let left = count;
  const visit = (v: unknown): unknown => {
    if (left === 0 || typeof v !== 'object' || v === null) return v;
    if (isMark(v)) {
      left--;
      return swap(v[SEGMENT_MARK_KEY]) ?? v;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && left > 0; i++) v[i] = visit(v[i]);
    } else if (isPlainObject(v)) {
      const rec = v as Record<string, unknown>;
      for (const key of Object.keys(rec)) {
        if (left === 0) break;
        rec[key] = visit(rec[key]);
      }
    }
    return v;
  };
  return visit(value);
}
