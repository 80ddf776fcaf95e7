/**
 * The pool's small parts, on the main thread: admission (invariants against a random workload),
 * the result codec, errors as data, and the stop flags.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arena, ArenaError, type MemorySegment } from '../src/index.js';
import { Admission } from '../src/pool/admission.js';
import { errorFromData, errorToData } from '../src/pool/pool-errors.js';
import { codeOf } from './helpers.js';
import { SEGMENT_MARK_KEY, encodeResult, moveResult } from '../src/pool/result-codec.js';
import { RUN, STOP, StopFlags } from '../src/pool/stop-flags.js';

describe('Admission', () => {
  interface Req {
    readonly id: number;
    readonly segments: number;
  }

  it('never oversubscribes a slot, keeps FIFO order, and places everything once room frees', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }), // slots
        fc.integer({ min: 1, max: 8 }), // slotSegments
        fc.integer({ min: 1, max: 4 }), // perSlot
        fc.array(fc.record({ size: fc.nat(), finishFirst: fc.boolean() }), { maxLength: 40 }),
        (slots, slotSegments, perSlot, ops) => {
          const placed: { req: Req; slot: number }[] = [];
          const order: number[] = [];
          const a = new Admission<Req>(slots, slotSegments, perSlot, (req, slot) => {
            placed.push({ req, slot });
            order.push(req.id);
          });
          const check = (): void => {
            for (let s = 0; s < slots; s++) {
              const on = placed.filter((p) => p.slot === s);
              const b = a.budgets[s]!;
              expect(b.used).toBe(on.reduce((n, p) => n + p.req.segments, 0));
              expect(b.used).toBeLessThanOrEqual(slotSegments);
              expect(b.running).toBe(on.length);
              expect(b.running).toBeLessThanOrEqual(perSlot);
            }
          };
          for (let s = 0; s < slots; s++) a.setOpen(s, true);
          let id = 0;
          for (const op of ops) {
            if (op.finishFirst && placed.length > 0) {
              const [done] = placed.splice(op.size % placed.length, 1);
              a.release(done!.slot, done!.req.segments);
            }
            a.submit({ id: id++, segments: op.size % (slotSegments + 1) });
            check();
          }
          while (placed.length > 0) {
            const done = placed.shift()!;
            a.release(done.slot, done.req.segments);
            check();
          }
          expect(a.queued).toBe(0);
          expect(order).toEqual([...order].sort((x, y) => x - y)); // first in, first placed
          expect(order).toHaveLength(id);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('places nothing on a closed slot, and picks the least busy open one', () => {
    const placed: [number, number][] = [];
    const a = new Admission<{ id: number; segments: number }>(3, 4, 2, (r, s) => placed.push([r.id, s]));
    expect(a.submit({ id: 1, segments: 1 })).toBe(false); // no slot open yet
    a.setOpen(1, true);
    a.setOpen(2, true);
    expect(placed).toEqual([[1, 1]]);
    a.submit({ id: 2, segments: 1 });
    a.submit({ id: 3, segments: 3 });
    expect(placed).toEqual([[1, 1], [2, 2], [3, 1]]); // fewest running first, then least memory
    const waiting = { id: 4, segments: 4 };
    a.submit(waiting);
    a.submit({ id: 5, segments: 1 }); // would fit, but waits behind 4 (FIFO)
    expect(a.queued).toBe(2);
    expect(a.remove(waiting)).toBe(true);
    a.pump();
    expect(placed.at(-1)).toEqual([5, 2]);
  });
});

describe('result codec', () => {
  const arena = new Arena({ size: '64KiB', segmentSize: 4096 });

  it('replaces segments by marks copy-on-write, and moves them into `into` on the other side', () => {
    const task = arena.lease({ name: 'task' });
    const into = arena.lease({ name: 'into' });
    const [a, b] = task.allocateMany(2) as [MemorySegment, MemorySegment];
    a.setUint32(0, 11);
    const untouched = { x: [1, 2, { y: 'z' }] };
    const result = { untouched, list: [a, { b, again: a }], n: 1 };
    const encoded = encodeResult(result);
    const { value, segments } = encoded;
    expect(segments).toBe(3);
    expect([...encoded.handles!]).toEqual([a.handle, b.handle, a.handle]); // walk order
    expect(result.list[0]).toBe(a); // the task's own object is not modified
    const enc = value as { untouched: unknown; list: [Record<string, number>, { b: Record<string, number> }] };
    expect(enc.untouched).toBe(untouched); // no segment inside: not copied
    expect(enc.list[0]).toBe(encoded.mark); // one shared mark object for every segment
    expect(enc.list[0]).toEqual({ [SEGMENT_MARK_KEY]: true });
    const cloned = structuredClone(encoded);
    expect(cloned.value).not.toBe(value);
    const moved = moveResult(cloned, arena, task, into) as { list: [MemorySegment, { b: MemorySegment; again: MemorySegment }] };
    expect(moved.list[0].index).toBe(a.index);
    expect(moved.list[0].getUint32(0)).toBe(11);
    expect(moved.list[1].again).toBe(moved.list[0]);
    expect(into.used).toBe(2 * 4096);
    expect(task.used).toBe(0);
    into.close();
    task.close();
  });

  it('leaves primitives and segment-free values alone; refuses functions and cycles with segments', () => {
    expect(encodeResult(42)).toEqual({ value: 42, segments: 0 });
    expect(encodeResult({ a: 1 })).toEqual({ value: { a: 1 }, segments: 0 }); // no handles, no mark
    const plain = { a: [1, { b: 2 }] };
    expect(encodeResult(plain).value).toBe(plain);
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic['self'] = cyclic;
    expect(encodeResult(cyclic).value).toBe(cyclic); // a cycle without segments is fine
    expect(() => encodeResult({ f: () => 1 })).toThrow(/result.f is a function/);
    const lease = arena.lease();
    const withSeg: Record<string, unknown> = { s: lease.allocate() };
    withSeg['self'] = withSeg;
    expect(() => encodeResult(withSeg)).toThrow(/cycle/);
    lease.close();
  });

  it('round trip over random shapes: every segment lands where it was, shared containers stay shared', () => {
    // Decoding is by walk order over the clone, so both walks must agree for any shape:
    // nesting, arrays with holes, a segment or a container referenced twice, look-alike marks.
    const big = new Arena({ size: '1MiB', segmentSize: 4096 });
    type Shape = { t: 'seg'; k: number } | { t: 'num'; v: number } | { t: 'arr'; xs: Shape[]; hole: boolean } | { t: 'obj'; kv: [string, Shape][] } | { t: 'fake' };
    const { shape } = fc.letrec<{ shape: Shape }>((tie) => ({
      shape: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ t: fc.constant('seg' as const), k: fc.nat(5) }),
        fc.record({ t: fc.constant('num' as const), v: fc.integer() }),
        fc.constant({ t: 'fake' as const }),
        fc.record({ t: fc.constant('arr' as const), xs: fc.array(tie('shape'), { maxLength: 4 }), hole: fc.boolean() }),
        fc.record({ t: fc.constant('obj' as const), kv: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', '0'), tie('shape')), { maxLength: 3 }) }),
      ),
    }));
    fc.assert(
      fc.property(shape, fc.boolean(), (sh, shareTwice) => {
        const task = big.lease({ name: 'task' });
        const into = big.lease({ name: 'into' });
        try {
          const pool = task.allocateMany(6);
          pool.forEach((s, i) => s.setUint32(0, 1000 + i));
          const indices = pool.map((s) => s.index);
          const build = (x: Shape): unknown => {
            switch (x.t) {
              case 'seg': return pool[x.k];
              case 'num': return x.v;
              case 'fake': return { [SEGMENT_MARK_KEY]: true }; // a user object that looks like a mark
              case 'arr': { const a = x.xs.map(build); if (x.hole) a.length += 1; return a; }
              case 'obj': return Object.fromEntries(x.kv.map(([k, v]) => [k, build(v)]));
            }
          };
          const inner = build(sh);
          const result = shareTwice ? { first: inner, again: inner, tail: pool[0] } : { only: inner };
          const encoded = encodeResult(result);
          const moved = moveResult(structuredClone(encoded), big, task, into) as Record<string, unknown>;
          // Compare the decoded value with the original, segment by segment (by stamped content).
          const same = (orig: unknown, got: unknown): boolean => {
            if (orig === undefined || orig === null || typeof orig !== 'object') return Object.is(orig, got);
            const k = pool.indexOf(orig as MemorySegment);
            if (k >= 0) {
              // The task's segment objects went stale with the move: compare with what was recorded.
              return got instanceof Object && 'getUint32' in got && (got as MemorySegment).getUint32(0) === 1000 + k && (got as MemorySegment).index === indices[k];
            }
            if (Array.isArray(orig)) return Array.isArray(got) && got.length === orig.length && orig.every((e, i) => same(e, got[i]));
            const keys = Object.keys(orig);
            return typeof got === 'object' && got !== null && keys.length === Object.keys(got).length &&
              keys.every((k) => same((orig as Record<string, unknown>)[k], (got as Record<string, unknown>)[k]));
          };
          expect(same(result, moved)).toBe(true);
          if (shareTwice) expect(moved['again']).toBe(moved['first']); // shared stays shared
          const distinct = new Set(encoded.handles ?? []).size;
          expect(into.used).toBe(distinct * 4096);
          expect(task.used).toBe((6 - distinct) * 4096);
        } finally {
          task.close();
          into.close();
        }
      }),
      { numRuns: 300 },
    );
    expect(big.audit().ok).toBe(true);
    big.close();
  });

  it('a result whose marks do not match its handles moves nothing (regression: they were moved, then refused)', () => {
    const task = arena.lease({ name: 'task' });
    const into = arena.lease({ name: 'into' });
    const [a, b] = task.allocateMany(2) as [MemorySegment, MemorySegment];
    const encoded = encodeResult({ a, b });
    // One mark fewer than handles: as a hostile task could arrange.
    const tampered = structuredClone({ ...encoded, value: { a: encoded.mark, b: 0 } });
    expect(codeOf(() => moveResult(tampered, arena, task, into))).toBe('ERR_INTERNAL');
    expect(into.used).toBe(0);
    expect(task.used).toBe(2 * 4096);
    const other = new Arena({ size: '64KiB', segmentSize: 4096 });
    expect(codeOf(() => encodeResult({ list: [other.lease().allocate()] }, arena))).toBe('ERR_FOREIGN_SEGMENT');
    other.close();
    expect(encodeResult({ a }, arena).segments).toBe(1);
    task.close();
    into.close();
    expect(arena.audit().ok).toBe(true);
  });

  it('all or nothing: a failing move puts back what it moved', () => {
    const task = arena.lease();
    const into = arena.lease({ limit: 4096 });
    const segs = task.allocateMany(2);
    const cloned = structuredClone(encodeResult(segs));
    expect(() => moveResult(cloned, arena, task, into)).toThrow(expect.objectContaining({ code: 'ERR_LEASE_LIMIT' }));
    expect(into.used).toBe(0);
    expect(task.used).toBe(2 * 4096);
    task.close();
    into.close();
    expect(arena.audit().ok).toBe(true);
  });
});

describe('errors as data', () => {
  it('keeps code, name, message and cause; ArenaError codes come back as ArenaError', () => {
    const e = new ArenaError('ERR_LEASE_LIMIT', 'too much', { cause: Object.assign(new Error('root'), { code: 'E_ROOT' }) });
    const back = errorFromData(structuredClone(errorToData(e))) as ArenaError;
    expect(back).toBeInstanceOf(ArenaError);
    expect(back).toMatchObject({ code: 'ERR_LEASE_LIMIT', message: 'too much', name: 'ArenaError' });
    expect(back.cause).toMatchObject({ message: 'root', code: 'E_ROOT' });
    const odd = errorFromData(errorToData(Object.assign(new TypeError('bad'), { code: 'E_BAD' })));
    expect(odd).toMatchObject({ name: 'TypeError', message: 'bad', code: 'E_BAD' });
    expect(errorFromData(errorToData('a string')).message).toBe('a string');
  });
});

describe('StopFlags', () => {
  it('turns a raise into one onStop, at once if already raised, never after release', async () => {
    const flags = StopFlags.create(3);
    const f = flags.acquire();
    expect(f).toBeGreaterThanOrEqual(0);
    flags.arm(f);
    expect(Atomics.load(flags.i32, f)).toBe(RUN);
    let stops = 0;
    const release = flags.watch(f, () => stops++);
    flags.raise(f);
    expect(Atomics.load(flags.i32, f)).toBe(STOP);
    await new Promise((r) => setTimeout(r, 20));
    expect(stops).toBe(1);
    release();
    // Already raised when watched: synchronous.
    let now = 0;
    flags.watch(f, () => now++);
    expect(now).toBe(1);
    // Released before the raise: never called.
    const g = flags.acquire();
    flags.arm(g);
    let late = 0;
    flags.watch(g, () => late++)();
    flags.raise(g);
    await new Promise((r) => setTimeout(r, 20));
    expect(late).toBe(0);
    flags.release(f);
    flags.release(g);
  });
});
