import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Arena, type ArenaOptions, type ArenaError, type GrowEventDetail, type MemorySegment } from '../src/index.js';
import { codeOf, expectAuditOk, rejectionCode, arenasClosedAfterEach } from './helpers.js';

const KiB = 1024;
const { arena, track } = arenasClosedAfterEach({ size: 4096, segmentSize: 4096 });

describe('growth and pressure', () => {
  it('grows by growthFactor up to maxSize, emits grow and pressure, then reports exhaustion', async () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB, maxSize: 30 * 4 * KiB, growthFactor: 2, pressureThreshold: 0.75 });
    const grows: GrowEventDetail[] = [];
    let pressure = 0;
    a.addEventListener('grow', (e) => grows.push((e as CustomEvent<GrowEventDetail>).detail));
    a.addEventListener('pressure', () => pressure++);
    const lease = a.lease();
    const segs: MemorySegment[] = [];
    for (let i = 0; i < 30; i++) segs.push(lease.allocate());
    expect(new Set(segs.map((s) => s.index)).size).toBe(30);
    expect(grows).toEqual([]); // events are dispatched after the call, never inside it
    await Promise.resolve();
    expect(a.segmentCount).toBe(30);
    expect(a.size).toBe(30 * 4 * KiB);
    expect(grows.map((g) => g.segments)).toEqual([16, 30]);
    expect(pressure).toBeGreaterThanOrEqual(1);
    expect(a.stats().grows).toBe(2);
    expect(codeOf(() => lease.allocate())).toBe('ERR_ARENA_EXHAUSTED');
    // Segments from the grown part are real memory in this thread.
    const last = segs.find((s) => s.index === 29)!;
    last.setFloat64(last.size - 8, 1.25);
    expect(last.getFloat64(last.size - 8)).toBe(1.25);
    expectAuditOk(a);
    lease.close();
    expectAuditOk(a);
  });

  it('a fixed-size arena never grows', () => {
    const a = arena({ size: 4 * 4 * KiB, segmentSize: 4 * KiB });
    let grows = 0;
    a.addEventListener('grow', () => grows++);
    const lease = a.lease();
    lease.allocateMany(4);
    expect(lease.tryAllocate()).toBeNull();
    expect(grows).toBe(0);
    expect(a.descriptor.data.growable).toBe(false);
  });
});

