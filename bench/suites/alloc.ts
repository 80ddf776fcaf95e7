/**
 * alloc suite: the arena's hot path, `lease.allocate()` + `lease.release()` of one cached
 * 32 KiB segment, against what a program would otherwise use for a 32 KiB buffer.
 *
 * Subject: a warm arena (64 MiB, default options, scrub on); the lease gets its own segment
 * back each time, so nothing is zeroed (the scrub suite measures the zeroing path).
 * Baselines, all measured in the same rounds (core.ts: tinybench batches, alternating order):
 *   - `new ArrayBuffer(32 KiB)`                       goal: the arena >= 100x faster
 *   - `Buffer.allocUnsafe(32 KiB)`                    (pooled only below 4 KiB: a real allocation)
 *   - @thi.ng/malloc MemPool, a general-purpose allocator in one ArrayBuffer, holding 4096 live
 *     32 KiB blocks: (lifo) `mallocAs('u8', 32 KiB)` + `free` of the same block, a view on it
 *     as a segment gives one; (fifo) `malloc` of a new block + `free` of the oldest live one,
 *     the order a queue of buffers frees in (free() walks the list of live blocks)
 *   - a mutex free list (bench/workers/mutex-free-list.ts): a stack of 32 KiB blocks in a
 *     SharedArrayBuffer behind a spin-then-Atomics.wait lock word, one thread, uncontended
 *     (its best case: two RMWs per pop or push); it hands out an offset, not an object
 *   - the protocol floor: the three seq-cst RMWs an allocate+release pair cannot avoid
 *     (charge CAS, generation CAS, uncharge), measured alone. Its ratio against
 *     `new ArrayBuffer` bounds what the first row can reach on this machine.
 * All rows but the first inform. Ratios are baseline time / arena time (> 1: arena faster).
 */
import { MemPool } from '@thi.ng/malloc';
import { Arena } from '../../src/index.js';
import { median } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { MutexFreeList } from '../workers/mutex-free-list.js';
import { SEG, runRounds, span, timeRow, type Subject } from './core.js';

/** Live blocks in the MemPool baseline. */
const LIVE = 4096;

let sink = 0;
const keep: unknown[] = new Array<unknown>(8).fill(null);

interface Fixture {
  readonly list: Subject[];
  close(): string[];
}

function fixture(): Fixture {
  // Default options (scrub on); big enough that the thread cache works with full batches.
  const arena = new Arena({ size: '64MiB' });
  const lease = arena.lease({ name: 'alloc-bench' });

  // MemPool over one ArrayBuffer: LIVE live blocks + the one each op takes, with headers and slack.
  const pool = new MemPool({ size: (LIVE + 4) * (SEG + 64) });
  const live = new Float64Array(LIVE);
  for (let k = 0; k < LIVE; k++) {
    const addr = pool.malloc(SEG);
    if (addr === 0) throw new Error(`MemPool refused live block ${k}`);
    live[k] = addr;
  }
  let oldest = 0;

  const mutex = new MutexFreeList(MutexFreeList.create(64, SEG));
  const words = new Int32Array(new SharedArrayBuffer(64 * 4));

  const list: Subject[] = [
    {
      name: 'arena',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const s = lease.allocate();
          keep[k & 7] = s;
          lease.release(s);
        }
      },
    },
    {
      name: 'arrayBuffer',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const b = new ArrayBuffer(SEG);
          keep[k & 7] = b;
          sink ^= b.byteLength;
        }
      },
    },
    {
      name: 'allocUnsafe',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const b = Buffer.allocUnsafe(SEG);
          keep[k & 7] = b;
          sink ^= b.length;
        }
      },
    },
    {
      name: 'mempoolLifo',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const v = pool.mallocAs('u8', SEG);
          if (v === undefined) throw new Error('MemPool: out of memory');
          keep[k & 7] = v;
          pool.free(v);
        }
      },
    },
    {
      name: 'mempoolFifo',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const addr = pool.malloc(SEG);
          if (addr === 0) throw new Error('MemPool: out of memory');
          const old = live[oldest]!;
          live[oldest] = addr;
          oldest = oldest + 1 === LIVE ? 0 : oldest + 1;
          if (!pool.free(old)) throw new Error('MemPool: free of a live block failed');
          sink ^= addr;
        }
      },
    },
    {
      name: 'mutex',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const off = mutex.pop();
          sink ^= off;
          mutex.push(off);
        }
      },
    },
    {
      // lease-table.ts charge/uncharge and segment-table.ts bumpGeneration, on words of
      // separate lines, nothing else.
      name: 'rmw3',
      run: (n) => {
        for (let k = 0; k < n; k++) {
          const u = words[0]!;
          Atomics.compareExchange(words, 0, u, u + 1);
          const g = words[16]!;
          Atomics.compareExchange(words, 16, g, (g + 1) | 0);
          Atomics.sub(words, 0, 1);
        }
        sink ^= words[16]!;
      },
    },
  ];
  return {
    list,
    close: () => {
      const problems: string[] = [];
      lease.close();
      const audit = arena.audit();
      arena.close();
      if (!audit.ok) problems.push(`arena audit failed after the bench: ${audit.problems.join('; ')}`);
      if (mutex.free() !== mutex.blocks) problems.push(`mutex free list: ${mutex.free()} of ${mutex.blocks} blocks free after the bench`);
      const used = pool.stats().used.count;
      if (used !== LIVE) problems.push(`MemPool: ${used} live blocks after the bench, expected ${LIVE}`);
      return problems;
    },
  };
}

