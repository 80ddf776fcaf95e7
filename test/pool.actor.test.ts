/**
 * TaskManager.spawn (issue "TaskManager", Actors, with real worker threads): calls through
 * comlink, segments by handle in both directions (no bytes copied), errors with their code, the
 * actor's lease and slot budget released on close, and an actor whose thread dies.
 *
 * Actor fixture: test/fixtures/actors/counter.ts (built to dist/ by pretest).
 */
import { describe, expect, it } from 'vitest';
import { TaskManager, type ArenaError } from '../src/index.js';
import type counter from './fixtures/actors/counter.js';
import { rejection } from './helpers.js';

const COUNTER = new URL('../dist/test/fixtures/actors/counter.js', import.meta.url);
const BASIC = new URL('../dist/test/fixtures/tasks/basic.js', import.meta.url);
const SEG = 4096;
type Counter = ReturnType<typeof counter>;


describe('actors', () => {
  it('answers calls, exchanges segments by handle both ways, and releases its lease on close', async () => {
    const tm = new TaskManager({ arena: { size: '1MiB', segmentSize: SEG }, slots: 1, concurrentTasksPerSlot: 2 });
    const arena = tm.arena;
    const actor = await tm.spawn<Counter>(COUNTER, { memory: 16 * SEG });
    expect(actor.closed).toBe(false);
    expect(await actor.add(2)).toBe(2);
    expect(await actor.add(40)).toBe(42);
    expect(await actor.total).toBe(42);
    expect(await actor.where()).toMatchObject({ slot: 0, limit: 16 * SEG });
    // The actor holds its memory and one unit of its slot; tasks still run beside it.
    expect(tm.stats().slots[0]).toMatchObject({ running: 1, memoryReserved: 16 * SEG });
    expect(await tm.run(BASIC, 'beside')).toBe('beside');

    // Main → actor: the actor reads and writes the caller's segment in place.
    using mine = arena.lease({ name: 'main' });
    const seg = mine.allocate();
    seg.as(Float64Array).fill(1.5);
    const allocated = arena.stats().allocated;
    expect(await actor.sumAndMark(seg, 99)).toEqual({ sum: 1.5 * (SEG / 8 - 1), index: seg.index });
    expect(seg.getFloat64(SEG - 8)).toBe(99); // written by the actor's thread, seen here
    expect(mine.used).toBe(SEG); // ownership did not move
    expect(arena.stats().allocated).toBe(allocated); // and nothing was copied into new segments

    // Actor → main: a segment of the actor's lease arrives as a MemorySegment over the same bytes.
    const theirs = await actor.makeSegment(2.5);
    expect(theirs.constructor.name).toBe('MemorySegment');
    expect(theirs.getFloat64(0)).toBe(2.5);
    expect(theirs.getFloat64(SEG - 8)).toBe(2.5);
    expect(await actor.leaseUsed()).toBe(SEG);
    expect(arena.stats().allocated).toBe(allocated + 1);

    // Errors keep their code across the link.
    const e = await rejection(actor.overLimit());
    expect(e.code).toBe('ERR_LEASE_LIMIT');
    expect(e.message).toContain('cannot take 17 more segment(s)');

    await actor.close();
    expect(actor.closed).toBe(true);
    expect(theirs.released).toBe(true); // the actor's lease was closed: its segment went back
    expect(arena.stats().allocated).toBe(allocated);
    expect(tm.stats().slots[0]).toMatchObject({ running: 0, memoryReserved: 0, leaked: 1 });
    expect((await rejection(actor.add(1))).code).toBe('ERR_LEASE_CLOSED');
    await actor.close(); // idempotent

    const report = await tm.close();
    expect(report.audit.problems).toEqual([]);
  });

  it('a call in flight when the thread dies rejects with ERR_TASK_CRASHED; the lease is reclaimed', async () => {
    const tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1 });
    const actor = await tm.spawn<Counter>(COUNTER);
    await actor.makeSegment(1);
    expect(tm.arena.stats().allocated).toBe(1);
    const e = await rejection(actor.crash());
    expect(e.code).toBe('ERR_TASK_CRASHED');
    expect(actor.closed).toBe(true);
    expect(tm.arena.stats().allocated).toBe(0);
    expect((await rejection(actor.add(1))).code).toBe('ERR_TASK_CRASHED');
    await actor.close(); // nothing left to do, but it settles
    expect(tm.stats().slots[0]).toMatchObject({ crashed: 1, running: 0, memoryReserved: 0 });
    // The slot is free again: another actor starts on the replacement thread.
    const again = await tm.spawn<Counter>(COUNTER);
    expect(await again.add(1)).toBe(1);
    expect(tm.stats().slots[0]!.threads).toBe(2);
    const report = await tm.close(); // closes `again` too
    expect(report.audit.ok).toBe(true);
    expect(again.closed).toBe(true);
    const lease = tm.arena.lease();
    expect(lease.allocateMany(tm.arena.segmentCount)).toHaveLength(tm.arena.segmentCount);
  });

  it('a factory that throws rejects spawn with its error and frees the slot', async () => {
    await using tm = new TaskManager({ arena: { size: '256KiB', segmentSize: SEG }, slots: 1 });
    const e = await rejection(tm.spawn(COUNTER, { name: 'broken' }));
    expect(e.message).toBe('the actor cannot start');
    expect(tm.stats().slots[0]).toMatchObject({ running: 0, failed: 1, memoryReserved: 0 });
    expect(await tm.run(BASIC, 'next')).toBe('next');
  });
});
