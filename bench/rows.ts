/**
 * Building a result row from two series measured in the same reps (subject and baseline), for
 * every suite: medians of both and the median (and range) of the per-rep ratios, oriented so
 * that a ratio > 1 favours the subject.
 */
import { median, pairedRatio } from './stats.js';
import type { BenchRow, ChartPoint } from './types.js';

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
