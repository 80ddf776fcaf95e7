/**
 * size-sweep suite: is allocate+release O(1) in the arena's size?
 *
 * Subject: `lease.allocate()` + `lease.release()` of one cached 32 KiB segment (default
 * options), on arenas of 1 MiB, 4 MiB, … 4 GiB (powers of 4; --quick stops at 1 GiB). All the
 * arenas exist at once and are timed in the same rounds, alternating order (core.ts:
 * tinybench batches). A SharedArrayBuffer's pages are committed lazily and the bench touches
 * only the few segments it cycles, so even 4 GiB costs little real memory. A size the arena
 * or Node refuses is skipped and named in the notes.
 * Baseline: the same loop on the smallest arena. Each row's ratio is, per round,
 * (ns at 1 MiB) / (ns at this size): 1.0 = as cheap as on the smallest arena; the goal 0.8
 * (at most 1.25x the smallest arena's cost) stands for "flat". Small arenas get small cache
 * batches (segmentCount / 64, at least 1), so a difference here is the batch size, never
 * a walk over the arena. Each row notes how long `new Arena` took at that size (one sample,
 * noisy: creation initialises the control words of every segment, so it grows with the size).
 */
import { Arena, type Lease } from '../../src/index.js';
import { median } from '../stats.js';
import type { BenchRow, ChartPoint, Suite, SuiteOptions } from '../types.js';
import { runRounds, span, timeRow, type Subject } from './core.js';

const MiB = 1024 * 1024;
const SIZES_MIB = [1, 4, 16, 64, 256, 1024, 4096];
const QUICK_MAX_MIB = 1024;
const SERIES = 'allocate+release';

const keep: unknown[] = new Array<unknown>(8).fill(null);

interface Sized {
  readonly mib: number;
  readonly arena: Arena;
  readonly lease: Lease;
  readonly createMs: number;
}

const label = (mib: number): string => (mib >= 1024 ? `${mib / 1024}GiB` : `${mib}MiB`);

function subjectFor(s: Sized): Subject {
  const lease = s.lease;
  return {
    name: label(s.mib),
    run: (n) => {
      for (let k = 0; k < n; k++) {
        const seg = lease.allocate();
        keep[k & 7] = seg;
        lease.release(seg);
      }
    },
  };
}

export const sizeSweepSuite: Suite = {
  name: 'size-sweep',
  description: 'allocate+release cost on arenas from 1 MiB to 4 GiB (flat = O(1))',
  chart: { title: 'allocate+release of a cached 32 KiB segment vs arena size', x: 'arena size (MiB)', y: 'ns per allocate+release', logX: true },
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    const rounds = options.quick ? 3 : 11;
    const roundMs = options.quick ? 25 : 100;
    const sizes = SIZES_MIB.filter((m) => !options.quick || m <= QUICK_MAX_MIB);
    const skipped: string[] = [];
    if (options.quick) skipped.push(`--quick: sizes above ${label(QUICK_MAX_MIB)} not measured`);
    const arenas: Sized[] = [];
    try {
      for (const [k, mib] of sizes.entries()) {
        options.progress((0.1 * k) / sizes.length, `size-sweep: creating a ${label(mib)} arena`);
        const t0 = performance.now();
        let arena: Arena;
        try {
          arena = new Arena({ size: mib * MiB });
        } catch (e) {
          const why = e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
          skipped.push(`${label(mib)} skipped: ${why}`);
          options.log(`size-sweep: ${label(mib)} skipped (${why})`);
          continue;
        }
        const createMs = performance.now() - t0;
        arenas.push({ mib, arena, lease: arena.lease({ name: `sweep-${label(mib)}` }), createMs });
      }
      if (arenas.length < 2) throw new Error(`size-sweep: fewer than two arena sizes could be created (${skipped.join('; ')})`);
      const list = arenas.map(subjectFor);
      for (const s of list) s.run(64); // bind each lease's segment once, fill each cache
      const ns = runRounds(list, { rounds, roundMs, progress: span(options, 0.1, 1), label: 'size-sweep' });
      const base = arenas[0]!;
      const baseNs = ns.get(label(base.mib))!;
      const points: ChartPoint[] = arenas.map((s) => ({ series: SERIES, x: s.mib, y: median(ns.get(label(s.mib))!) }));
      return arenas.slice(1).map((s, k) =>
        timeRow({
          id: `size-sweep/${label(s.mib)}-vs-${label(base.mib)}`,
          subject: `allocate+release, ${label(s.mib)} arena (${s.arena.segmentCount} segments)`,
          baseline: `same, ${label(base.mib)} arena`,
          of: ns.get(label(s.mib))!,
          against: baseNs,
          goal: 0.8,
          notes: [
            `new Arena took ${s.createMs.toFixed(1)} ms at ${label(s.mib)} (${base.createMs.toFixed(1)} ms at ${label(base.mib)})`,
            ...(k === 0 ? skipped : []),
          ],
          ...(k === 0 ? { points } : {}),
        }),
      );
    } finally {
      for (const s of arenas) {
        s.lease.close();
        const audit = s.arena.audit();
        s.arena.close();
        if (!audit.ok) options.log(`size-sweep: audit of the ${label(s.mib)} arena failed: ${audit.problems.join('; ')}`);
      }
    }
  },
};
