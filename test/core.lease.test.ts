import { describe, expect, it } from 'vitest';
import { Arena, type ArenaOptions, type Lease, type MemorySegment } from '../src/index.js';
import { codeOf, expectAuditOk, arenasClosedAfterEach } from './helpers.js';

const KiB = 1024;
const { arena, track } = arenasClosedAfterEach({ size: 16 * 32 * KiB });

describe('lease accounting', () => {
  it('charges used and peak in bytes and never passes the limit', () => {
    const a = arena();
    const lease = a.lease({ name: 'job', limit: 4 * 32 * KiB });
    expect(lease.name).toBe('job');
    expect(lease.limit).toBe(4 * 32 * KiB);
    const segs = [lease.allocate(), lease.allocate(), lease.allocate()];
    expect(lease.used).toBe(3 * 32 * KiB);
    lease.release(segs.pop()!);
    expect(lease.used).toBe(2 * 32 * KiB);
    expect(lease.peak).toBe(3 * 32 * KiB);
    segs.push(...lease.allocateMany(2));
    expect(codeOf(() => lease.allocate())).toBe('ERR_LEASE_LIMIT');
    expect(codeOf(() => lease.tryAllocate())).toBe('ERR_LEASE_LIMIT');
    expect(lease.used).toBe(4 * 32 * KiB);
    expect(lease.peak).toBe(4 * 32 * KiB);
    expectAuditOk(a);
    expect(lease.close()).toBe(4);
    expectAuditOk(a);
  });

  it('an unlimited lease may take the whole arena, then reports exhaustion', () => {
    const a = arena();
    const lease = a.lease();
    expect(lease.limit).toBe(a.maxSize);
    const all = lease.allocateMany(16);
    expect(new Set(all.map((s) => s.index)).size).toBe(16);
    expect(codeOf(() => lease.allocate())).toBe('ERR_ARENA_EXHAUSTED');
    expect(lease.tryAllocate()).toBeNull();
    expectAuditOk(a);
  });

  it('allocateMany is all or nothing', () => {
    const a = arena();
    const x = a.lease();
    const y = a.lease();
    x.allocateMany(10);
    expect(codeOf(() => y.allocateMany(7))).toBe('ERR_ARENA_EXHAUSTED');
    expect(y.used).toBe(0);
    expect(a.stats().allocated).toBe(10);
    expectAuditOk(a);
    expect(y.allocateMany(6)).toHaveLength(6);
    expect(y.allocateMany(0)).toEqual([]);
    expect(codeOf(() => y.allocateMany(-1))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => y.allocateMany(1.5))).toBe('ERR_INVALID_ARGUMENT');
    expectAuditOk(a);
  });

  it('a reservation is headroom no other lease can take', () => {
    const a = arena();
    const reserved = a.lease({ name: 'reserved', reserve: 3 * 32 * KiB });
    const greedy = a.lease({ name: 'greedy' });
    expect(greedy.allocateMany(13)).toHaveLength(13);
    expect(greedy.tryAllocate()).toBeNull();
    const mine = reserved.allocateMany(3);
    expect(mine).toHaveLength(3);
    expect(reserved.tryAllocate()).toBeNull();
    expectAuditOk(a);
    // Released reservation draws go back behind the reservation, not to the greedy lease.
    reserved.release(mine[0]!);
    expect(greedy.tryAllocate()).toBeNull();
    expect(reserved.allocate().index).toBe(mine[0]!.index);
    expectAuditOk(a);
    // A reservation larger than what is free is refused and changes nothing.
    expect(codeOf(() => a.lease({ reserve: 32 * KiB }))).toBe('ERR_ARENA_EXHAUSTED');
    expect(a.stats().leases).toBe(2);
    expectAuditOk(a);
    // Closing gives the reservation back.
    reserved.close();
    expect(greedy.allocateMany(3)).toHaveLength(3);
    expect(greedy.tryAllocate()).toBeNull();
    expectAuditOk(a);
  });

  it('a reservation can use segments this thread caches', () => {
    const a = arena();
    const l = a.lease();
    l.release(l.allocateMany(16)); // all 16 now sit in this thread's cache or the central list
    const r = a.lease({ reserve: 16 * 32 * KiB });
    expect(r.reserve).toBe(16 * 32 * KiB);
    expect(l.tryAllocate()).toBeNull();
    expect(r.allocateMany(16)).toHaveLength(16);
    expectAuditOk(a);
  });

  it('the lease table is bounded: ERR_TOO_MANY_LEASES, and a closed slot is reused', () => {
    const a = arena({ size: 4 * 32 * KiB, maxLeases: 2 });
    const l1 = a.lease();
    a.lease();
    expect(codeOf(() => a.lease())).toBe('ERR_TOO_MANY_LEASES');
    expectAuditOk(a);
    l1.close();
    const l3 = a.lease();
    expect(l3.id).not.toBe(l1.id);
    expect(codeOf(() => l1.allocate())).toBe('ERR_LEASE_CLOSED');
    expect(l3.allocate().size).toBe(32 * KiB);
    expectAuditOk(a);
  });
});