describe('allocateAsync', () => {
  it('resolves at once when memory is free', async () => {
    const a = arena({ size: 4 * 4 * KiB, segmentSize: 4 * KiB });
    const segs = await a.lease().allocateAsync(3);
    expect(segs).toHaveLength(3);
    expectAuditOk(a);
  });

  it('waits while the arena is exhausted and is woken by a release (regression: a refused partial attempt woke its own waiter into a busy loop)', async () => {
    const a = arena({ size: 4 * 4 * KiB, segmentSize: 4 * KiB });
    const holder = a.lease();
    const held = holder.allocateMany(4);
    const waiter = a.lease();
    let done = false;
    const p = waiter.allocateAsync(2).then((s) => {
      done = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(a.stats().waiters).toBe(1);
    holder.release(held[0]!);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false); // needs two
    holder.release(held[1]!);
    const got = await p;
    expect(got.map((s) => s.index).sort()).toEqual([held[0]!.index, held[1]!.index].sort());
    expect(waiter.used).toBe(2 * 4 * KiB);
    expect(a.stats().waiters).toBe(0);
    expectAuditOk(a);
  });

  it('serves the requests of one thread first in, first out', async () => {
    const a = arena({ size: 4 * 4 * KiB, segmentSize: 4 * KiB });
    const holder = a.lease();
    const held = holder.allocateMany(4);
    const order: string[] = [];
    const big = a.lease().allocateAsync(3).then(() => order.push('big'));
    const small = a.lease().allocateAsync(1).then(() => order.push('small'));
    holder.release(held[0]!); // enough for `small`, but `big` came first
    await new Promise((r) => setTimeout(r, 30));
    expect(order).toEqual([]);
    holder.release([held[1]!, held[2]!]);
    await big;
    holder.release(held[3]!);
    await small;
    expect(order).toEqual(['big', 'small']);
    expectAuditOk(a);
  });

  it('rejects with ERR_ABORTED (cause = reason) and ERR_TIMEOUT, leaving nothing behind', async () => {
    const a = arena({ size: 2 * 4 * KiB, segmentSize: 4 * KiB });
    a.lease().allocateMany(2);
    const lease = a.lease();
    const ac = new AbortController();
    const p = lease.allocateAsync(1, { signal: ac.signal });
    ac.abort('stop');
    try {
      await p;
      expect.unreachable();
    } catch (e) {
      expect((e as ArenaError).code).toBe('ERR_ABORTED');
      expect((e as ArenaError).cause).toBe('stop');
    }
    expect(await rejectionCode(lease.allocateAsync(1, { timeout: 10 }))).toBe('ERR_TIMEOUT');
    expect(await rejectionCode(lease.allocateAsync(1, { signal: AbortSignal.abort() }))).toBe('ERR_ABORTED');
    expect(lease.used).toBe(0);
    expect(a.stats().waiters).toBe(0);
    expectAuditOk(a);
  });

  it('never waits past a limit, and checks its arguments', async () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB });
    const lease = a.lease({ limit: 2 * 4 * KiB });
    expect(await rejectionCode(lease.allocateAsync(3))).toBe('ERR_LEASE_LIMIT');
    expect(await rejectionCode(a.lease().allocateAsync(9))).toBe('ERR_LEASE_LIMIT');
    expect(await rejectionCode(lease.allocateAsync(-1))).toBe('ERR_INVALID_ARGUMENT');
    expect(await rejectionCode(lease.allocateAsync(1, { timeout: -5 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await rejectionCode(lease.allocateAsync(1, { signal: {} as AbortSignal }))).toBe('ERR_INVALID_ARGUMENT');
    lease.close();
    expect(await rejectionCode(lease.allocateAsync(1))).toBe('ERR_LEASE_CLOSED');
    expectAuditOk(a);
  });

  it('pending requests reject with ERR_ARENA_CLOSED when the arena closes', async () => {
    const a = new Arena({ size: 4 * KiB, segmentSize: 4 * KiB });
    a.lease().allocate();
    const p = a.lease().allocateAsync(1);
    a.close();
    expect(await rejectionCode(p)).toBe('ERR_ARENA_CLOSED');
  });
});

describe('event loop', () => {
  it('a pending allocateAsync keeps the process alive until another thread releases', () => {
    // The releasing worker is unref'd: only the arena's keep-alive holds the event loop open.
    // Without it the process would exit with code 13 (unsettled top-level await).
    const script = fileURLToPath(new URL('./fixtures/keepalive.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('resolved 1 segment(s); audit ok');
    expect(r.status).toBe(0);
  });
});

describe('debug mode', () => {
  it('poisons released segments and holds them in quarantine before reuse (regression: the quarantine made a full arena look exhausted)', () => {
    const a = arena({ size: 64 * 4 * KiB, segmentSize: 4 * KiB, debug: true });
    const lease = a.lease();
    const s = lease.allocate();
    const raw = s.as(Uint32Array);
    raw[0] = 1;
    lease.release(s);
    expect(raw[0]).toBe(0xdeadbeef);
    expect(raw[raw.length - 1]).toBe(0xdeadbeef);
    // The next 16 allocations never return the quarantined segment.
    const next: MemorySegment[] = [];
    for (let i = 0; i < 16; i++) next.push(lease.allocate());
    expect(next.some((x) => x.index === s.index)).toBe(false);
    expectAuditOk(a);
    lease.release(next);
    expect(lease.close()).toBe(0);
    expectAuditOk(a);
  });

  it('detects a write after release when the segment is reused', () => {
    const a = arena({ size: 64 * 4 * KiB, segmentSize: 4 * KiB, debug: true });
    const lease = a.lease();
    const s = lease.allocate();
    const raw = s.as(Uint32Array);
    lease.release(s);
    raw[10] = 5; // use after free through a raw view
    const all = lease.allocateMany(64);
    expect(all.some((x) => x.index === s.index)).toBe(true);
    expect(all.find((x) => x.index === s.index)!.getUint32(40)).toBe(0); // zeroed before reuse
    const report = a.audit();
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/written after their release/);
  });

  it('treats a leak as an error on close, after releasing it', () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB, debug: true });
    const lease = a.lease({ name: 'leaky' });
    lease.allocateMany(2);
    let err: ArenaError | undefined;
    try {
      lease.close();
    } catch (e) {
      err = e as ArenaError;
    }
    expect(err?.code).toBe('ERR_LEAK');
    expect(err?.message).toContain('leaky');
    expect(lease.closed).toBe(true);
    expect(a.stats().allocated).toBe(0);
    expectAuditOk(a);
  });
});

describe('arena lifecycle', () => {
  it('close in the creating thread ends the arena for every Arena object', () => {
    const a = new Arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB });
    const b = Arena.attach(a.descriptor);
    const lease = a.lease();
    const twin = b.attachLease(lease.descriptor);
    a.close();
    expect(a.closed).toBe(true);
    expect(b.closed).toBe(true);
    for (const op of [() => a.lease(), () => b.lease(), () => twin.allocate(), () => lease.allocate(), () => a.segment(0)]) {
      expect(codeOf(op)).toBe('ERR_ARENA_CLOSED');
    }
    expect(codeOf(() => Arena.attach(a.descriptor))).toBe('ERR_ARENA_CLOSED');
    a.close(); // idempotent
    b.close();
  });

  it('detaching an attached Arena object gives back what its thread cached', () => {
    const a = arena({ size: 256 * 4 * KiB, segmentSize: 4 * KiB });
    const b = Arena.attach(a.descriptor);
    const lease = b.lease();
    lease.release(lease.allocateMany(10)); // now cached by b's thread slot
    expect(a.stats().cached).toBeGreaterThan(0);
    lease.close();
    b.close();
    expect(b.closed).toBe(true);
    expect(a.closed).toBe(false);
    expect(a.stats().cached).toBe(0);
    expect(a.lease().allocateMany(256)).toHaveLength(256);
    expectAuditOk(a);
  });

  it('stats report counts and per-lease figures', () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB });
    const lease = a.lease({ name: 'n', limit: 5 * 4 * KiB });
    lease.allocateMany(3);
    const s = a.stats();
    expect(s.segmentCount).toBe(8);
    expect(s.allocated).toBe(3);
    expect(s.free + s.cached + s.allocated).toBe(8);
    expect(s.leases).toBe(1);
    expect(s.leaseStats[0]).toMatchObject({ id: lease.id, used: 3 * 4 * KiB, peak: 3 * 4 * KiB, limit: 5 * 4 * KiB });
  });
});

