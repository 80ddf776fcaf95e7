/**
 * TaskManager, when things go wrong (issue "TaskManager", with real worker threads): every way a
 * slot's thread can die, cooperative abort and the forced kill after the grace period, and the
 * promise that nothing is ever lost — after close() a fresh lease can allocate every segment.
 *
 * Task fixtures: test/fixtures/tasks/lifecycle.ts (built to dist/ by pretest).
 */
import { describe, expect, it } from 'vitest';
import { TaskManager, type ArenaError } from '../src/index.js';
import { C_CACHED, C_PROGRESS, C_SAW_ABORT, C_SLOT, C_STARTED, newCounters, waitAtLeast } from './fixtures/tasks/counters.js';
import { rejection } from './helpers.js';

const TASKS = new URL('../dist/test/fixtures/tasks/', import.meta.url);
const BASIC = new URL('basic.js', TASKS);
const LIFECYCLE = new URL('lifecycle.js', TASKS);
const SEG = 4096;


/** Poll `cond` every few ms until it holds; fail after `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** After close(): the audit is clean and one lease on the main thread takes every segment. */
async function expectNothingLost(tm: TaskManager): Promise<void> {
  const report = await tm.close();
  expect(report.audit.problems).toEqual([]);
  expect(report.audit.ok).toBe(true);
  expect(report.audit.allocated).toBe(0);
  const lease = tm.arena.lease({ name: 'everything' });
  expect(lease.allocateMany(tm.arena.segmentCount)).toHaveLength(tm.arena.segmentCount);
  expect(lease.close()).toBe(tm.arena.segmentCount);
}

const where = (tm: TaskManager): Promise<{ threadId: number; slot: number }> => tm.run(BASIC, null, { name: 'whereAmI' });

describe('a slot thread that dies', () => {
  it('process.exit, an exception in a timer, heap exhaustion: ERR_TASK_CRASHED, memory back, slot replaced', async () => {
    const tm = new TaskManager({ arena: { size: '1MiB', segmentSize: SEG }, slots: 1, slotHeap: '32MiB' });
    const c = newCounters();
    const modes: [string, (cause: { message?: string; code?: string }) => void][] = [
      ['exit', (cause) => expect(cause.message).toContain('code: 7')],
      ['timerThrow', (cause) => expect(cause.message).toBe('thrown in a timer')],
      ['heapBomb', (cause) => expect(cause.code).toBe('ERR_WORKER_OUT_OF_MEMORY')],
    ];
    for (const [i, [name, checkCause]] of modes.entries()) {
      const before = await where(tm);
      const e = await rejection(
        tm.run(LIFECYCLE, { counters: c.buffer, hold: 5 }, { name }).finally(() => {
          // Settled only after the task's segments went back.
          expect(tm.arena.stats().allocated).toBe(0);
        }),
      );
      expect(e.code).toBe('ERR_TASK_CRASHED');
      checkCause(e.cause as { message?: string; code?: string });
      expect(Atomics.load(c, C_STARTED)).toBe(i + 1); // it did start (and allocate) before dying
      const after = await where(tm);
      expect(after.slot).toBe(0);
      expect(after.threadId).not.toBe(before.threadId); // a new thread took the slot over
    }
    const s = tm.stats();
    expect(s.slots[0]).toMatchObject({ crashed: 3, threads: 4, leaked: 15, running: 0 });
    await expectNothingLost(tm);
  });

  it("gives back the dead thread's cached segments", async () => {
    // One slot: the task's thread is the only one that caches (the main thread flushes on lease
    // close). The task reports what is cached just before its thread exits.
    const tm = new TaskManager({ arena: { size: '1MiB', segmentSize: SEG }, slots: 1 });
    const c = newCounters();
    await rejection(tm.run(LIFECYCLE, { counters: c.buffer, hold: 5 }, { name: 'exit' }));
    const cachedAtDeath = Atomics.load(c, C_CACHED);
    expect(cachedAtDeath).toBeGreaterThan(0); // allocation refills the cache in batches
    const s = tm.stats();
    expect(s.totals.reclaimed).toBe(cachedAtDeath);
    expect(s.arena.cached).toBe(0); // nobody else caches: the main thread flushes on lease close
    expect(s.arena.free).toBe(256);
    await expectNothingLost(tm);
  });

  it('a thread that dies idle (a timer thrown after its task) is replaced too', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1 });
    expect(await tm.run(LIFECYCLE, { ms: 20 }, { name: 'timeBomb' })).toBe('armed');
    await until(() => tm.stats().slots[0]!.threads === 2 && tm.stats().slots[0]!.ready);
    expect(await tm.run(BASIC, 'after')).toBe('after');
    expect(tm.stats().totals.crashed).toBe(0); // no task was running
    await expectNothingLost(tm);
  });

  it('terminate() at arbitrary instants in the middle of allocating loses nothing', async () => {
    // Two slots: one churns allocations and is killed, the other keeps working meanwhile.
    const tm = new TaskManager({ arena: { size: '512KiB', segmentSize: SEG }, slots: 2, concurrentTasksPerSlot: 1 });
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 6; round++) {
      const c = newCounters();
      const churning = tm.run(LIFECYCLE, { counters: c.buffer, hold: 12 }, { name: 'churn' });
      const bystander = tm.run(BASIC, 3, { name: 'leak' });
      expect(await waitAtLeast(c, C_STARTED, 1, 10_000)).toBe(true);
      await waitAtLeast(c, C_PROGRESS, 1 + Math.floor(next() * 20), 2_000); // some thousands of operations in
      await tm.terminateSlot(Atomics.load(c, C_SLOT));
      expect((await rejection(churning)).code).toBe('ERR_TASK_CRASHED');
      expect(await bystander).toEqual({ used: 3 * SEG });
    }
    expect(tm.stats().totals.crashed).toBe(6);
    const report = await tm.close();
    expect(report.audit.problems).toEqual([]);
    expect(report.stats.totals.repaired).toBe(report.repaired);
    const lease = tm.arena.lease();
    expect(lease.allocateMany(tm.arena.segmentCount)).toHaveLength(tm.arena.segmentCount);
    lease.close();
  });

  it('threads that cannot even start (slotHeap too small): runs reject instead of waiting forever', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1, slotHeap: '1MiB' });
    const first = await rejection(tm.run(BASIC, 1));
    expect(first.code).toBe('ERR_TASK_CRASHED');
    // piscina stops replacing threads that die while starting; queued and later runs fail too.
    expect((await rejection(tm.run(BASIC, 2))).code).toBe('ERR_TASK_CRASHED');
    await until(() => tm.stats().totals.running === 0);
    const report = await tm.close();
    expect(report.audit.ok).toBe(true);
    expect(report.audit.allocated).toBe(0);
  });
});

