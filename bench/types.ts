/**
 * Shapes shared by the bench dispatcher (run.ts) and its suites.
 *
 * A suite measures a subject against a baseline IN THE SAME RUN, alternating reps
 * (A B A B …), and returns one row per comparison (STYLE.md habit 10). Numbers on a shared
 * 2-core machine drift up to 2x between runs; only ratios within one run mean anything.
 */

/** What a suite is told by the dispatcher. */
export interface SuiteOptions {
  /** Short smoke run (a few seconds): fewer reps, shorter windows; numbers are rough. */
  readonly quick: boolean;
  /** Progress lines (to stderr, so the table on stdout stays clean). */
  readonly log: (line: string) => void;
  /**
   * Progress for the bar the dispatcher draws: call with the fraction of this suite done
   * (0..1) and a short label of what runs now. Cheap; call it between reps, never inside a
   * timed region.
   */
  readonly progress: (fraction: number, label: string) => void;
}

/** One point of a chart series (e.g. threads -> ops/s for `scaling`, MiB -> µs for `handoff`). */
export interface ChartPoint {
  /** Series name, e.g. 'arena' or 'shared Treiber head'. */
  readonly series: string;
  readonly x: number;
  readonly y: number;
}

/** One comparison: subject vs baseline, both measured alternately in this run. */
export interface BenchRow {
  /** Stable id, `suite/what`, for later JSON output and charts. */
  readonly id: string;
  /** What the subject is compared with. */
  readonly baseline: string;
  /**
   * Median over reps of the per-rep ratio, oriented so that > 1 means the subject is better
   * (baseline time / subject time, or subject throughput / baseline throughput).
   */
  readonly ratio: number;
  /** The ratio wanted (>= goal passes), or null for a row that only informs. */
  readonly goal: number | null;
  /** Unit of `details.value` and `details.baselineValue`. */
  readonly unit: string;
  readonly details: RowDetails;
}

export interface RowDetails {
  /** What was measured. */
  readonly subject: string;
  /** Median of the subject over reps, in `unit`. */
  readonly value: number;
  /** Median of the baseline over reps, in `unit`. */
  readonly baselineValue: number;
  /** Number of paired reps. */
  readonly reps: number;
  /** Smallest and largest per-rep ratio (the spread behind the median). */
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** Every per-rep ratio, in the order measured. */
  readonly ratios: readonly number[];
  /** False when the suite knows the reps were disturbed (then the verdict is UNRELIABLE). */
  readonly reliable: boolean;
  /** Anything a reader needs to interpret the row. */
  readonly notes: readonly string[];
  /**
   * Points for the suite's SVG chart (bench/results/<suite>.svg), if the suite draws one.
   * Axis labels come from the suite's `chart` field.
   */
  readonly points?: readonly ChartPoint[];
}

/** A named group of comparisons, run by `npm run bench -- <name>`. */
export interface Suite {
  readonly name: string;
  readonly description: string;
  /** If set, the dispatcher draws bench/results/<name>.svg from the rows' `details.points`. */
  readonly chart?: { readonly title: string; readonly x: string; readonly y: string; readonly logX?: boolean; readonly logY?: boolean };
  run(options: SuiteOptions): Promise<BenchRow[]>;
}
