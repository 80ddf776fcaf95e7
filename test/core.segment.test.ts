import { describe, expect, it } from 'vitest';
import { Arena, type ArenaOptions, type MemorySegment } from '../src/index.js';
import { codeOf, expectAuditOk, arenasClosedAfterEach } from './helpers.js';

const KiB = 1024;
const { arena, track } = arenasClosedAfterEach({ size: 8 * 4 * KiB, segmentSize: 4 * KiB });

type Accessor = [name: string, width: number, value: number | bigint, bytes: number[]];
const ACCESSORS: Accessor[] = [
  ['Uint8', 1, 0xfe, [0xfe]],
  ['Int8', 1, -2, [0xfe]],
  ['Uint16', 2, 0xbeef, [0xef, 0xbe]],
  ['Int16', 2, -2, [0xfe, 0xff]],
  ['Uint32', 4, 0xdeadbeef, [0xef, 0xbe, 0xad, 0xde]],
  ['Int32', 4, -2, [0xfe, 0xff, 0xff, 0xff]],
  ['Float32', 4, 1.5, [0, 0, 0xc0, 0x3f]],
  ['Float64', 8, -2.5, [0, 0, 0, 0, 0, 0, 4, 0xc0]],
  ['BigInt64', 8, -2n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
];

type Dyn = Record<string, (...args: unknown[]) => unknown>;

describe('checked accessors', () => {
  it.each(ACCESSORS)('%s: round-trips little-endian and checks bounds', (name, width, value, bytes) => {
    const a = arena();
    const seg = a.lease().allocate() as unknown as Dyn & MemorySegment;
    const at = seg.size - width;
    seg[`set${name}`]!(at, value);
    expect(seg[`get${name}`]!(at)).toBe(value);
    const raw = seg.as(Uint8Array);
    expect(Array.from(raw.subarray(at, at + width))).toEqual(bytes);
    expect(codeOf(() => seg[`get${name}`]!(at + 1))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => seg[`set${name}`]!(seg.size, value))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => seg[`get${name}`]!(-1))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => seg[`get${name}`]!(NaN))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => seg[`get${name}`]!(0.5))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => seg[`get${name}`]!('8'))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => seg[`set${name}`]!(0, name === 'BigInt64' ? 1 : 'x'))).toBe('ERR_INVALID_ARGUMENT');
    expectAuditOk(a);
  });

  it('read, write, copyTo and fill move exactly the bytes asked', () => {
    const a = arena();
    const lease = a.lease();
    const [x, y] = lease.allocateMany(2) as [MemorySegment, MemorySegment];
    x.write(10, Uint8Array.of(1, 2, 3, 4));
    expect(Array.from(x.read(9, new Uint8Array(6)))).toEqual([0, 1, 2, 3, 4, 0]);
    x.copyTo(10, y, 100, 4);
    expect(Array.from(y.read(99, new Uint8Array(6)))).toEqual([0, 1, 2, 3, 4, 0]);
    x.copyTo(10, x, 12, 4); // overlapping, within one segment
    expect(Array.from(x.read(10, new Uint8Array(6)))).toEqual([1, 2, 1, 2, 3, 4]);
    y.fill(7, 3, 3000);
    const view = y.as(Uint8Array);
    expect([view[2], view[3], view[1500], view[2999], view[3000]]).toEqual([0, 7, 7, 7, 0]);
    y.fill(0);
    expect(view.every((b) => b === 0)).toBe(true);
    expect(codeOf(() => x.write(x.size - 2, new Uint8Array(3)))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => x.read(0, new Uint8Array(x.size + 1)))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => x.copyTo(0, y, y.size - 1, 2))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => x.fill(256))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => x.fill(1, 10, 5))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => x.fill(1, 0, x.size + 1))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => x.write(0, [1, 2] as unknown as Uint8Array))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => x.copyTo(0, {} as MemorySegment, 0, 1))).toBe('ERR_INVALID_ARGUMENT');
    expectAuditOk(a);
  });

  it('as() views exactly this segment in any element type', () => {
    const a = arena();
    const seg = a.lease().allocateMany(3)[1]!;
    const f64 = seg.as(Float64Array);
    expect(f64.length).toBe(seg.size / 8);
    expect(f64.byteOffset).toBe(seg.offset);
    f64[0] = 42;
    expect(seg.getFloat64(0)).toBe(42);
    expect(codeOf(() => seg.as({} as never))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('every checked access fails after release, in this object and rehydrated ones', () => {
    const a = arena();
    const lease = a.lease();
    const seg = lease.allocate();
    const twin = a.segment(seg.handle);
    lease.release(seg);
    for (const s of [seg, twin]) {
      expect(s.released).toBe(true);
      expect(codeOf(() => s.getUint8(0))).toBe('ERR_SEGMENT_RELEASED');
      expect(codeOf(() => s.setFloat64(0, 1))).toBe('ERR_SEGMENT_RELEASED');
      expect(codeOf(() => s.as(Uint8Array))).toBe('ERR_SEGMENT_RELEASED');
    }
    expectAuditOk(a);
  });
});

describe('handles', () => {
  it('round-trip through arena.segment and go stale on release', () => {
    const a = arena();
    const lease = a.lease();
    const seg = lease.allocate();
    seg.setInt32(4, 77);
    expect(Number.isSafeInteger(seg.handle)).toBe(true);
    const back = a.segment(seg.handle);
    expect(back.index).toBe(seg.index);
    expect(back.getInt32(4)).toBe(77);
    lease.release(back);
    expect(codeOf(() => a.segment(seg.handle))).toBe('ERR_SEGMENT_RELEASED');
    // The same index comes back with a new generation: the old handle stays stale.
    const again = lease.allocate();
    expect(again.index).toBe(seg.index);
    expect(again.handle).not.toBe(seg.handle);
    expect(codeOf(() => a.segment(seg.handle))).toBe('ERR_SEGMENT_RELEASED');
    expectAuditOk(a);
  });

  it.each([[-1], [1.5], [NaN], ['1'], [2 ** 53], [null]])('rejects a malformed handle (case %#)', (h) => {
    const a = arena();
    expect(codeOf(() => a.segment(h as number))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('rejects a handle beyond the arena', () => {
    const a = arena();
    expect(codeOf(() => a.segment(1000 * 2 ** 32))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('scrub', () => {
  it('zeroes a segment before a different lease receives it, not before the same lease', () => {
    const a = arena();
    const x = a.lease();
    const y = a.lease();
    const s = x.allocate();
    s.fill(0xab);
    const index = s.index;
    x.release(s);
    const again = x.allocate(); // LIFO cache: the same segment, same lease: no scrub needed
    expect(again.index).toBe(index);
    expect(again.getUint8(100)).toBe(0xab);
    x.release(again);
    const other = y.allocate();
    expect(other.index).toBe(index);
    expect(other.as(Uint8Array).every((b) => b === 0)).toBe(true);
    expectAuditOk(a);
  });

  it('can be switched off: the next lease then sees the old bytes', () => {
    const b = arena({ size: 8 * 4 * KiB, segmentSize: 4 * KiB, scrub: false });
    const l1 = b.lease();
    const t = l1.allocate();
    t.fill(9);
    l1.release(t);
    const u = b.lease().allocate();
    expect(u.index).toBe(t.index);
    expect(u.getUint8(0)).toBe(9);
    expectAuditOk(b);
  });
});
