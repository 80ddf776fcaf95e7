/**
 * The records the showcase sorts, and what every part of the job agrees on about them.
 *
 * A record is 16 bytes, little-endian: a float64 key, a uint32 id and a uint32 stamp. Code that
 * moves records handles them as four 32-bit words (w0 = key bits 0–31, w1 = key bits 32–63,
 * w2 = id, w3 = stamp), so no NaN payload can ever be changed by a float round trip. Hot loops
 * carry the words as int32 (the same bits): V8 keeps int32 values unboxed, where a uint32 above
 * 2^31 becomes a heap number whenever it crosses a call that was not inlined. Every function
 * here gives the same result for either reading of the bits.
 *
 * Order: by key, as the IEEE-754 total order (numeric order for every non-NaN value, with
 * -0 before +0). A key's 64 bits, transformed by {@link sortHi}/{@link sortLo}, compare as an
 * unsigned integer in exactly that order (flip the sign bit of a positive key, every bit of a
 * negative one): the radix sort sorts on those bits, the merges and the check compare them.
 */

/** Bytes per record. */
export const RECORD_BYTES = 16;
/** uint32 words per record. */
export const RECORD_WORDS = 4;

/** The high word of the order-preserving form of a key whose raw words are (lo, hi). */
export function sortHi(hi: number): number {
  return (hi ^ ((hi >> 31) | 0x80000000)) >>> 0;
}

/** The low word of the order-preserving form of a key whose raw high word is `hi`. */
export function sortLo(lo: number, hi: number): number {
  return (lo ^ (hi >> 31)) >>> 0;
}

/** The raw high word back from the order-preserving one. */
export function rawHi(sHi: number): number {
  return (sHi ^ (~(sHi >> 31) | 0x80000000)) >>> 0;
}

/** The raw low word back from the order-preserving words. */
export function rawLo(sLo: number, sHi: number): number {
  return (sLo ^ ~(sHi >> 31)) >>> 0;
}

/** A 32-bit hash of one record's four words (murmur3's finalizer, fed word by word). */
export function recordHash(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w3, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const SUM_MOD = 2 ** 52;

/**
 * An order-independent checksum of a multiset of records: their count, the sum of their hashes
 * (mod 2^52, exact in a double) and the xor of a second hash. Equal for the same records in any
 * order; a lost, duplicated or changed record shows.
 */
export class Checksum {
  count = 0;
  private sum = 0;
  private xor = 0;

  add(w0: number, w1: number, w2: number, w3: number): void {
    const h = recordHash(w0, w1, w2, w3);
    this.count++;
    this.sum += h;
    if (this.sum >= SUM_MOD) this.sum -= SUM_MOD;
    this.xor = (this.xor ^ Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)) >>> 0;
  }

  /** The checksum as text (count aside): sum and xor in hex. */
  get digest(): string {
    return `${this.sum.toString(16).padStart(13, '0')}-${this.xor.toString(16).padStart(8, '0')}`;
  }
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32:
 * fast, 32-bit, and the same sequence for the same seed on every machine.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32 random bits, as an int32. */
  i32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t;
  }

  /** The next 32 random bits, as a uint32. */
  u32(): number {
    return this.i32() >>> 0;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}