export const allocSuite: Suite = {
  name: 'alloc',
  description: 'allocate+release of a cached 32 KiB segment vs ArrayBuffer, allocUnsafe, MemPool, a mutex free list',
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    const rounds = options.quick ? 3 : 11;
    const roundMs = options.quick ? 30 : 120;
    options.progress(0, 'alloc: setting up (MemPool with 4096 live blocks)');
    const { list, close } = fixture();
    let ns: Map<string, number[]>;
    let problems: string[];
    try {
      // Warm the arena: the thread cache is refilled and the lease's segment bound once.
      list[0]!.run(64);
      ns = runRounds(list, { rounds, roundMs, progress: span(options, 0.02, 1), label: 'alloc' });
    } finally {
      problems = close();
    }
    for (const p of problems) options.log(`alloc: ${p}`);
    const get = (name: string): number[] => ns.get(name)!;
    const arena = get('arena');
    const floor = median(get('rmw3'));
    const subject = 'lease.allocate+release (cached)';
    const rows: BenchRow[] = [
      timeRow({
        id: 'alloc/arena-vs-arraybuffer',
        subject,
        baseline: 'new ArrayBuffer(32 KiB)',
        of: arena,
        against: get('arrayBuffer'),
        goal: 100,
        notes: [
          'warm arena, default options (scrub on); the same lease gets its own segment back, so nothing is zeroed',
          `floor set by the protocol's three seq-cst RMWs: ${floor.toFixed(1)} ns, i.e. at most ${(median(get('arrayBuffer')) / floor).toFixed(0)}x here even with no other work`,
          ...problems,
        ],
      }),
      timeRow({ id: 'alloc/arena-vs-allocunsafe', subject, baseline: 'Buffer.allocUnsafe(32 KiB)', of: arena, against: get('allocUnsafe'), goal: null }),
      timeRow({
        id: 'alloc/arena-vs-mempool-lifo',
        subject,
        baseline: `MemPool mallocAs+free, ${LIVE} live`,
        of: arena,
        against: get('mempoolLifo'),
        goal: null,
        notes: [`@thi.ng/malloc MemPool holding ${LIVE} live 32 KiB blocks; the block just allocated is freed again (head of its list: its best case), a Uint8Array view per allocation`],
      }),
      timeRow({
        id: 'alloc/arena-vs-mempool-fifo',
        subject,
        baseline: `MemPool malloc+free oldest, ${LIVE} live`,
        of: arena,
        against: get('mempoolFifo'),
        goal: null,
        notes: [`MemPool with ${LIVE} live blocks: allocate one, free the oldest (a queue of buffers); free() walks the live-block list, so its cost grows with the live count. The arena's release is O(1) whatever the order`],
      }),
      timeRow({
        id: 'alloc/arena-vs-mutex-free-list',
        subject,
        baseline: 'mutex free list pop+push',
        of: arena,
        against: get('mutex'),
        goal: null,
        notes: [
          'a stack of 32 KiB blocks in a SharedArrayBuffer behind a spin-then-Atomics.wait lock; one thread, never contended (its best case: 2 RMWs per pop or push); returns an offset, no object, no ownership or generation check, no lease limit',
        ],
      }),
      timeRow({
        id: 'alloc/rmw-floor-vs-arraybuffer',
        subject: "3 seq-cst RMWs (a pair's atomics)",
        baseline: 'new ArrayBuffer(32 KiB)',
        of: get('rmw3'),
        against: get('arrayBuffer'),
        goal: null,
        notes: ['charge CAS + generation CAS + uncharge sub, nothing else: the ratio here bounds the first row'],
      }),
      timeRow({
        id: 'alloc/arena-vs-rmw-floor',
        subject,
        baseline: "3 seq-cst RMWs (a pair's atomics)",
        of: arena,
        against: get('rmw3'),
        goal: null,
        notes: ['how close the pair comes to its floor (1.0 = nothing but the three RMWs)'],
      }),
    ];
    if (sink === 0.5) console.log(keep); // never true; keeps sink and keep observable
    return rows;
  },
};
