/**
 * TaskManager, running tasks (issue "TaskManager", with real worker threads): results and the
 * zero-copy move of their segments, the no-`into` policy, limits, leaks, errors as data, options,
 * memory-aware admission, the queue, and the built package's worker path.
 *
 * Task fixtures: test/fixtures/tasks/*.ts, run as built JavaScript from dist/ (pretest builds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Arena, TaskManager, type ArenaError, type MemorySegment } from '../src/index.js';
import {
  C_PEAK, C_PROGRESS, C_SLOT_USED, C_STARTED, bump, newCounters,
} from './fixtures/tasks/counters.js';
import { rejection } from './helpers.js';

const TASKS = new URL('../dist/test/fixtures/tasks/', import.meta.url);
const BASIC = new URL('basic.js', TASKS);
const LIFECYCLE = new URL('lifecycle.js', TASKS);
const ADMISSION = new URL('admission.js', TASKS);
const SEG = 4096;


function expectQuiescentAudit(arena: Arena): void {
  const report = arena.audit();
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}

describe('TaskManager options', () => {
  it('rejects malformed options with ERR_INVALID_OPTION, naming the option', () => {
    const arena = { size: '256KiB', segmentSize: '4KiB' };
    const code = (o: object): { code: string; message: string } => {
      try {
        new TaskManager(o);
      } catch (e) {
        return { code: (e as ArenaError).code, message: (e as Error).message };
      }
      throw new Error('expected a throw');
    };
    expect(code({ arena, slots: 0 })).toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining("'slots'") });
    expect(code({ arena, slots: 2, slotMemory: '256KiB' })).toMatchObject({
      code: 'ERR_INVALID_OPTION', message: expect.stringContaining("'slotMemory'"),
    });
    expect(code({ arena, slotMemory: '1KiB' }).code).toBe('ERR_INVALID_OPTION');
    expect(code({ arena, slotHeap: 1000 }).message).toContain("'slotHeap'");
    expect(code({ arena, abortGrace: -1 }).message).toContain("'abortGrace'");
    expect(code({ arena, maxQueue: 1.5 }).message).toContain("'maxQueue'");
    expect(code({ arena, concurrentTasksPerSlot: 0 }).message).toContain("'concurrentTasksPerSlot'");
    expect(code({ arena, workers: 2 }).message).toContain("'workers'");
    expect(code({ arena: { size: '100KiB', segmentSize: '64KiB' } }).code).toBe('ERR_INVALID_OPTION');
  });
});

describe('TaskManager.run', () => {
  let tm: TaskManager;
  let arena: Arena;

  beforeAll(() => {
    tm = new TaskManager({ arena: { size: '1MiB', segmentSize: SEG }, slots: 2 });
    arena = tm.arena;
  });

  afterAll(async () => {
    const report = await tm.close();
    expect(report.audit.problems).toEqual([]);
    expect(report.stats.totals.running).toBe(0);
  });

  it('calls the default export or a named one, with a context', async () => {
    expect(await tm.run(BASIC, { a: [1, 'two'] })).toEqual({ a: [1, 'two'] });
    const where = await tm.run<{ threadId: number; slot: number; taskId: number; limit: number }>(BASIC, null, { name: 'whereAmI' });
    expect(where.slot).toBe(0); // an idle pool places on the lowest slot
    expect(where.limit).toBe(tm.options.slotMemory); // default memory: slotMemory / concurrentTasksPerSlot
    expect(tm.options.slotMemory).toBe(512 * 1024);
    const limited = await tm.run<{ limit: number }>(BASIC, null, { name: 'whereAmI', memory: '10KiB' });
    expect(limited.limit).toBe(8 * 1024); // rounded down to whole segments
    // Paths work as well as URLs.
    expect(await tm.run(BASIC.pathname, 5)).toBe(5);
  });

  it('moves the segments of a result into `into`: same segments, same bytes, no copy', async () => {
    const before = arena.stats().allocated;
    using into = arena.lease({ name: 'results' });
    const r = await tm.run<{
      indices: number[]; top: MemorySegment; list: [MemorySegment, { deep: { deeper: [MemorySegment] } }];
      again: MemorySegment; plain: string;
    }>(BASIC, { stamp: 700 }, { name: 'nested', into });
    const [a, b, c] = [r.top, r.list[0], r.list[1].deep.deeper[0]];
    for (const s of [a, b, c]) expect(s.constructor.name).toBe('MemorySegment');
    // The very segments the task allocated: indices unchanged, bytes written there visible here.
    expect([a.index, b.index, c.index]).toEqual(r.indices);
    expect([a.getUint32(0), b.getUint32(0), c.getUint32(0)]).toEqual([700, 701, 702]);
    expect(c.getFloat64(SEG - 8)).toBe(Math.PI);
    expect(r.again).toBe(a); // one segment referenced twice arrives as one object
    expect(r.plain).toBe('text');
    // Owned and charged by `into` now; nothing else was allocated (a copy would need segments).
    expect(into.used).toBe(3 * SEG);
    expect(arena.stats().allocated).toBe(before + 3);
    into.release([a, b, c]);
    expect(arena.stats().allocated).toBe(before);
  });

  it('a lone segment result arrives as a MemorySegment', async () => {
    using into = arena.lease();
    const seg = await tm.run<MemorySegment>(BASIC, 2.5, { name: 'oneSegment', into });
    expect(seg.getFloat64(0)).toBe(2.5);
    expect(into.used).toBe(SEG);
  });

  it('a result holding segments without `into` rejects with ERR_INVALID_ARGUMENT and releases them', async () => {
    const before = arena.stats().allocated;
    const leakedBefore = tm.stats().totals.leaked;
    const e = await rejection(tm.run(BASIC, { stamp: 1 }, { name: 'nested' }));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toContain("'into'");
    expect(arena.stats().allocated).toBe(before);
    expect(tm.stats().totals.leaked).toBe(leakedBefore + 3);
  });

  it('a full or closed `into` fails the run and moves nothing', async () => {
    const before = arena.stats().allocated;
    using small = arena.lease({ limit: 2 * SEG });
    expect((await rejection(tm.run(BASIC, { stamp: 1 }, { name: 'nested', into: small }))).code).toBe('ERR_LEASE_LIMIT');
    expect(small.used).toBe(0); // all or nothing: the two that fitted went back
    expect(arena.stats().allocated).toBe(before);
    const closed = arena.lease();
    closed.close();
    expect((await rejection(tm.run(BASIC, 1, { name: 'oneSegment', into: closed }))).code).toBe('ERR_LEASE_CLOSED');
  });

  it('a task hitting its limit gets ERR_LEASE_LIMIT inside, and its slot runs the next task', async () => {
    const first = await tm.run<{ threadId: number }>(BASIC, null, { name: 'whereAmI' });
    const r = await tm.run<{ code: string; got: number; limit: number }>(BASIC, null, { name: 'untilLimit', memory: 5 * SEG });
    expect(r).toEqual({ code: 'ERR_LEASE_LIMIT', got: 5, limit: 5 });
    const next = await tm.run<{ threadId: number; slot: number }>(BASIC, null, { name: 'whereAmI' });
    expect(next).toMatchObject({ threadId: first.threadId, slot: 0 });
    expect(tm.stats().slots[0]!.crashed).toBe(0);
  });

  it('errors cross as data: the original code, name and message', async () => {
    const limit = await rejection(tm.run(BASIC, null, { name: 'overLimit', memory: 3 * SEG }));
    expect(limit.code).toBe('ERR_LEASE_LIMIT');
    expect(limit.name).toBe('ArenaError');
    expect(limit.message).toMatch(/cannot take 4 more segment\(s\): it holds 0 of at most 3/);
    expect((await rejection(tm.run(BASIC, null, { name: 'outOfBounds' }))).code).toBe('ERR_OUT_OF_BOUNDS');
    const custom = await rejection(tm.run(BASIC, null, { name: 'customCode' }));
    expect(custom).toMatchObject({ code: 'E_CUSTOM', message: 'custom failure' });
    expect((custom.cause as Error).message).toBe('the root cause');
    expect(await rejection(tm.run(BASIC, null, { name: 'arenaError' }))).toMatchObject({
      code: 'ERR_TIMEOUT', name: 'ArenaError', message: 'the task gave up',
    });
    const missing = await rejection(tm.run(BASIC, null, { name: 'noSuchExport' }));
    expect(missing.code).toBe('ERR_INVALID_ARGUMENT');
  });

  it("reclaims what a task leaks before the run settles, and counts it", async () => {
    const before = arena.stats().allocated;
    const leaked = tm.stats().totals.leaked;
    const seen = await tm.run(BASIC, 5, { name: 'leak' }).then((r) => ({ r, allocated: arena.stats().allocated }));
    expect(seen).toEqual({ r: { used: 5 * SEG }, allocated: before });
    const e = await rejection(tm.run(BASIC, 4, { name: 'leakAndThrow' }).finally(() => {
      expect(arena.stats().allocated).toBe(before);
    }));
    expect(e.message).toBe('failed after allocating 4');
    expect(tm.stats().totals.leaked).toBe(leaked + 9);
  });

  it('refuses at once what no slot could run, and malformed arguments', async () => {
    const run = tm.stats().totals.run;
    const big = await rejection(tm.run(BASIC, null, { memory: tm.options.slotMemory + SEG }));
    expect(big.code).toBe('ERR_INVALID_ARGUMENT');
    expect(big.message).toContain("'memory'");
    expect((await rejection(tm.run(BASIC, null, { memory: -1 }))).code).toBe('ERR_INVALID_ARGUMENT');
    expect((await rejection(tm.run('https://example.com/task.js'))).code).toBe('ERR_INVALID_ARGUMENT');
    expect((await rejection(tm.run(new URL('https://example.com/task.js')))).code).toBe('ERR_INVALID_ARGUMENT');
    expect((await rejection(tm.run(BASIC, null, { timeout: 5 } as object))).code).toBe('ERR_INVALID_ARGUMENT');
    const other = new Arena({ size: '64KiB', segmentSize: SEG });
    expect((await rejection(tm.run(BASIC, null, { into: other.lease() }))).code).toBe('ERR_INVALID_ARGUMENT');
    other.close();
    expect(tm.stats().totals.run).toBe(run); // none of them started
  });

  it('a result or input that cannot be copied fails the task, not the thread', async () => {
    const threads = tm.stats().totals.threads;
    expect((await rejection(tm.run(BASIC, null, { name: 'returnsFunction' }))).code).toBe('ERR_INVALID_ARGUMENT');
    const e = await rejection(tm.run(BASIC, { f: () => 1 }));
    expect(e.name).toBe('DataCloneError');
    expect(tm.stats().totals.threads).toBe(threads);
    expect(tm.stats().totals.crashed).toBe(0);
    expect(await tm.run(BASIC, 'still fine')).toBe('still fine');
  });

  it("a result whose `then` getter throws fails the task and still ends it (regression: the slot's cache was not flushed)", async () => {
    // A fresh TaskManager: no earlier drain request makes the slot flush on its own.
    const own = new TaskManager({ arena: { size: '1MiB', segmentSize: SEG }, slots: 1 });
    try {
      // Twice: the first task of a thread may flush on its own (its first release answers a
      // drain request); the second one's released segments stay cached unless the task ends.
      for (let i = 0; i < 2; i++) {
        const e = await rejection(own.run(BASIC, 3, { name: 'throwingThen' }));
        expect(e.message).toBe('then getter');
        // The task released 3 segments into its thread's cache; ending the task flushes it.
        expect(own.stats().arena.cached).toBe(0);
      }
      expect(own.stats().totals.crashed).toBe(0);
      expect(await own.run(BASIC, 'next')).toBe('next');
    } finally {
      await own.close();
    }
  });

  it("a segment of another arena in a result is refused (ERR_FOREIGN_SEGMENT): its handle would name one of this arena's", async () => {
    expect((await rejection(tm.run(BASIC, null, { name: 'foreignSegment' }))).code).toBe('ERR_FOREIGN_SEGMENT');
    expect(tm.stats().totals.crashed).toBe(0);
  });

  it('stats: per slot and totals, with the arena', async () => {
    const s = tm.stats();
    expect(s.slots).toHaveLength(2);
    for (const slot of s.slots) {
      expect(slot).toMatchObject({ ready: true, threads: 1, running: 0, memoryUsed: 0, memoryReserved: 0, memoryLimit: 512 * 1024 });
      expect(slot.memoryPeak).toBeLessThanOrEqual(slot.memoryLimit);
      expect(slot.run).toBe(slot.succeeded + slot.failed + slot.crashed + slot.aborted);
    }
    expect(s.totals.run).toBeGreaterThan(10);
    expect(s.totals.queued).toBe(0);
    expect(s.arena.segmentCount).toBe(256);
  });
});

describe('admission', () => {
  /** 2 slots × 4 segments, up to 4 tasks per slot by concurrency: memory is what limits. */
  const make = (extra: object = {}): TaskManager =>
    new TaskManager({
      arena: { size: '256KiB', segmentSize: SEG }, slots: 2, slotMemory: 4 * SEG, concurrentTasksPerSlot: 4, ...extra,
    });

  it('never runs more at once than slot memory allows (peak measured with a shared counter)', async () => {
    await using tm = make();
    const c = newCounters();
    // 12 tasks of 2 segments: memory allows 2 per slot, 4 in all (concurrency alone would allow 8).
    // The first four wait for each other (a barrier), so the peak reaches 4 if admission allows it.
    const runs = Array.from({ length: 12 }, () =>
      tm.run<{ slot: number; segments: number }>(ADMISSION, { counters: c.buffer, barrier: 4, barrierMs: 10_000, holdMs: 10 }, { memory: 2 * SEG }));
    const results = await Promise.all(runs);
    expect(results.every((r) => r.segments === 2)).toBe(true);
    expect(Atomics.load(c, C_PEAK)).toBe(4);
    expect(Atomics.load(c, C_SLOT_USED + 1)).toBeLessThanOrEqual(4); // slot 0's peak, in segments
    expect(Atomics.load(c, C_SLOT_USED + 3)).toBeLessThanOrEqual(4); // slot 1's peak
    const s = tm.stats();
    for (const slot of s.slots) expect(slot.memoryPeak).toBe(4 * SEG);
    expect(s.totals.succeeded).toBe(12);
  });

  it('mixed sizes: the memory on a slot never exceeds slotMemory, and large tasks are not starved', async () => {
    await using tm = make();
    const c = newCounters();
    const sizes = [4, 1, 2, 3, 1, 4, 2, 1, 3, 1, 4, 2];
    const results = await Promise.all(sizes.map((n) =>
      tm.run<{ slot: number; segments: number }>(ADMISSION, { counters: c.buffer, barrier: 0, barrierMs: 0, holdMs: 15 }, { memory: n * SEG })));
    expect(results.map((r) => r.segments)).toEqual(sizes); // every task got (and filled) its memory
    for (const slot of [0, 1]) {
      const peak = Atomics.load(c, C_SLOT_USED + 2 * slot + 1);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(4);
    }
    expect(Atomics.load(c, C_PEAK)).toBeLessThanOrEqual(8);
  });

  it('rejects with ERR_QUEUE_FULL past maxQueue; an aborted queued task never runs', async () => {
    await using tm = make({ slots: 1, concurrentTasksPerSlot: 1, maxQueue: 3 });
    expect(await tm.run(BASIC, 'warm')).toBe('warm'); // the slot's thread is ready: nothing waits
    const c = newCounters();
    const gate = tm.run(LIFECYCLE, { counters: c.buffer, hold: 1 }, { name: 'gated' }); // runs, holds the slot
    const queued = [tm.run(BASIC, 'q1'), tm.run(BASIC, 'q2')];
    const ac = new AbortController();
    const abortable = tm.run(LIFECYCLE, { counters: c.buffer, hold: 1 }, { name: 'gated', signal: ac.signal });
    const full = await rejection(tm.run(BASIC, 'q4'));
    expect(full.code).toBe('ERR_QUEUE_FULL');
    expect(tm.stats().totals).toMatchObject({ queued: 3, rejected: 1 });
    // Abort a queued run: it leaves the queue at once, with the reason as cause.
    const reason = new Error('changed my mind');
    ac.abort(reason);
    const e = await rejection(abortable);
    expect(e.code).toBe('ERR_ABORTED');
    expect(e.cause).toBe(reason);
    expect(tm.stats().totals.queued).toBe(2);
    bump(c, C_PROGRESS); // open the gate
    expect(await gate).toBe('passed the gate');
    expect(await Promise.all(queued)).toEqual(['q1', 'q2']);
    expect(Atomics.load(c, C_STARTED)).toBe(1); // the aborted one never started
    // An already aborted signal: refused before admission.
    expect((await rejection(tm.run(BASIC, 1, { signal: AbortSignal.abort('no') }))).code).toBe('ERR_ABORTED');
    expect(tm.stats().totals.aborted).toBe(2);
  });
});

describe('the built package', () => {
  it('finds dist/workers/slot.js from dist/src/pool (as a user importing the package does)', async () => {
    const url = new URL('../dist/src/index.js', import.meta.url).href;
    const built = (await import(url)) as typeof import('../src/index.js');
    await using tm = new built.TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1 });
    expect(await tm.run(BASIC, 'from dist')).toBe('from dist');
    const report = await tm.close();
    expect(report.audit.ok).toBe(true);
  });

  it('run() and spawn() after close reject', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1 });
    const report = await tm.close();
    expect(report.repaired).toBe(0);
    expectQuiescentAudit(tm.arena);
    expect((await rejection(tm.run(BASIC, 1))).code).toBe('ERR_ARENA_CLOSED');
    expect((await rejection(tm.spawn(BASIC))).code).toBe('ERR_ARENA_CLOSED');
    expect(await tm.close()).toBe(report); // idempotent
  });
});
