/**
 * The pool's small parts, on the main thread: admission (invariants against a random workload),
 * the result codec, errors as data, and the stop flags.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arena, ArenaError, type MemorySegment } from '../src/index.js';
import { Admission } from '../src/pool/admission.js';
import { errorFromData, errorToData } from '../src/pool/pool-errors.js';
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
    const { value, segments } = encodeResult(result);
    expect(segments).toBe(3);
    expect(result.list[0]).toBe(a); // the task's own object is not modified
    const enc = value as { untouched: unknown; list: [Record<string, number>, { b: Record<string, number> }] };
    expect(enc.untouched).toBe(untouched); // no segment inside: not copied
    expect(enc.list[0]).toEqual({ [SEGMENT_MARK_KEY]: a.handle });
    const cloned = structuredClone(value);
    const moved = moveResult(cloned, segments, arena, task, into) as { list: [MemorySegment, { b: MemorySegment; again: MemorySegment }] };
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

  it('all or nothing: a failing move puts back what it moved', () => {
    const task = arena.lease();
    const into = arena.lease({ limit: 4096 });
    const segs = task.allocateMany(2);
    const cloned = structuredClone(encodeResult(segs).value);
    expect(() => moveResult(cloned, 2, arena, task, into)).toThrow(expect.objectContaining({ code: 'ERR_LEASE_LIMIT' }));
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
