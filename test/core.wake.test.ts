/**
 * Lost wakes in allocateAsync: a waiter must be woken after the LAST write of a release that
 * can make its attempt succeed (src/core/waiters.ts, "Rule").
 *
 * Both tests run with `unsafeDisableWaitPoll` (test-only): the waiter then never re-checks on
 * its own timer, so a lost wake is a hang until the request's timeout (ERR_TIMEOUT) instead of
 * a 100 ms delay. The timeout only bounds the failing case; with the fix the waiter is woken
 * at once. No assertion depends on timing.
 *
 * 1. Shared unlimited lease (the bug a benchmark found). One lease whose limit is the whole
 *    arena holds every segment and is shared by two threads; the waiter, in a worker, waits on
 *    it. A release wakes the waiters when it gives the segment back (cache flush: give, then
 *    afterGive), BEFORE it uncharges the lease (lease.ts: recycle, then uncharge). A waiter
 *    that retries in between still finds the lease full (over its limit, which for an
 *    unlimited lease reads as exhaustion), re-arms on the epoch that wake just bumped, and
 *    nothing bumped it again. The main thread makes that interleaving happen every time: it
 *    wraps Atomics.notify so that a notify on W_EPOCH that woke the waiter while the lease is
 *    still charged (recycled, not yet uncharged) blocks until the waiter has retried and armed
 *    its next wait (test/fixtures/wake-waiter-worker.ts reports each armed wait).
 * 2. A release behind a reservation (returnToReservation: push, then restore RES_USED) gave
 *    nothing to W_AVAIL and so woke nobody: a waiter on that lease, which can draw on its
 *    reservation again, slept until the re-check. No race is needed: one thread shows it.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Arena, type Lease } from '../src/index.js';
import { W_EPOCH } from '../src/core/layout.js';
import type { WakeWaiterData, WakeWaiterReport } from './fixtures/wake-waiter-worker.js';
import { arenasClosedAfterEach, expectAuditOk } from './helpers.js';

const S = 4096;
const WORKER_URL = new URL('../dist/test/fixtures/wake-waiter-worker.js', import.meta.url);
/** How long a waiter waits before it gives up (ERR_TIMEOUT): only the failing case waits it out. */
const WAIT_MS = 3000;
/** Upper bound for one hand-off between the threads (a hung worker fails the test, not the run). */
const HANDOFF_MS = 20_000;

const { arena, track } = arenasClosedAfterEach({ size: 2 * S, segmentSize: S });

/** Start the waiter worker on `lease` (it waits for `count` segments; `sync` counts its armed waits). */
function startWaiter(a: Arena, lease: Lease, count: number): {
  sync: Int32Array; worker: Worker; exited: Promise<unknown[]>; reported: Promise<[WakeWaiterReport]>;
} {
  if (!existsSync(WORKER_URL)) throw new Error(`${fileURLToPath(WORKER_URL)} is missing: run \`npm run build\` first`);
  const sync = new Int32Array(new SharedArrayBuffer(4));
  const data: WakeWaiterData = { arena: a.descriptor, lease: lease.descriptor, sync: sync.buffer, timeout: WAIT_MS, count };
  const worker = new Worker(WORKER_URL, { workerData: data });
  return { sync, worker, exited: once(worker, 'exit'), reported: once(worker, 'message') as Promise<[WakeWaiterReport]> };
}

