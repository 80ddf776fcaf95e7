/**
 * scrub suite: what a task pays for a 32 KiB segment that another lease used before, against
 * what zeroed fresh memory costs without the arena.
 *
 * Subject: two leases of one warm arena (64 MiB, default options: scrub on) take turns:
 * lease A allocates and releases a segment, then lease B gets that same segment back from the
 * thread cache, so every allocation zeroes 32 KiB before it returns (DESIGN §3: no task reads
 * another task's bytes). One op = one allocate (with the zeroing) + one release.
 * Baselines in the same rounds (core.ts: tinybench batches, alternating order):
 *   - `new Uint8Array(32 KiB)`: fresh zeroed memory              goal: the arena >= 1.0x
 *   - `Buffer.alloc(32 KiB)` (zeroed)                            info
 *   - the same-lease path (no zeroing): what the scrub costs     info
 *   - the zeroing alone, `BigInt64Array.fill(0n)` over 32 KiB of a SharedArrayBuffer (what
 *     bind() uses): the floor of the subject                     info
 * Ratios are baseline time / subject time (> 1: the subject is faster).
 */
import { Arena } from '../../src/index.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { SEG, runRounds, span, timeRow, type Subject } from './core.js';

let sink = 0;
const keep: unknown[] = new Array<unknown>(8).fill(null);

export const scrubSuite: Suite = {
  name: 'scrub',
  description: 'cross-lease reuse of a 32 KiB segment (zeroed on reuse) vs new Uint8Array(32 KiB)',
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    const rounds = options.quick ? 3 : 11;
    const roundMs = options.quick ? 30 : 120;
    const arena = new Arena({ size: '64MiB' });
    const a = arena.lease({ name: 'scrub-a' });
    const b = arena.lease({ name: 'scrub-b' });
    const zeroBuf = new SharedArrayBuffer(SEG);
    const zero64 = new BigInt64Array(zeroBuf);
    const zero8 = new Uint8Array(zeroBuf);
    let turn = 0;
    const list: Subject[] = [
      {
        // The leases alternate (across batches too), so each allocation receives the segment
        // the other lease just released.
        name: 'crossLease',
        run: (n) => {
          for (let k = 0; k < n; k++) {
            const l = (turn ^= 1) === 0 ? a : b;
            const s = l.allocate();
            keep[k & 7] = s;
            l.release(s);
          }
        },
      },
      {
        name: 'sameLease',
        run: (n) => {
          for (let k = 0; k < n; k++) {
            const s = a.allocate();
            keep[k & 7] = s;
            a.release(s);
          }
        },
      },
      {
        name: 'uint8Array',
        run: (n) => {
          for (let k = 0; k < n; k++) {
            const u = new Uint8Array(SEG);
            keep[k & 7] = u;
            sink ^= u.length;
          }
        },
      },
      {
        name: 'bufferAlloc',
        run: (n) => {
          for (let k = 0; k < n; k++) {
            const u = Buffer.alloc(SEG);
            keep[k & 7] = u;
            sink ^= u.length;
          }
        },
      },
      {
        name: 'zeroFill',
        run: (n) => {
          for (let k = 0; k < n; k++) {
            zero8[k & 4095] = 1; // dirty it, as a used segment would be
            zero64.fill(0n);
          }
          sink ^= zero8[0]!;
        },
      },
    ];
    let ns: Map<string, number[]>;
    let problem: string | null = null;
    try {
      // Warm up: both leases have bound the segment once.
      list[0]!.run(64);
      ns = runRounds(list, { rounds, roundMs, progress: span(options, 0, 1), label: 'scrub' });
    } finally {
      a.close();
      b.close();
      const audit = arena.audit();
      arena.close();
      if (!audit.ok) problem = `arena audit failed after the bench: ${audit.problems.join('; ')}`;
    }
    if (problem !== null) options.log(`scrub: ${problem}`);
    const get = (name: string): number[] => ns.get(name)!;
    const cross = get('crossLease');
    const subject = 'allocate+release, segment changes lease (zeroed)';
    const rows: BenchRow[] = [
      timeRow({
        id: 'scrub/cross-lease-vs-uint8array',
        subject,
        baseline: 'new Uint8Array(32 KiB)',
        of: cross,
        against: get('uint8Array'),
        goal: 1,
        notes: [
          'two leases take turns on one segment, so every allocation zeroes 32 KiB first: what a task pays for a segment another task used',
          ...(problem === null ? [] : [problem]),
        ],
      }),
      timeRow({ id: 'scrub/cross-lease-vs-buffer-alloc', subject, baseline: 'Buffer.alloc(32 KiB)', of: cross, against: get('bufferAlloc'), goal: null }),
      timeRow({
        id: 'scrub/cross-lease-vs-same-lease',
        subject,
        baseline: 'allocate+release, same lease (no zeroing)',
        of: cross,
        against: get('sameLease'),
        goal: null,
        notes: ['below 1: the price of scrubbing; 1 / ratio = how many times slower a reuse by another lease is'],
      }),
      timeRow({
        id: 'scrub/cross-lease-vs-zero-floor',
        subject,
        baseline: 'BigInt64Array.fill(0n), 32 KiB shared',
        of: cross,
        against: get('zeroFill'),
        goal: null,
        notes: ['the zeroing alone on a SharedArrayBuffer (what bind() does): the floor of the subject; 1.0 = nothing but zeroing'],
      }),
    ];
    if (sink === 0.5) console.log(keep); // never true; keeps sink and keep observable
    return rows;
  },
};
