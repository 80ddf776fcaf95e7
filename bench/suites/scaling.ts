/**
 * scaling suite: aggregate allocate/release throughput with 1, 2, … availableParallelism()
 * threads, each thread with its own lease on one arena (goal: 2 threads >= 1.8x one thread).
 *
 * Method (thread-rig.ts): persistent workers, one per CPU (at least two); a round lets n of
 * them loop on allocate+release for a fixed window while the main thread sleeps, and sums
 * their ops/s. Each configuration is measured as a set of rounds, one per thread count, in
 * every rep, ascending on even reps and descending on odd ones; a row reports the median of
 * the per-rep ratios. Configurations measured in the same reps:
 *   - arena, hold 1: allocate then release the same segment (the goal row: 2T vs 1T);
 *   - arena, hold 4: each op allocates one and releases the oldest of 4 held (FIFO), info;
 *   - baseline: the same hold-1 loop on one shared Treiber head (bench/workers/treiber.ts,
 *     an Int32 head word and no per-thread caches): rows "arena vs Treiber" at each count;
 *   - a compute probe that shares nothing: the scaling this VM gives n threads at all.
 * Disturbance: a set in which a worker lacked its core for more than 10% of a window
 * (poll gaps, process CPU time, hypervisor steal: thread-rig.ts) is measured again, a few
 * tries while the time budget lasts; rows use the undisturbed sets, say how many were left
 * out, and are UNRELIABLE when none was undisturbed.
 * Chart: ops/s (millions) against threads for the arena, the Treiber head and the compute
 * probe scaled to the arena's 1-thread rate (the ideal the machine allows); all points ride on
 * the first row.
 */
import { availableParallelism } from 'node:os';
import { pairedRow } from '../rows.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, ChartPoint, Suite, SuiteOptions } from '../types.js';
import type { WorkMode } from '../workers/protocol.js';
import { ThreadRig, type RoundResult } from './thread-rig.js';

interface Config {
  readonly mode: WorkMode;
  readonly hold: number;
}

const COMPUTE: Config = { mode: 'compute', hold: 0 };
const ARENA: Config = { mode: 'arena', hold: 1 };
const TREIBER: Config = { mode: 'treiber', hold: 1 };
const ARENA4: Config = { mode: 'arena', hold: 4 };
const CONFIGS: readonly Config[] = [COMPUTE, ARENA, TREIBER, ARENA4];

const label = (c: Config): string =>
  c.mode === 'arena' ? `arena, hold ${c.hold}` : c.mode === 'treiber' ? `shared Treiber head, hold ${c.hold}` : 'compute probe (private ALU loop)';
const slug = (c: Config): string =>
  c.mode === 'compute' ? 'compute-probe' : c.mode === 'treiber' ? 'treiber' : c.hold === 1 ? 'arena' : `arena-hold${c.hold}`;

/** A set counts only if every active worker was on the CPU this much of each window. */
const MIN_ON_CPU = 0.9;

/** One measurement of a configuration at every thread count: index n - 1 holds n threads. */
type RoundSet = readonly RoundResult[];

const undisturbed = (s: RoundSet): boolean => s.every((r) => r.onCpu >= MIN_ON_CPU);
const mops = (r: RoundResult): number => r.rate / 1e6;