describe('abort', () => {
  it('cooperative: the task sees ctx.signal, the run rejects with ERR_ABORTED, the thread lives on', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1, abortGrace: 10_000 });
    const c = newCounters();
    const before = await where(tm);
    const ac = new AbortController();
    const reason = { why: 'user pressed stop' };
    const run = tm.run(LIFECYCLE, { counters: c.buffer, hold: 3 }, { name: 'cooperative', signal: ac.signal });
    await waitAtLeast(c, C_STARTED, 1, 10_000);
    ac.abort(reason);
    const e = await rejection(run); // even though the task returned a value
    expect(e.code).toBe('ERR_ABORTED');
    expect(e.cause).toBe(reason);
    expect(Atomics.load(c, C_SAW_ABORT)).toBe(1);
    expect(tm.arena.stats().allocated).toBe(0);
    expect(await where(tm)).toMatchObject({ threadId: before.threadId, slot: 0 }); // same thread: nobody was killed
    expect(tm.stats().slots[0]).toMatchObject({ aborted: 1, killed: 0, crashed: 0, leaked: 3, threads: 1 });
    await expectNothingLost(tm);
  });

  it('a task that ignores its signal is killed after the grace period', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1, abortGrace: 100 });
    const c = newCounters();
    const before = await where(tm);
    const ac = new AbortController();
    const run = tm.run(LIFECYCLE, { counters: c.buffer, hold: 4 }, { name: 'stubborn', signal: ac.signal });
    await waitAtLeast(c, C_STARTED, 1, 10_000);
    ac.abort('enough');
    const e = await rejection(run);
    expect(e.code).toBe('ERR_ABORTED');
    expect(e.cause).toBe('enough');
    expect(Atomics.load(c, C_SAW_ABORT)).toBe(1); // it was told, and ignored it
    expect(tm.arena.stats().allocated).toBe(0);
    expect(tm.stats().slots[0]).toMatchObject({ aborted: 1, killed: 1, crashed: 0, leaked: 4 });
    expect((await where(tm)).threadId).not.toBe(before.threadId);
    expect(tm.stats().slots[0]!.threads).toBe(2); // the killed thread was replaced
    await expectNothingLost(tm);
  });
});

describe('abort of a request its thread has not begun', () => {
  it('regression: never kills the busy thread (the innocent running task completes)', async () => {
    // 1 slot x 2: task A keeps the thread busy without yielding and is never aborted; task B is
    // posted to the same thread, waits behind A, and is aborted at once. Before the fix the
    // grace timer killed the thread and A crashed with ERR_TASK_CRASHED.
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1, concurrentTasksPerSlot: 2, abortGrace: 50 });
    try {
      const a = tm.run<number>(BASIC, 600, { name: 'busy' });
      await new Promise((r) => setTimeout(r, 100)); // A has begun and holds the thread
      const ac = new AbortController();
      const b = tm.run(BASIC, 1, { name: 'busy', signal: ac.signal });
      ac.abort('not needed');
      const errB = await rejection(b);
      expect(errB.code).toBe('ERR_ABORTED');
      expect(errB.cause).toBe('not needed');
      expect(await a).toBe(600); // A finished: its thread was not killed
      const st = tm.stats();
      expect(st.totals.crashed).toBe(0);
      expect(st.totals.killed).toBe(0);
    } finally {
      const report = await tm.close();
      expect(report.audit.problems).toEqual([]);
    }
  });
});
