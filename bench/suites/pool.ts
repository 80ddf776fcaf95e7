/**
 * Helpers shared by the TaskManager suites (dispatch.ts, handoff.ts, parallel-sum.ts): where the
 * built workers are, an absolute clock comparable across threads, alternating reps, and the
 * construction of a row from paired series. Not a suite itself (pool-index.ts lists the suites).
 */
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, ChartPoint } from '../types.js';

/** The bench workers, built by `npm run build` (Node 20 cannot start a .ts worker). */
export const WORKERS = new URL('../../dist/bench/workers/', import.meta.url);

export const MiB = 2 ** 20;

/** Absolute time in ms (performance.timeOrigin + now()): comparable across threads of one process. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Run `steps` of one rep in alternating order: as given on even reps, reversed on odd ones
 * (A B C, then C B A), so no subject always runs first or right after the same neighbour.
 */
export async function alternate(rep: number, steps: readonly (() => Promise<void>)[]): Promise<void> {
  const order = rep % 2 === 0 ? steps : [...steps].reverse();
  for (const step of order) await step();
}

/** What a row is built from: two series measured in the same reps, plus how to read them. */
export interface PairedSeries {
  readonly id: string;
  readonly subject: string;
  readonly baseline: string;
  readonly unit: string;
  readonly goal: number | null;
  /**
   * 'lower' for times (ratio = baseline / subject), 'higher' for throughputs (ratio = subject /
   * baseline): either way a ratio > 1 means the subject is better.
   */
  readonly better: 'lower' | 'higher';
  readonly subjectValues: readonly number[];
  readonly baselineValues: readonly number[];
  readonly notes: readonly string[];
  readonly points?: readonly ChartPoint[];
  readonly reliable?: boolean;
}

/** A row: medians of both series and the median (and range) of the per-rep ratios. */
export function pairedRow(s: PairedSeries): BenchRow {
  const r = s.better === 'lower' ? pairedRatio(s.baselineValues, s.subjectValues) : pairedRatio(s.subjectValues, s.baselineValues);
  return {
    id: s.id,
    baseline: s.baseline,
    ratio: r.median,
    goal: s.goal,
    unit: s.unit,
    details: {
      subject: s.subject,
      value: median(s.subjectValues),
      baselineValue: median(s.baselineValues),
      reps: s.subjectValues.length,
      ratioMin: r.min,
      ratioMax: r.max,
      ratios: r.ratios,
      reliable: s.reliable ?? true,
      notes: s.notes,
      ...(s.points !== undefined ? { points: s.points } : {}),
    },
  };
}
