/**
 * A baseline of the alloc suite: the textbook alternative to a lock-free allocator, a stack of
 * fixed-size blocks carved from one SharedArrayBuffer behind a mutex.
 *
 * The lock word follows U. Drepper, "Futexes Are Tricky" (2011), mutex #3: 0 = unlocked,
 * 1 = locked, 2 = locked and someone may sleep. Lock: one CAS 0 -> 1 when uncontended;
 * otherwise spin a little (SPINS re-reads), then mark the word 2 and sleep in Atomics.wait
 * until an unlock notifies. Unlock: one atomic decrement; only if it was 2 (a sleeper may
 * exist) store 0 and notify one. So an uncontended pop or push costs two RMWs (CAS + sub),
 * plus plain reads and writes of the stack inside the critical section.
 *
 * Usable from any thread (the buffers are shared); the alloc suite uses it single-threaded and
 * uncontended, which is this design's best case. `Atomics.wait` would block a main thread, but
 * uncontended it is never reached.
 *
 * Words of `meta` (Int32): LOCK at 0, TOP (number of free blocks) at 16 (its own line),
 * the stack of free block indices from 32. Blocks live in `data`, block i at i * blockSize.
 */
const LOCK = 0;
const TOP = 16;
const STACK = 32;
const SPINS = 64;

export interface MutexFreeListBuffers {
  readonly meta: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
  readonly blockSize: number;
  readonly blocks: number;
}

export class MutexFreeList {
  private readonly words: Int32Array;
  readonly blockSize: number;
  readonly blocks: number;
  readonly data: SharedArrayBuffer;

  constructor(b: MutexFreeListBuffers) {
    this.words = new Int32Array(b.meta);
    this.blockSize = b.blockSize;
    this.blocks = b.blocks;
    this.data = b.data;
  }

  /** Buffers for `blocks` blocks of `blockSize` bytes, all free. */
  static create(blocks: number, blockSize: number): MutexFreeListBuffers {
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError('blocks must be a positive integer');
    const meta = new SharedArrayBuffer((STACK + blocks) * 4);
    const data = new SharedArrayBuffer(blocks * blockSize);
    const w = new Int32Array(meta);
    for (let i = 0; i < blocks; i++) w[STACK + i] = blocks - 1 - i;
    w[TOP] = blocks;
    return { meta, data, blockSize, blocks };
  }

  private lock(): void {
    const w = this.words;
    let c = Atomics.compareExchange(w, LOCK, 0, 1);
    if (c === 0) return;
    for (let k = 0; k < SPINS; k++) {
      if (Atomics.load(w, LOCK) === 0) {
        c = Atomics.compareExchange(w, LOCK, 0, 1);
        if (c === 0) return;
      }
    }
    if (c !== 2) c = Atomics.exchange(w, LOCK, 2);
    while (c !== 0) {
      Atomics.wait(w, LOCK, 2);
      c = Atomics.exchange(w, LOCK, 2);
    }
  }

  private unlock(): void {
    const w = this.words;
    if (Atomics.sub(w, LOCK, 1) !== 1) {
      Atomics.store(w, LOCK, 0);
      Atomics.notify(w, LOCK, 1);
    }
  }

  /** Take a free block: its byte offset in `data`, or -1 when none is free. */
  pop(): number {
    const w = this.words;
    this.lock();
    const top = w[TOP]!;
    let offset = -1;
    if (top > 0) {
      w[TOP] = top - 1;
      offset = w[STACK + top - 1]! * this.blockSize;
    }
    this.unlock();
    return offset;
  }

  /** Give back the block at byte offset `offset` (taken by pop and not given back since). */
  push(offset: number): void {
    const w = this.words;
    this.lock();
    const top = w[TOP]!;
    w[STACK + top] = offset / this.blockSize;
    w[TOP] = top + 1;
    this.unlock();
  }

  /** Free blocks now (quiescent use: a check after the bench). */
  free(): number {
    return Atomics.load(this.words, TOP);
  }
}