describe('caches of other threads', () => {
  it('a thread that runs dry makes the others flush their caches at their next release', () => {
    const a = arena({ size: 256 * 4 * KiB, segmentSize: 4 * KiB });
    const b = Arena.attach(a.descriptor); // another thread's view: its own cache
    track(b);
    const lb = b.lease();
    lb.release(lb.allocateMany(7));
    const cached = a.stats().cached;
    expect(cached).toBeGreaterThan(0);
    const la = a.lease();
    la.allocateMany(256 - cached);
    expect(la.tryAllocate()).toBeNull(); // the rest sits in b's cache: la asks for a drain
    lb.release(lb.allocate()); // b's next release sees the request and flushes everything
    expect(a.stats().cached).toBe(0);
    expect(la.allocateMany(cached)).toHaveLength(cached);
    expectAuditOk(a);
  });

  it('flushCache() empties this thread cache', () => {
    const a = arena({ size: 256 * 4 * KiB, segmentSize: 4 * KiB });
    const l = a.lease();
    l.release(l.allocateMany(5));
    expect(a.stats().cached).toBeGreaterThan(0);
    a.flushCache();
    expect(a.stats().cached).toBe(0);
    expectAuditOk(a);
  });
});

describe('closeAbandoned (a lease whose holder thread died)', () => {
  it('releases what the lease owns, frees its slot and never waits', () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB, maxLeases: 1 });
    const lease = a.lease();
    lease.allocateMany(3);
    expect(lease.closeAbandoned()).toBe(3);
    expect(lease.closed).toBe(true);
    expect(a.lease().allocateMany(8)).toHaveLength(8); // the slot is free again
    expectAuditOk(a);
  });
});

describe('activity counters', () => {
  it('count allocations, releases, refusals by code, waits, scrubs and transfers exactly', async () => {
    const a = arena({ size: 4 * 4 * KiB, segmentSize: 4 * KiB });
    const x = a.lease({ limit: 2 * 4 * KiB });
    const y = a.lease();
    const [s1, s2] = x.allocateMany(2) as [MemorySegment, MemorySegment]; // 2 allocations
    expect(codeOf(() => x.allocate())).toBe('ERR_LEASE_LIMIT'); // 1 refused by limit
    x.release(s1); // 1 release
    x.transfer(s2, y); // 1 transfer
    y.allocateMany(3); // 3 allocations; s1 goes to y after x wrote it last: a scrub
    expect(y.tryAllocate()).toBeNull(); // 1 refused: exhausted
    const waiting = x.allocateAsync(1, { timeout: 5 }); // 1 wait
    expect(await rejectionCode(waiting)).toBe('ERR_TIMEOUT');
    const b = Arena.attach(a.descriptor);
    const z = b.attachLease(y.descriptor);
    z.release(b.segment(s2.handle)); // 1 release in another Arena object, published at its close
    b.close();
    expect(a.stats().activity).toEqual({
      allocations: 5, releases: 2, refusedLimit: 1, refusedExhausted: 1, waits: 1, scrubs: 1, transfers: 1, leaked: 0,
    });
    // regression: stats().leaked stayed 0 because it summed open leases only
    expect(y.close()).toBe(3);
    expect(a.stats().leaked).toBe(3);
    expect(a.stats().activity.leaked).toBe(3);
    expect(a.stats().activity.releases).toBe(5);
  });
});

describe('leak reports (debug)', () => {
  it('ERR_LEAK names the lease and where each leaked segment was allocated, and emits a leak event', async () => {
    const a = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB, debug: true });
    const details: unknown[] = [];
    a.addEventListener('leak', (e) => details.push((e as CustomEvent).detail));
    const lease = a.lease({ name: 'sloppy' });
    lease.allocate();
    let message = '';
    try {
      lease.close();
    } catch (e) {
      message = (e as ArenaError).message;
    }
    expect(message).toContain("lease 'sloppy'");
    expect(message).toContain('core.arena.test.ts');
    await Promise.resolve();
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ lease: 'sloppy', segments: 1, reason: 'held at close' });
  });

  it('warns when a segment object is garbage-collected while still owned (a warning only)', () => {
    const script = fileURLToPath(new URL('./fixtures/finalizer.mjs', import.meta.url));
    const r = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ events: [{ lease: 'forgetful', reason: 'collected while owned' }], owned: 1 });
  });
});