describe('release', () => {
  it('double release, foreign release and stale objects give their codes and change nothing', () => {
    const a = arena();
    const x = a.lease();
    const y = a.lease();
    const s = x.allocate();
    expect(codeOf(() => y.release(s))).toBe('ERR_FOREIGN_SEGMENT');
    expect(x.used).toBe(32 * KiB);
    x.release(s);
    expect(s.released).toBe(true);
    expect(codeOf(() => x.release(s))).toBe('ERR_SEGMENT_RELEASED');
    expect(codeOf(() => y.release(s))).toBe('ERR_SEGMENT_RELEASED');
    expect(codeOf(() => x.release({} as MemorySegment))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => x.release(null as unknown as MemorySegment))).toBe('ERR_INVALID_ARGUMENT');
    expectAuditOk(a);
  });

  it('a segment of another arena is foreign', () => {
    const a = arena();
    const b = arena();
    const s = b.lease().allocate();
    expect(codeOf(() => a.lease().release(s))).toBe('ERR_FOREIGN_SEGMENT');
    expectAuditOk(a);
    expectAuditOk(b);
  });

  it('an array is validated first: one bad element releases nothing', () => {
    const a = arena();
    const x = a.lease();
    const segs = x.allocateMany(3);
    const other = a.lease().allocate();
    expect(codeOf(() => x.release([segs[0]!, other, segs[1]!]))).toBe('ERR_FOREIGN_SEGMENT');
    expect(codeOf(() => x.release([segs[0]!, segs[0]!]))).toBe('ERR_SEGMENT_RELEASED');
    expect(segs.every((s) => !s.released)).toBe(true);
    expect(x.used).toBe(3 * 32 * KiB);
    x.release(segs);
    expect(x.used).toBe(0);
    expectAuditOk(a);
  });
});

describe('transfer', () => {
  it('moves ownership and charge together, keeps the bytes, renews the handle', () => {
    const a = arena();
    const from = a.lease({ name: 'from' });
    const to = a.lease({ name: 'to', limit: 2 * 32 * KiB });
    const s = from.allocate();
    s.setUint32(0, 0xcafe);
    const oldHandle = s.handle;
    from.transfer(s, to);
    expect(from.used).toBe(0);
    expect(to.used).toBe(32 * KiB);
    expect(s.getUint32(0)).toBe(0xcafe);
    expect(s.handle).not.toBe(oldHandle);
    expect(codeOf(() => a.segment(oldHandle))).toBe('ERR_SEGMENT_RELEASED');
    expect(a.segment(s.handle).getUint32(0)).toBe(0xcafe);
    expect(codeOf(() => from.release(s))).toBe('ERR_FOREIGN_SEGMENT');
    to.release(s);
    expectAuditOk(a);
  });

  it('refuses over the target limit, to a closed lease, across arenas, and leaves everything in place', () => {
    const a = arena();
    const from = a.lease();
    const to = a.lease({ limit: 32 * KiB });
    to.allocate();
    const s = from.allocate();
    expect(codeOf(() => from.transfer(s, to))).toBe('ERR_LEASE_LIMIT');
    const closed = a.lease();
    closed.close();
    expect(codeOf(() => from.transfer(s, closed))).toBe('ERR_LEASE_CLOSED');
    expect(codeOf(() => from.transfer(s, arena().lease()))).toBe('ERR_FOREIGN_SEGMENT');
    expect(codeOf(() => from.transfer(s, {} as Lease))).toBe('ERR_INVALID_ARGUMENT');
    expect(from.used).toBe(32 * KiB);
    expect(s.released).toBe(false);
    from.transfer(s, from); // to itself: nothing to do
    expect(from.used).toBe(32 * KiB);
    expectAuditOk(a);
  });
});

describe('close', () => {
  it('releases what is left, is idempotent, and ends the lease', () => {
    const a = arena();
    const lease = a.lease();
    const segs = lease.allocateMany(5);
    lease.release(segs[0]!);
    expect(lease.close()).toBe(4);
    expect(lease.close()).toBe(0);
    expect(lease.closed).toBe(true);
    expect(segs.every((s) => s.released)).toBe(true);
    expect(codeOf(() => segs[1]!.getUint8(0))).toBe('ERR_SEGMENT_RELEASED');
    for (const op of [() => lease.allocate(), () => lease.tryAllocate(), () => lease.allocateMany(1), () => lease.release(segs[1]!)]) {
      expect(codeOf(op)).toBe('ERR_LEASE_CLOSED');
    }
    expect(a.stats().leaked).toBe(4); // close released 4 the lease still held: leaks
    expectAuditOk(a);
  });

  it('Symbol.dispose closes the lease', () => {
    const a = arena();
    let seen: Lease | undefined;
    {
      using lease = a.lease();
      lease.allocateMany(2);
      seen = lease;
    }
    expect(seen.closed).toBe(true);
    expect(a.stats().allocated).toBe(0);
    expectAuditOk(a);
  });
});

