/**
 * Shared machinery of the single-thread core suites (alloc, scrub, size-sweep): timed batches
 * driven by tinybench in alternating rounds, and rows built from same-run per-round ratios.
 * Not a suite itself.
 *
 * Method: every subject is a function that runs `n` calls of the thing measured in its own
 * monomorphic loop and sinks every result (so nothing can be optimised away). A tinybench
 * iteration times one batch of `inner` calls with process.hrtime.bigint() and reports the
 * per-call mean as `overriddenDuration`, so the timer's own cost (~50–100 ns) is amortised
 * over the batch. `inner` is calibrated per subject (a batch lasts about BATCH_US), so a
 * 30 ns pair and a 10 µs pair are both timed in batches of similar length.
 * A round runs every subject once (A B C …, the next round … C B A); its figure per subject
 * is tinybench's mean over that round's batches. The first round is a warm-up (JIT) and is
 * not recorded. A row reports the median over rounds and the median of per-round ratios.
 */
import { Bench, type FnReturnedObject, type Task } from 'tinybench';
import { pairedRow } from '../rows.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, ChartPoint, SuiteOptions } from '../types.js';

/** The segment size every core suite uses (the arena's default). */
export const SEG = 32 * 1024;

/** A timed batch should last about this long (µs): long against the timer, short against a round. */
const BATCH_US = 100;
const MIN_INNER = 4;
const MAX_INNER = 4096;

/** A thing to time: `run(n)` performs n operations in its own loop. */
export interface Subject {
  readonly name: string;
  /** Runs n operations. Must sink its results (e.g. into a `keep` array) itself. */
  readonly run: (n: number) => void;
}

/** Report progress within [from, to] of the suite's whole run. */
export type Progress = (fraction: number, label: string) => void;

export function span(options: SuiteOptions, from: number, to: number): Progress {
  return (f, label) => options.progress(from + (to - from) * Math.min(1, Math.max(0, f)), label);
}

/** Calls per batch so that one batch of `s` takes about BATCH_US. */
function calibrate(s: Subject): number {
  const probe = 8;
  const samples: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    s.run(probe);
    samples.push(Number(process.hrtime.bigint() - t0) / probe);
  }
  const ns = Math.max(1, median(samples));
  return Math.max(MIN_INNER, Math.min(MAX_INNER, Math.round((BATCH_US * 1000) / ns)));
}

/**
 * ns per operation of each subject, one entry per recorded round. Progress is reported
 * between rounds only (tinybench runs a whole round synchronously).
 */
export function runRounds(
  list: readonly Subject[],
  opts: { readonly rounds: number; readonly roundMs: number; readonly progress: Progress; readonly label: string },
): Map<string, number[]> {
  const inner = new Map<string, number>(list.map((s) => [s.name, calibrate(s)]));
  const tasks = list.map((s) => {
    const n = inner.get(s.name)!;
    const fn = (): FnReturnedObject => {
      const t0 = process.hrtime.bigint();
      s.run(n);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { overriddenDuration: ms / n, overriddenIterationCost: ms };
    };
    return { name: s.name, fn };
  });
  const out = new Map<string, number[]>(list.map((s) => [s.name, []]));
  for (let r = -1; r < opts.rounds; r++) {
    const warm = r < 0; // first round: warm-up, JIT, not recorded
    opts.progress((r + 1) / (opts.rounds + 1), `${opts.label}: round ${r + 2}/${opts.rounds + 1}`);
    const bench = new Bench({ time: warm ? opts.roundMs * 2 : opts.roundMs, iterations: 8, warmup: warm, throws: true });
    const order = r % 2 === 0 ? tasks : [...tasks].reverse();
    for (const t of order) bench.add(t.name, t.fn, { async: false });
    const done: Task[] = bench.runSync();
    if (warm) continue;
    for (const t of done) {
      const res = t.result;
      if (res.state !== 'completed') throw new Error(`tinybench task ${t.name}: ${res.state}`);
      out.get(t.name)!.push(res.latency.mean * 1e6);
    }
  }
  opts.progress(1, `${opts.label}: done`);
  return out;
}

/** A time row: ratio = baseline time / subject time per round (> 1: the subject is faster). */
export function timeRow(r: {
  readonly id: string;
  readonly subject: string;
  readonly baseline: string;
  /** ns per op of the subject, one per round. */
  readonly of: readonly number[];
  /** ns per op of the baseline, same rounds. */
  readonly against: readonly number[];
  readonly goal: number | null;
  readonly notes?: readonly string[];
  readonly points?: readonly ChartPoint[];
  readonly unit?: string;
}): BenchRow {
  return pairedRow({
    id: r.id, subject: r.subject, baseline: r.baseline, unit: r.unit ?? 'ns/op', goal: r.goal, better: 'lower',
    subjectValues: r.of, baselineValues: r.against, notes: r.notes ?? [],
    reliable: r.of.length > 0 && Number.isFinite(pairedRatio(r.against, r.of).median),
    ...(r.points === undefined ? {} : { points: r.points }),
  });
}
