/**
 * Regressions found by the independent review of src/core, each reproduced by simulating, in
 * one thread, the state another thread leaves behind (a popped surplus not yet pushed back, a
 * waiter that died). They reach into the core through the Arena's internal `core`.
 */
import { describe, expect, it } from 'vitest';
import { Arena, type ArenaOptions } from '../src/index.js';
import type { ArenaCore } from '../src/core/arena-core.js';
import { codeOf, expectAuditOk, rejectionCode, arenasClosedAfterEach } from './helpers.js';

const S = 4096;
const { arena, track } = arenasClosedAfterEach({ size: 4096, segmentSize: 4096 });
const coreOf = (a: Arena): ArenaCore => (a as unknown as { core: ArenaCore }).core;

describe('review regressions', () => {
  it('popExactly gives up on an empty list whose head still carries a tag (it used to spin forever)', () => {
    const a = arena({ size: 8 * S, segmentSize: S });
    const core = coreOf(a);
    // Another thread popped a batch without a claim and died holding it: the counts promise
    // one segment more than the list holds.
    const stranded = new Int32Array(32);
    expect(core.central.pop(stranded, 0)).toBe(1);
    const lease = a.lease();
    expect(lease.allocateMany(7)).toHaveLength(7);
    expect(codeOf(() => lease.allocate())).toBe('ERR_ARENA_EXHAUSTED'); // bounded, no hang
    expect(core.central.available()).toBe(0); // the shortfall was not counted back in
    lease.close();
    expect(a.repair()).toBe(1); // the stranded segment is found again from its STATE
    expect(a.lease().allocateMany(8)).toHaveLength(8);
    expectAuditOk(a);
  });

  it('a short pop in allocateMany never over-credits the free count (reservations stay safe)', () => {
    const a = arena({ size: 8 * S, segmentSize: S });
    const core = coreOf(a);
    const c = core.central;
    const r = a.lease({ name: 'r', reserve: 4 * S }); // 4 unreserved, 4 reserved
    // Re-shape the list: two single segments under a batch of six.
    const all = new Int32Array(32);
    const tmp = new Int32Array(32);
    let k = 0;
    for (let n = c.pop(tmp, 0); n > 0; n = c.pop(tmp, 0)) for (let j = 0; j < n; j++) all[k++] = tmp[j]!;
    c.push(all, 0, 1);
    c.push(all, 1, 1);
    c.push(all, 2, 6);
    // Thread B claims one and holds the popped six (descheduled for longer than A waits).
    expect(c.claim(1)).toBe(1);
    const held = new Int32Array(32);
    expect(c.pop(held, 0)).toBe(6);
    expect(codeOf(() => r.allocateMany(7))).toBe('ERR_ARENA_EXHAUSTED');
    // B resumes: pushes its surplus back and caches its one.
    c.push(held, 1, 5);
    core.cache.put(held[0]!);
    core.cache.flushAll();
    // The old undo raised W_AVAIL to 6 and let another lease take reserved segments.
    expect(c.available()).toBeLessThanOrEqual(4);
    expect(codeOf(() => a.lease().allocateMany(5))).toBe('ERR_ARENA_EXHAUSTED');
    a.repair();
    expectAuditOk(a);
    expect(r.allocateMany(4)).toHaveLength(4); // the reservation still holds
  });

  it('a grow listener that closes a lease cannot corrupt an allocation in progress (events are deferred)', async () => {
    const a = arena({ size: 64 * S, segmentSize: S, maxSize: 256 * S });
    const x = a.lease({ name: 'x' });
    const y = a.lease({ name: 'y' });
    y.allocateMany(8);
    x.release(x.allocate()); // this thread's cache holds one segment
    let ran = false;
    a.addEventListener('grow', () => {
      y.close();
      ran = true;
    }, { once: true });
    const got = x.allocateMany(57); // cache + central + growth
    expect(new Set(got.map((s) => s.index)).size).toBe(57);
    expect(coreOf(a).cache.count).toBeGreaterThanOrEqual(0);
    expectAuditOk(a);
    await Promise.resolve();
    expect(ran).toBe(true);
    expectAuditOk(a);
  });

  it('reclaiming a thread that died while waiting takes back its share of the waiter count', async () => {
    const a = arena({ size: 2 * S, segmentSize: S });
    a.lease().allocateMany(2);
    const b = Arena.attach(a.descriptor);
    const pending = b.lease().allocateAsync(1);
    expect(a.stats().waiters).toBe(1);
    a.reclaimThread(b.threadSlot); // as the TaskManager does after a worker died
    expect(a.stats().waiters).toBe(0);
    b.close(); // the (simulated) dead thread's queue ends without counting itself out twice
    expect(await rejectionCode(pending)).toBe('ERR_ARENA_CLOSED');
    expect(a.stats().waiters).toBe(0);
  });
});
