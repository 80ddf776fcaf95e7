/**
 * Paged views (src/views): PagedWriter streams values across segments taken from a source (a
 * lease), PagedReader streams them back across boundaries, from a list or from any PageSource.
 * Values across and at boundaries, records that straddle segments, all-or-nothing writes when the
 * lease or the arena refuses, release-as-you-read, argument errors, and a fast-check round trip
 * against a plain DataView of the same bytes.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Arena, PagedReader, PagedWriter, type Lease, type MemorySegment, type Page, type PageSource, type SegmentSource,
} from '../src/index.js';
import { codeOf, expectAuditOk } from './helpers.js';

const SEG = 4096;
let arenas: Arena[] = [];
function arena(segments = 64): Arena {
  const a = new Arena({ size: segments * SEG, segmentSize: SEG });
  arenas.push(a);
  return a;
}
afterEach(() => {
  for (const a of arenas) a.close();
  arenas = [];
});

/** The written bytes, concatenated (through the segments' checked reads). */
function bytesOf(segments: readonly MemorySegment[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const s of segments) {
    const n = Math.min(s.size, length - at);
    if (n <= 0) break;
    s.read(0, out.subarray(at, at + n));
    at += n;
  }
  expect(at).toBe(length);
  return out;
}

type Kind = 'Uint8' | 'Int8' | 'Uint16' | 'Int16' | 'Uint32' | 'Int32' | 'Float32' | 'Float64' | 'BigInt64' | 'BigUint64';
const WIDTH: Record<Kind, number> = {
  Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Uint32: 4, Int32: 4, Float32: 4, Float64: 8, BigInt64: 8, BigUint64: 8,
};
const SAMPLE: Record<Kind, number | bigint> = {
  Uint8: 0xfe, Int8: -3, Uint16: 0xbeef, Int16: -2, Uint32: 0xdeadbeef, Int32: -123456789, Float32: 1.5,
  Float64: -Math.PI, BigInt64: -0x123456789abcdefn, BigUint64: 0xfedcba9876543210n,
};
const KINDS = Object.keys(WIDTH) as Kind[];

type Dyn = Record<string, (...args: unknown[]) => unknown>;
const write = (w: PagedWriter, kind: Kind, v: number | bigint): void => void (w as unknown as Dyn)[`write${kind}`]!(v);
const read = (r: PagedReader, kind: Kind): number | bigint => (r as unknown as Dyn)[`read${kind}`]!() as number | bigint;

/** What a little-endian DataView makes of `v` as `kind` (the reference for wrapping and rounding). */
function reference(kind: Kind, v: number | bigint): { bytes: Uint8Array; value: number | bigint } {
  const dv = new DataView(new ArrayBuffer(8));
  (dv as unknown as Dyn)[`set${kind}`]!(0, v, true);
  return { bytes: new Uint8Array(dv.buffer, 0, WIDTH[kind]), value: (dv as unknown as Dyn)[`get${kind}`]!(0, true) as number | bigint };
}