describe('attachLease in the same thread', () => {
  it('shares one account through the descriptor', () => {
    const a = arena();
    const b = Arena.attach(a.descriptor);
    track(b);
    const lease = a.lease({ limit: 3 * 32 * KiB });
    const twin = b.attachLease(lease.descriptor);
    const s = twin.allocate();
    expect(lease.used).toBe(32 * KiB);
    lease.allocateMany(2);
    expect(codeOf(() => twin.allocate())).toBe('ERR_LEASE_LIMIT');
    lease.release(b.segment(s.handle) && a.segment(s.handle));
    expect(twin.used).toBe(2 * 32 * KiB);
    expect(lease.close()).toBe(2);
    expect(codeOf(() => twin.allocate())).toBe('ERR_LEASE_CLOSED');
    expect(codeOf(() => b.attachLease(lease.descriptor))).toBe('ERR_LEASE_CLOSED');
    expectAuditOk(a);
  });

  it('rejects bad and foreign descriptors', () => {
    const a = arena();
    const other = arena().lease();
    expect(codeOf(() => a.attachLease(other.descriptor))).toBe('ERR_FOREIGN_SEGMENT');
    expect(codeOf(() => a.attachLease({} as never))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => a.attachLease({ ...a.lease().descriptor, slot: -1 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => Arena.attach({} as never))).toBe('ERR_INVALID_ARGUMENT');
    expectAuditOk(a);
  });
});

describe('transferMany', () => {
  it('moves every segment with its bytes, or none when the target limit cannot take them all', () => {
    const a = arena();
    const from = a.lease();
    const to = a.lease({ limit: 3 * 32 * KiB });
    const segs = from.allocateMany(4);
    segs.forEach((s, i) => s.setUint32(0, i + 10));
    expect(codeOf(() => from.transferMany(segs, to))).toBe('ERR_LEASE_LIMIT');
    expect(from.used).toBe(4 * 32 * KiB);
    expect(to.used).toBe(0);
    expect(segs.every((s) => !s.released)).toBe(true);
    expect(codeOf(() => from.transferMany([segs[0]!, segs[0]!], to))).toBe('ERR_SEGMENT_RELEASED');
    const old = segs.map((s) => s.handle);
    from.transferMany(segs.slice(0, 3), to);
    expect(from.used).toBe(32 * KiB);
    expect(to.used).toBe(3 * 32 * KiB);
    expect(segs.slice(0, 3).map((s) => s.getUint32(0))).toEqual([10, 11, 12]);
    expect(old.slice(0, 3).map((h) => codeOf(() => a.segment(h)))).toEqual(Array(3).fill('ERR_SEGMENT_RELEASED'));
    expect(codeOf(() => to.release(segs[3]!))).toBe('ERR_FOREIGN_SEGMENT');
    expectAuditOk(a);
    expect(to.close()).toBe(3);
    expectAuditOk(a);
  });

  it('keeps the reservation promise when reservation draws leave', () => {
    const a = arena({ size: 4 * 32 * KiB });
    const r = a.lease({ reserve: 2 * 32 * KiB });
    const other = a.lease();
    other.allocateMany(2);
    const drawn = r.allocateMany(2); // both from the reservation
    expect(codeOf(() => r.transferMany(drawn, other))).toBe('ERR_ARENA_EXHAUSTED');
    expect(r.used).toBe(2 * 32 * KiB);
    expectAuditOk(a);
  });
});

describe('segment.arenaId', () => {
  it('names the arena in every thread', () => {
    const a = arena();
    const b = Arena.attach(a.descriptor);
    track(b);
    const seg = a.lease().allocate();
    expect(seg.arenaId).toBe(a.descriptor.id);
    expect(b.segment(seg.handle).arenaId).toBe(seg.arenaId);
    expect(arena().lease().allocate().arenaId).not.toBe(seg.arenaId);
  });
});

describe('test-only mutation switch (for the interleaving checker)', () => {
  it('unsafeLateLimitCheck still refuses over the limit single-threaded; only its transient state differs', () => {
    const a = arena({ size: 4 * 32 * KiB, unsafeLateLimitCheck: true });
    const lease = a.lease({ limit: 32 * KiB });
    lease.allocate();
    expect(codeOf(() => lease.allocate())).toBe('ERR_LEASE_LIMIT');
    expect(lease.used).toBe(32 * KiB);
    expectAuditOk(a);
  });
});