describe('allocateAsync: no lost wake after a release (regression: ~100 ms waits)', () => {
  it('a waiter on a shared unlimited lease that retries between the release\'s wake and its uncharge is woken again', async () => {
    const a = arena({ size: 2 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    const lease = a.lease({ name: 'shared' }); // no limit: the whole arena
    const held = lease.allocateMany(2); // every segment
    const { sync, worker, exited, reported } = startWaiter(a, lease, 1);
    try {
      // The waiter tried, found the lease full, and sleeps on the epoch.
      const first = Atomics.waitAsync(sync, 0, 0, HANDOFF_MS);
      if (first.async) await first.value;
      expect(Atomics.load(sync, 0)).toBe(1);

      // Release one segment, holding this thread after each wake that reached the waiter while
      // the lease is still charged, until the waiter has retried and armed its next wait.
      const control = a.descriptor.control;
      const realNotify = Atomics.notify;
      let heldInWindow = 0;
      let missed = 0;
      Atomics.notify = ((target: Int32Array, index: number, count?: number): number => {
        // Read both BEFORE the notify: once notified, the waiter may retry (and charge, or
        // arm its next wait) before this thread reads anything.
        const recycledNotUncharged = target.buffer === control && index === W_EPOCH && lease.used === 2 * S;
        const armed = Atomics.load(sync, 0);
        const woken = realNotify(target, index, count);
        if (woken > 0 && recycledNotUncharged) {
          heldInWindow++;
          const deadline = Date.now() + HANDOFF_MS;
          while (Atomics.load(sync, 0) === armed && Date.now() < deadline) Atomics.wait(sync, 0, armed, 100);
          if (Atomics.load(sync, 0) === armed) missed++;
        }
        return woken;
      }) as typeof Atomics.notify;
      try {
        lease.release(held[0]!);
      } finally {
        Atomics.notify = realNotify;
      }
      // The interleaving happened: the waiter retried inside the window and went back to sleep.
      expect(heldInWindow).toBeGreaterThan(0);
      expect(missed).toBe(0);
      expect(Atomics.load(sync, 0)).toBe(1 + heldInWindow);

      // Without the wake after the uncharge nothing wakes it again: ERR_TIMEOUT after WAIT_MS.
      const [report] = await reported;
      expect(report.code).toBe('ok');
      expect(report.arms).toBe(1 + heldInWindow);
      await exited; // the worker closed its arena context
    } finally {
      await worker.terminate(); // a no-op once it exited; ends it if an expectation failed first
    }
    expect(lease.used).toBe(S); // the waiter released what it got
    expectAuditOk(a);
  }, HANDOFF_MS * 3);

  it('a release that goes back behind a reservation wakes a waiter on that lease', async () => {
    const a = arena({ size: 4 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    const r = a.lease({ name: 'r', reserve: 2 * S });
    a.lease({ name: 'general' }).allocateMany(2); // the unreserved segments
    const mine = r.allocateMany(2); // both drawn from r's reservation
    const b = track(Arena.attach(a.descriptor)); // the waiter's context (another thread would do the same)
    const waiting = b.attachLease(r.descriptor).allocateAsync(1, { timeout: WAIT_MS });
    expect(a.stats().waiters).toBe(1);
    r.release(mine[0]!); // back behind the reservation: W_AVAIL does not move
    const got = await waiting; // without the wake after the uncharge: ERR_TIMEOUT
    expect(got).toHaveLength(1);
    expect(a.stats().waiters).toBe(0);
    b.attachLease(r.descriptor).release(got);
    b.flushCache();
    r.release(mine[1]!);
    expectAuditOk(a);
  });

  it('closing a lease that holds nothing wakes its waiters at once (ERR_LEASE_CLOSED)', async () => {
    const a = arena({ size: 2 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    a.lease({ name: 'hog' }).allocateMany(2); // the arena is exhausted by another lease
    const idle = a.lease({ name: 'idle' });
    const b = track(Arena.attach(a.descriptor)); // the waiter's context
    const waiting = b.attachLease(idle.descriptor).allocateAsync(1, { timeout: WAIT_MS });
    const outcome = waiting.then(() => 'ok', (e: unknown) => (e as { code?: string }).code);
    expect(a.stats().waiters).toBe(1);
    idle.close(); // gives nothing back: without its own wake the waiter sleeps until ERR_TIMEOUT
    expect(await outcome).toBe('ERR_LEASE_CLOSED');
    expect(a.stats().waiters).toBe(0);
    expectAuditOk(a);
  });

  it('a waiter whose refused attempt gives back what it claimed does not wake itself (regression: ~270 attempts in 300 ms)', async () => {
    // 4 segments: 1 free, 3 held. The waiter wants 2: each attempt claims the free one's count,
    // fails, and gives it back, which bumps the epoch. Before the fix the loop woke on its own
    // bump after every attempt; now it arms one wait and sleeps until another thread gives.
    const a = arena({ size: 4 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    const hog = a.lease({ name: 'hog' });
    const held = hog.allocateMany(3);
    a.flushCache(); // the free one goes to the central list: the attempt must claim it there
    const b = track(Arena.attach(a.descriptor));
    const control = a.descriptor.control;
    const realWaitAsync = Atomics.waitAsync;
    let armed = 0;
    Atomics.waitAsync = ((...args: Parameters<typeof Atomics.waitAsync>) => {
      const [target, index] = args;
      if (target.buffer === control && index === W_EPOCH) armed++;
      return realWaitAsync(...args);
    }) as typeof Atomics.waitAsync;
    try {
      const waiting = b.lease({ name: 'wants-2' }).allocateAsync(2, { timeout: WAIT_MS });
      // Let the event loop turn many times: a self-waking loop re-arms on every turn.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(armed).toBe(1);
      hog.release(held[0]!); // another context gives one back: now 2 are free
      const got = await waiting;
      expect(got).toHaveLength(2);
      expect(armed).toBe(1);
    } finally {
      Atomics.waitAsync = realWaitAsync;
    }
    b.flushCache();
    expectAuditOk(a);
  });

  it("an allocation that fails and undoes its charge wakes a waiter that charge refused (regression: review)", async () => {
    // 4 segments, none free: A (no limit: the whole arena) holds 2, C holds 2. A worker waits
    // for 2 on A. The main thread calls A.tryAllocate(): it charges A (3), finds nothing, and
    // undoes the charge. Inside that window (the undo's Atomics.sub is held) C releases both
    // of its segments: the wakes reach the waiter while A reads 3, its attempt (3 + 2 > 4) is
    // refused and it sleeps. Only a wake after the undo lets it see that 2 are free for A now.
    const a = arena({ size: 4 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    const leaseA = a.lease({ name: 'A' });
    const leaseC = a.lease({ name: 'C' });
    const heldA = leaseA.allocateMany(2);
    const heldC = leaseC.allocateMany(2);
    a.flushCache();
    const { sync, worker, exited, reported } = startWaiter(a, leaseA, 2);
    try {
      const first = Atomics.waitAsync(sync, 0, 0, HANDOFF_MS);
      if (first.async) await first.value;
      expect(Atomics.load(sync, 0)).toBe(1); // it tried once and sleeps

      const control = a.descriptor.control;
      const realSub = Atomics.sub;
      let held = 0;
      Atomics.sub = ((target: Int32Array, index: number, value: number): number => {
        // The undo of A's failed charge: a count word reading 3 on the control buffer (no other
        // word of this arena reads 3 now: nothing is free, A holds 2, C holds 2).
        if (held === 0 && target.buffer === control && value === 1 && (Atomics.load(target, index) & 0xfffff) === 3) {
          held++;
          const armed = Atomics.load(sync, 0);
          leaseC.release(heldC); // wakes the waiter while A still reads 3
          const deadline = Date.now() + HANDOFF_MS;
          while (Atomics.load(sync, 0) === armed && Date.now() < deadline) Atomics.wait(sync, 0, armed, 100);
        }
        return realSub(target, index, value);
      }) as typeof Atomics.sub;
      let got: unknown;
      try {
        got = leaseA.tryAllocate();
      } finally {
        Atomics.sub = realSub;
      }
      expect(got).toBeNull();
      expect(held).toBe(1);
      expect(Atomics.load(sync, 0)).toBe(2); // the waiter retried inside the window and slept again

      const [report] = await reported; // without the wake after the undo: ERR_TIMEOUT
      expect(report.code).toBe('ok');
      await exited;
    } finally {
      await worker.terminate();
    }
    leaseA.release(heldA);
    a.flushCache();
    expectAuditOk(a);
  }, HANDOFF_MS * 3);

  it('two waiters whose requests both exceed what is free do not wake each other (regression: review)', async () => {
    // 4 segments, 1 free. A worker waits for 2 on one lease, this thread waits for 2 on another.
    // An attempt used to claim the free one's count, fail, and give it back: a bump that woke
    // the other waiter, whose attempt did the same: a storm of wakes with nothing changing.
    const a = arena({ size: 4 * S, segmentSize: S, unsafeDisableWaitPoll: true });
    const hog = a.lease({ name: 'hog' });
    const held = hog.allocateMany(3);
    a.flushCache(); // the free one is on the central list
    const other = a.lease({ name: 'worker' });
    const { sync, worker, exited, reported } = startWaiter(a, other, 2);
    const control = a.descriptor.control;
    const realWaitAsync = Atomics.waitAsync;
    let armedHere = 0;
    Atomics.waitAsync = ((...args: Parameters<typeof Atomics.waitAsync>) => {
      const r = realWaitAsync(...args);
      if (r.async && args[0].buffer === control && args[1] === W_EPOCH) armedHere++;
      return r;
    }) as typeof Atomics.waitAsync;
    try {
      const first = Atomics.waitAsync(sync, 0, 0, HANDOFF_MS);
      if (first.async) await first.value;
      const mine = a.lease({ name: 'main' });
      const waiting = mine.allocateAsync(2, { timeout: WAIT_MS });
      // Both wait now. Give them time to storm, if they would.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const workerArms = Atomics.load(sync, 0);
      expect(workerArms).toBeLessThanOrEqual(2);
      expect(armedHere).toBeLessThanOrEqual(2);
      hog.release(held); // 4 free: both requests can be served
      const got = await waiting;
      expect(got).toHaveLength(2);
      const [report] = await reported;
      expect(report.code).toBe('ok');
      await exited;
      mine.release(got);
    } finally {
      Atomics.waitAsync = realWaitAsync;
      await worker.terminate();
    }
    a.flushCache();
    expectAuditOk(a);
  }, HANDOFF_MS * 3);
});