describe('PagedWriter and PagedReader', () => {
  it.each(KINDS)('%s: values at every offset around a boundary round-trip, little-endian', (kind) => {
    const a = arena();
    const lease = a.lease();
    const width = WIDTH[kind];
    for (let shift = 0; shift <= width; shift++) {
      const w = new PagedWriter(lease);
      w.writeBytes(new Uint8Array(SEG - shift).fill(0xaa)); // `shift` bytes left in segment 0
      write(w, kind, SAMPLE[kind]);
      write(w, kind, SAMPLE[kind]);
      expect(w.position).toBe(SEG - shift + 2 * width);
      const { segments, length } = w.finish();
      expect(segments.length).toBe(2);
      const ref = reference(kind, SAMPLE[kind]);
      const bytes = bytesOf(segments, length);
      expect(Array.from(bytes.subarray(SEG - shift, SEG - shift + width))).toEqual(Array.from(ref.bytes));
      const r = new PagedReader(segments, { length });
      r.skip(SEG - shift);
      expect(read(r, kind)).toBe(ref.value);
      expect(read(r, kind)).toBe(ref.value);
      expect(r.atEnd()).toBe(true);
      expect(r.position).toBe(length);
      lease.release(segments);
    }
    expect(lease.used).toBe(0);
    expectAuditOk(a);
  });

  it('streams 12-byte records that straddle segments (4096 is not a multiple of 12)', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    const n = 3000; // 36000 bytes: 9 segments, a record cut at each of 8 boundaries
    for (let i = 0; i < n; i++) {
      w.writeUint32(i);
      w.writeFloat64(i * 0.25 - 7);
    }
    const { segments, length } = w.finish();
    expect(length).toBe(n * 12);
    expect(segments.length).toBe(Math.ceil((n * 12) / SEG));
    expect(lease.used).toBe(segments.length * SEG);
    const r = new PagedReader(segments, { length });
    for (let i = 0; i < n; i++) {
      expect(r.readUint32()).toBe(i);
      expect(r.readFloat64()).toBe(i * 0.25 - 7);
    }
    expect(r.atEnd()).toBe(true);
    expectAuditOk(a);
  });

  it('writeBytes and readBytes span many segments; a segment is taken only when a byte needs it', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    expect(lease.used).toBe(0);
    w.writeBytes(new Uint8Array(0));
    expect(lease.used).toBe(0);
    const big = Uint8Array.from({ length: 3 * SEG + 5 }, (_, i) => (i * 7) & 255);
    w.writeBytes(big.subarray(0, SEG)); // exactly one full segment
    expect(w.segments.length).toBe(1);
    w.writeBytes(big.subarray(SEG));
    expect(w.segments.length).toBe(4);
    expect(lease.used).toBe(4 * SEG);
    const { segments, length } = w.finish();
    expect(w.position).toBe(0);
    expect(w.segments).toEqual([]);
    expect(Array.from(bytesOf(segments, length))).toEqual(Array.from(big));
    const r = new PagedReader(segments, { length });
    const head = r.readBytes(new Uint8Array(10));
    expect(Array.from(head)).toEqual(Array.from(big.subarray(0, 10)));
    const rest = r.readBytes(new Uint8Array(length - 10));
    expect(Array.from(rest)).toEqual(Array.from(big.subarray(10)));
    expect(r.remaining).toBe(0);
    expectAuditOk(a);
  });

  it('a write the lease limit refuses changes nothing: not the writer, not the lease', () => {
    const a = arena();
    const lease = a.lease({ limit: 3 * SEG });
    const w = new PagedWriter(lease);
    w.writeBytes(new Uint8Array(SEG + 10).fill(1)); // 2 segments, 10 bytes into the second
    const before = { position: w.position, segments: w.segments, used: lease.used };
    // Needs 2 more segments: the first is granted, the second is over the limit.
    expect(codeOf(() => w.writeBytes(new Uint8Array(2 * SEG)))).toBe('ERR_LEASE_LIMIT');
    expect(w.position).toBe(before.position);
    expect(w.segments).toEqual(before.segments);
    expect(lease.used).toBe(before.used);
    expectAuditOk(a);
    // Fill the last segment exactly, then a single value that needs one more: refused too.
    w.writeBytes(new Uint8Array(3 * SEG - w.position).fill(2));
    expect(codeOf(() => w.writeFloat64(1))).toBe('ERR_LEASE_LIMIT');
    expect(codeOf(() => w.writeUint8(1))).toBe('ERR_LEASE_LIMIT');
    expect(w.position).toBe(3 * SEG);
    expect(lease.used).toBe(3 * SEG);
    expectAuditOk(a);
    // The data written before the refusals is intact.
    const { segments, length } = w.finish();
    const bytes = bytesOf(segments, length);
    expect(bytes.subarray(0, SEG + 10).every((b) => b === 1)).toBe(true);
    expect(bytes.subarray(SEG + 10).every((b) => b === 2)).toBe(true);
  });

  it('a write the exhausted arena refuses changes nothing, and succeeds once memory is back', () => {
    const a = arena(4);
    const hog = a.lease({ name: 'hog' });
    const held = hog.allocateMany(2);
    const lease = a.lease();
    const w = new PagedWriter(lease);
    w.writeUint32(7);
    expect(codeOf(() => w.writeBytes(new Uint8Array(2 * SEG)))).toBe('ERR_ARENA_EXHAUSTED');
    expect(w.position).toBe(4);
    expect(lease.used).toBe(SEG);
    expectAuditOk(a);
    hog.release(held);
    w.writeBytes(new Uint8Array(2 * SEG).fill(9));
    expect(w.position).toBe(4 + 2 * SEG);
    const r = new PagedReader(w.segments, { length: w.position });
    expect(r.readUint32()).toBe(7);
    expect(r.readBytes(new Uint8Array(2 * SEG)).every((b) => b === 9)).toBe(true);
    expectAuditOk(a);
  });

  it('gives back what a source handed out for a refused write (a custom SegmentSource)', () => {
    const a = arena();
    const lease = a.lease();
    let granted = 0;
    const returned: MemorySegment[] = [];
    const source: SegmentSource = {
      allocate: () => {
        if (granted === 2) throw new Error('quota');
        granted++;
        return lease.allocate();
      },
      release: (s) => {
        returned.push(s);
        lease.release(s);
      },
    };
    const w = new PagedWriter(source);
    expect(() => w.writeBytes(new Uint8Array(3 * SEG))).toThrow('quota');
    expect(returned.length).toBe(2);
    expect(w.position).toBe(0);
    expect(lease.used).toBe(0);
    // A source that hands out something else than a segment is refused, and it gets it back.
    const bad = new PagedWriter({ allocate: () => ({}) as MemorySegment, release: () => {} });
    expect(codeOf(() => bad.writeUint8(1))).toBe('ERR_INVALID_ARGUMENT');
    expect(bad.position).toBe(0);
    expectAuditOk(a);
  });

  it('discard() gives every segment back', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    w.writeBytes(new Uint8Array(2 * SEG + 1));
    expect(lease.used).toBe(3 * SEG);
    w.discard();
    expect(lease.used).toBe(0);
    expect(w.position).toBe(0);
    w.writeUint16(5); // usable again
    expect(lease.used).toBe(SEG);
    expectAuditOk(a);
  });

  it('a read past the end throws ERR_OUT_OF_BOUNDS and, with a known length, consumes nothing', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    w.writeBytes(new Uint8Array(SEG - 2));
    w.writeUint32(0xcafebabe); // straddles
    const { segments, length } = w.finish();
    const r = new PagedReader(segments, { length });
    r.skip(SEG - 2);
    expect(codeOf(() => r.readFloat64())).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => r.readBytes(new Uint8Array(5)))).toBe('ERR_OUT_OF_BOUNDS');
    expect(codeOf(() => r.skip(5))).toBe('ERR_OUT_OF_BOUNDS');
    expect(r.position).toBe(SEG - 2);
    expect(r.readUint32()).toBe(0xcafebabe);
    expect(codeOf(() => r.readUint8())).toBe('ERR_OUT_OF_BOUNDS');
    expect(r.atEnd()).toBe(true);
    // A shorter length hides the rest of the data.
    const short = new PagedReader(segments, { length: 3 });
    expect(short.readBytes(new Uint8Array(3)).length).toBe(3);
    expect(codeOf(() => short.readUint8())).toBe('ERR_OUT_OF_BOUNDS');
    expectAuditOk(a);
  });

  it('release: each segment goes back exactly once, as soon as the reader has passed it', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    for (let i = 0; i < 4 * (SEG / 8); i++) w.writeFloat64(i);
    const { segments, length } = w.finish();
    const extra = lease.allocate(); // in the list, beyond `length`: released at the end as well
    const released: number[] = [];
    const r = new PagedReader([...segments, extra], {
      length,
      release: (s) => {
        released.push(s.index);
        lease.release(s);
      },
    });
    expect(r.readFloat64()).toBe(0);
    expect(released).toEqual([]);
    r.skip(SEG - 8);
    expect(r.readFloat64()).toBe(SEG / 8); // entered segment 1: segment 0 may go
    expect(released).toEqual([segments[0]!.index]);
    expect(lease.used).toBe(4 * SEG);
    r.skip(length - r.position);
    expect(r.atEnd()).toBe(true);
    expect(released).toEqual([...segments.map((s) => s.index), extra.index]);
    expect(lease.used).toBe(0);
    r.close(); // nothing left to release: no double release
    expectAuditOk(a);
  });

  it('close() releases what the reader has not passed yet', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    w.writeBytes(new Uint8Array(3 * SEG));
    const { segments, length } = w.finish();
    const r = new PagedReader(segments, { length, release: (s) => lease.release(s) });
    r.readUint8();
    r.close();
    expect(lease.used).toBe(0);
    expect(r.atEnd()).toBe(true);
    expect(codeOf(() => r.readUint8())).toBe('ERR_OUT_OF_BOUNDS');
    r.close();
    expectAuditOk(a);
  });

  it('reads from a PageSource that refills one segment (pages of odd lengths, values split between refills)', () => {
    const a = arena();
    const lease = a.lease({ limit: SEG });
    const n = 2000;
    const data = new DataView(new ArrayBuffer(n * 8));
    for (let i = 0; i < n; i++) data.setFloat64(i * 8, i / 3, true);
    const all = new Uint8Array(data.buffer);
    const seg = lease.allocate();
    let at = 0;
    let pages = 0;
    let closed = 0;
    const source: PageSource = {
      next: (left: Page | undefined) => {
        if (left !== undefined) expect(left.segment).toBe(seg);
        if (at === all.length) return undefined;
        const len = Math.min(all.length - at, 1000 + ((pages * 37) % 901)); // never a multiple of 8 for long
        seg.write(0, all.subarray(at, at + len));
        at += len;
        pages++;
        return { segment: seg, length: len };
      },
      close: () => closed++,
    };
    const r = new PagedReader(source);
    expect(r.length).toBeUndefined();
    for (let i = 0; i < n; i++) expect(r.readFloat64()).toBe(i / 3);
    expect(r.atEnd()).toBe(true);
    expect(pages).toBeGreaterThan(10);
    // Without a known length, a read past the end leaves the reader at the end.
    expect(codeOf(() => r.readUint8())).toBe('ERR_OUT_OF_BOUNDS');
    expect(r.position).toBe(n * 8);
    r.close();
    r.close();
    expect(closed).toBe(1);
    expectAuditOk(a);
  });

  it('refuses a released segment when it enters it (ERR_SEGMENT_RELEASED)', () => {
    const a = arena();
    const lease = a.lease();
    const w = new PagedWriter(lease);
    w.writeBytes(new Uint8Array(SEG + 8));
    const { segments, length } = w.finish();
    const r = new PagedReader(segments, { length });
    lease.release(segments[1]!);
    r.skip(SEG - 4);
    expect(codeOf(() => r.readFloat64())).toBe('ERR_SEGMENT_RELEASED');
    expectAuditOk(a);
  });

  it('bad arguments throw ERR_INVALID_ARGUMENT and change nothing', () => {
    const a = arena();
    const lease: Lease = a.lease();
    const seg = lease.allocate();
    const bad = (f: () => unknown): void => expect(codeOf(f)).toBe('ERR_INVALID_ARGUMENT');
    bad(() => new PagedWriter(null as unknown as SegmentSource));
    bad(() => new PagedWriter({ allocate: () => seg } as unknown as SegmentSource));
    const w = new PagedWriter(lease);
    bad(() => w.writeUint32('1' as unknown as number));
    bad(() => w.writeFloat64(undefined as unknown as number));
    bad(() => w.writeBigInt64(1 as unknown as bigint));
    bad(() => w.writeBigUint64('1' as unknown as bigint));
    bad(() => w.writeBytes([1, 2] as unknown as Uint8Array));
    expect(w.position).toBe(0);
    expect(lease.used).toBe(SEG);
    bad(() => new PagedReader([seg, 'x'] as unknown as MemorySegment[]));
    bad(() => new PagedReader([seg], { length: SEG + 1 }));
    bad(() => new PagedReader([seg], { length: -1 }));
    bad(() => new PagedReader([seg], { length: 1.5 }));
    bad(() => new PagedReader([seg], { release: 'no' as unknown as () => void }));
    bad(() => new PagedReader(42 as unknown as PageSource));
    const withOptions = PagedReader as unknown as new (s: PageSource, o: object) => PagedReader;
    bad(() => new withOptions({ next: () => undefined }, {}));
    const r = new PagedReader([seg]);
    bad(() => r.readBytes(new Uint16Array(2) as unknown as Uint8Array));
    bad(() => r.skip(-1));
    bad(() => r.skip(0.5));
    expect(r.position).toBe(0);
    const odd = new PagedReader({ next: () => ({ segment: seg, length: SEG + 1 }) });
    bad(() => odd.readUint8());
    expectAuditOk(a);
  });
});