export const scalingSuite: Suite = {
  name: 'scaling',
  description: 'aggregate allocate/release ops/s, 1..N threads with a lease each, vs one shared Treiber head',
  chart: { title: 'allocate+release throughput vs threads', x: 'threads', y: 'ops/s (millions)' },
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    const t0 = performance.now();
    const maxThreads = Math.max(2, availableParallelism());
    const counts = Array.from({ length: maxThreads }, (_, k) => k + 1);
    const reps = options.quick ? 3 : 7;
    const windowMs = options.quick ? 60 : 200;
    /** Tries per set before a disturbed set is kept anyway (and flagged). */
    const attempts = options.quick ? 2 : 3;
    /** No re-measuring after this long (ms since start): keeps a busy machine's run bounded. */
    const budgetMs = options.quick ? 8_000 : 60_000;
    const rig = await ThreadRig.start(maxThreads);
    let problems: string[] = [];
    const sets = CONFIGS.map((): RoundSet[] => []);
    const remeasured = CONFIGS.map(() => 0);
    try {
      // Warm-up: let every worker's JIT optimise every loop; not recorded.
      for (const [k, c] of CONFIGS.entries()) {
        options.progress((0.1 * k) / CONFIGS.length, `scaling: warm-up, ${label(c)}`);
        await rig.measure(c.mode, c.hold, maxThreads, options.quick ? 40 : 150);
        await rig.measure(c.mode, c.hold, 1, options.quick ? 20 : 50);
      }
      for (let rep = 0; rep < reps; rep++) {
        for (const [k, c] of CONFIGS.entries()) {
          options.progress(0.1 + (0.9 * (rep * CONFIGS.length + k)) / (reps * CONFIGS.length), `scaling: rep ${rep + 1}/${reps}, ${label(c)}`);
          let set: RoundResult[] = [];
          for (let attempt = 0; attempt < attempts; attempt++) {
            // Ascending on even reps, descending on odd ones: no count always runs first.
            const order = rep % 2 === 0 ? counts : [...counts].reverse();
            set = new Array<RoundResult>(maxThreads);
            for (const n of order) set[n - 1] = await rig.measure(c.mode, c.hold, n, windowMs);
            if (undisturbed(set)) break;
            if (attempt + 1 >= attempts || performance.now() - t0 > budgetMs) break;
            remeasured[k]!++;
          }
          sets[k]!.push(set);
        }
        options.log(`scaling: rep ${rep + 1}/${reps} done`);
      }
    } finally {
      problems = await rig.stop();
    }
    options.progress(1, 'scaling: done');

    const kept = (k: number): number => sets[k]!.filter(undisturbed).length;
    /** The sets a row is computed from: the undisturbed ones, or all if none was. */
    const used = (k: number): RoundSet[] => (kept(k) > 0 ? sets[k]!.filter(undisturbed) : sets[k]!);
    const at = (k: number, n: number): number[] => used(k).map((s) => mops(s[n - 1]!));
    const disturbanceNotes = (k: number): string[] => {
      const notes: string[] = [];
      const total = sets[k]!.length;
      if (kept(k) < total) {
        if (kept(k) === 0) {
          notes.push(`UNRELIABLE: no rep had the cores (a worker lacked its core for > ${Math.round((1 - MIN_ON_CPU) * 100)}% of a window: preempted or stolen); the machine was busy`);
        } else {
          const all = sets[k]!;
          const withAll = pairedRatio(all.map((s) => mops(s[1]!)), all.map((s) => mops(s[0]!)));
          notes.push(`${total - kept(k)} of ${total} reps stayed disturbed and are left out; with them the 2T/1T median is ${withAll.median.toFixed(2)}x`);
        }
      }
      if (remeasured[k]! > 0) notes.push(`${remeasured[k]} disturbed set(s) re-measured`);
      return notes;
    };
    const row = (r: {
      id: string;
      subject: string;
      baseline: string;
      num: readonly number[];
      den: readonly number[];
      goal: number | null;
      reliable: boolean;
      notes: string[];
      points?: ChartPoint[];
    }): BenchRow =>
      pairedRow({
        id: r.id, subject: r.subject, baseline: r.baseline, unit: 'Mops/s', goal: r.goal, better: 'higher',
        subjectValues: r.num, baselineValues: r.den, notes: r.notes, reliable: r.reliable,
        ...(r.points === undefined ? {} : { points: r.points }),
      });

    const ci = CONFIGS.indexOf(COMPUTE);
    const ai = CONFIGS.indexOf(ARENA);
    const ti = CONFIGS.indexOf(TREIBER);

    // Chart: medians over the sets each row uses; the probe scaled to the arena at 1 thread.
    const arena1 = median(at(ai, 1));
    const points: ChartPoint[] = [
      ...counts.map((n) => ({ series: 'arena', x: n, y: median(at(ai, n)) })),
      ...counts.map((n) => ({ series: 'shared Treiber head', x: n, y: median(at(ti, n)) })),
      ...counts.map((n) => ({
        series: 'compute probe',
        x: n,
        y: arena1 * median(used(ci).map((s) => s[n - 1]!.rate / s[0]!.rate)),
      })),
    ];

    const rows: BenchRow[] = [];
    // n threads vs 1 thread, per configuration; the goal row (arena, 2 threads) first.
    for (const k of [ai, CONFIGS.indexOf(ARENA4), ti, ci]) {
      const c = CONFIGS[k]!;
      for (const n of counts.slice(1)) {
        const notes: string[] = [`per-rep ${n}T/1T: ${pairedRatio(at(k, n), at(k, 1)).ratios.map((x) => x.toFixed(2)).join(' ')}`];
        if (n === 2) notes.push(...disturbanceNotes(k));
        if (c.mode === 'treiber') {
          const fail = (m: number): number => median(used(k).map((s) => s[m - 1]!.retries / Math.max(1, s[m - 1]!.ops)));
          notes.push(`failed head CASes per pop+push pair: ${fail(n).toFixed(3)} with ${n} threads, ${fail(1).toFixed(3)} with 1`);
        }
        if (c.mode === 'compute') {
          notes.push(`shares nothing: the scaling this VM gave ${n} threads in these reps; well below ${n}x its vCPUs were not ${n} free cores`);
        } else {
          // Against the probe of the same rep: how much of the machine's own scaling survives.
          const eff = sets[k]!.flatMap((s, rep) => {
            const p = sets[ci]![rep]!;
            return undisturbed(s) && undisturbed(p) ? [s[n - 1]!.rate / s[0]!.rate / (p[n - 1]!.rate / p[0]!.rate)] : [];
          });
          if (eff.length > 0) notes.push(`relative to the compute probe of the same rep: ${median(eff).toFixed(2)} (median over ${eff.length} reps)`);
        }
        const first = rows.length === 0;
        if (first) notes.push(...problems);
        rows.push(
          row({
            id: `scaling/${slug(c)}-${n}t-vs-1t`,
            subject: `${n} threads, ${label(c)}`,
            baseline: `1 thread, ${label(c)}`,
            num: at(k, n),
            den: at(k, 1),
            goal: c === ARENA && n === 2 ? 1.8 : null,
            reliable: kept(k) > 0,
            notes,
            ...(first ? { points } : {}),
          }),
        );
      }
    }
    // Why caches matter: the arena against one shared head at the same thread count, over the
    // reps in which both were undisturbed (all reps if there is none). The two were measured in
    // the same rep, a few windows apart rather than back to back: a rougher ratio.
    let pairs = sets[ai]!.map((s, rep) => [s, sets[ti]![rep]!] as const).filter(([x, y]) => undisturbed(x) && undisturbed(y));
    const bothGood = pairs.length > 0;
    if (!bothGood) pairs = sets[ai]!.map((s, rep) => [s, sets[ti]![rep]!] as const);
    for (const n of counts) {
      const notes: string[] = [];
      if (n === 1) notes.push('one thread: no contention; an arena pair does more than a pop+push (lease charge, generation CAS, a segment object)');
      else notes.push(`the Treiber head is one word all ${n} threads CAS; the arena's threads meet only in their caches' batch moves`);
      if (!bothGood) notes.push('no rep in which both were undisturbed: all reps used');
      rows.push(
        row({
          id: `scaling/arena-vs-treiber-${n}t`,
          subject: `${n} thread${n === 1 ? '' : 's'}, ${label(ARENA)}`,
          baseline: `${n} thread${n === 1 ? '' : 's'}, ${label(TREIBER)}`,
          num: pairs.map(([x]) => mops(x[n - 1]!)),
          den: pairs.map(([, y]) => mops(y[n - 1]!)),
          goal: null,
          reliable: bothGood,
          notes,
        }),
      );
    }
    options.log(`scaling: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return rows;
  },
};