// ---- property: any sequence of writes reads back, and the bytes are what a DataView makes ----

type Op = { kind: Kind; value: number | bigint } | { kind: 'Bytes'; value: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom<Kind>('Uint8', 'Int8', 'Uint16', 'Int16', 'Uint32', 'Int32'), value: fc.integer({ min: -(2 ** 33), max: 2 ** 33 }) }),
  fc.record({ kind: fc.constantFrom<Kind>('Float32', 'Float64'), value: fc.double() }),
  fc.record({ kind: fc.constantFrom<Kind>('BigInt64', 'BigUint64'), value: fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }) }),
  fc.record({ kind: fc.constant<'Bytes'>('Bytes'), value: fc.uint8Array({ maxLength: 9000 }) }),
);

describe('PagedWriter → PagedReader round trip (property)', () => {
  it('reads back every value, in order, from exactly the bytes a DataView would hold', () => {
    const a = arena(128);
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 5000 }), (ops, pageStep) => {
        const lease = a.lease({ limit: 100 * SEG });
        try {
          const w = new PagedWriter(lease);
          const expected: number[] = [];
          for (const op of ops) {
            if (op.kind === 'Bytes') {
              w.writeBytes(op.value);
              expected.push(...op.value);
            } else {
              write(w, op.kind, op.value);
              expected.push(...reference(op.kind, op.value).bytes);
            }
          }
          expect(w.position).toBe(expected.length);
          expect(w.segments.length).toBe(Math.ceil(expected.length / SEG));
          expect(lease.used).toBe(w.segments.length * SEG);
          const { segments, length } = w.finish();
          expect(Array.from(bytesOf(segments, length))).toEqual(expected);
          // Read back twice: from the list, and from a PageSource cutting pages at `pageStep`.
          const bySteps = new PagedReader(stepPages(segments, length, pageStep));
          for (const r of [new PagedReader(segments, { length }), bySteps]) {
            for (const op of ops) {
              if (op.kind === 'Bytes') {
                expect(Array.from(r.readBytes(new Uint8Array(op.value.length)))).toEqual(Array.from(op.value));
              } else {
                expect(Object.is(read(r, op.kind), reference(op.kind, op.value).value)).toBe(true);
              }
            }
            expect(r.atEnd()).toBe(true);
          }
        } finally {
          lease.close();
        }
        expect(a.audit().ok).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

/** Pages of at most `step` bytes over the same data, with an empty page between every two. */
function stepPages(segments: readonly MemorySegment[], length: number, step: number): PageSource {
  const pages: Page[] = [];
  let left = length;
  for (const segment of segments) {
    const inSeg = Math.min(segment.size, left);
    left -= inSeg;
    for (let offset = 0; offset < inSeg; offset += step) {
      pages.push({ segment, offset, length: Math.min(step, inSeg - offset) });
      pages.push({ segment, offset: inSeg, length: 0 });
    }
  }
  let i = 0;
  return { next: () => pages[i++] };
}
