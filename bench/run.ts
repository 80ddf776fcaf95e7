/**
 * Bench dispatcher: `npm run bench -- [--quick] [--suite NAME]... [--json] [--out DIR]`
 * (no suite named = all of them; `--help` lists them). See bench/README.md.
 *
 * `npm run bench` builds first (workers load the built library from dist/), then runs this
 * file under tsx. Each suite measures its subjects against their baselines in this same run,
 * alternating reps, and returns rows; this file runs the selected suites in registry order
 * under a progress bar (progress.ts), then writes the results to the out dir (latest.json,
 * latest.meta.json, latest.md via results-io.ts; a chart per suite that declares one via
 * charts.ts) and prints the table (table.ts), or with --json the rows as JSON on stdout.
 *
 * Exit code: 0 when every suite ran, 1 when one threw (the others still run and are
 * written), 2 for a bad command line. No timing is asserted anywhere: whether a goal was met
 * is the table's verdict column, never the exit code.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, parseBenchArgs, usage, type BenchArgs } from './args.js';
import { renderChart } from './charts.js';
import { createProgress } from './progress.js';
import {
  commitText, gitState, loadAverage, machineInfo, machineLine, mergeResults, readResults, runLine, writeAtomic, writeResults,
  type Results, type SuiteRun,
} from './results-io.js';
import { SUITES } from './suites/index.js';
import { renderTable } from './table.js';
import type { BenchRow, Suite } from './types.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');

/** bench/results, or bench/results/quick for --quick (never the committed full results). */
function defaultOutDir(quick: boolean): string {
  return join(BENCH_DIR, 'results', ...(quick ? ['quick'] : []));
}

/** The rows of one suite, or the error it threw. */
interface Outcome {
  readonly suite: Suite;
  readonly rows: BenchRow[];
  readonly run: SuiteRun | null;
  readonly error: unknown;
}

async function runSuites(args: BenchArgs, argv: readonly string[]): Promise<Outcome[]> {
  const progress = createProgress(args.suites.length);
  const machine = machineInfo();
  const outcomes: Outcome[] = [];
  try {
    for (const [index, suite] of args.suites.entries()) {
      progress.startSuite(index, suite.name, suite.description);
      const git = gitState(ROOT);
      const loadAvgBefore = loadAverage();
      const date = new Date().toISOString();
      const t0 = performance.now();
      try {
        const rows = await suite.run({
          quick: args.quick,
          log: (line) => progress.log(line),
          progress: (fraction, label) => progress.update(fraction, label),
        });
        const seconds = (performance.now() - t0) / 1000;
        for (const r of rows) {
          if (!r.id.startsWith(`${suite.name}/`)) progress.log(`warning: row id '${r.id}' does not start with '${suite.name}/'`);
        }
        const run: SuiteRun = {
          suite: suite.name, date, seconds: Math.round(seconds * 10) / 10, rows: rows.length, quick: args.quick,
          loadAvgBefore, loadAvgAfter: loadAverage(), ...git, argv, machine,
        };
        outcomes.push({ suite, rows, run, error: undefined });
        progress.endSuite(`${rows.length} rows in ${seconds.toFixed(1)} s`);
      } catch (error) {
        outcomes.push({ suite, rows: [], run: null, error });
        progress.endSuite('FAILED');
      }
    }
  } finally {
    progress.stop();
  }
  return outcomes;
}

/** Writes latest.* (merged with the suites not run now) and the charts; returns the paths. */
function writeOutputs(dir: string, outcomes: readonly Outcome[], warn: (line: string) => void): string[] {
  const ran = outcomes.filter((o) => o.run !== null);
  if (ran.length === 0) return [];
  const run: Results = {
    rows: ran.flatMap((o) => o.rows),
    meta: { updated: new Date().toISOString(), suites: ran.map((o) => o.run!) },
  };
  const merged = mergeResults(readResults(dir, warn), run, SUITES.map((s) => s.name));
  const written = writeResults(dir, merged);
  for (const { suite, rows } of ran) {
    if (suite.chart === undefined) continue;
    const chart = renderChart(suite.chart, rows.flatMap((r) => r.details.points ?? []));
    if (chart.series.length === 0) warn(`${suite.name}: the chart has no points (no row has details.points)`);
    if (chart.omitted > 0) warn(`${suite.name}: ${chart.omitted} chart point(s) left out (not finite, or <= 0 on a log axis)`);
    written.push(writeAtomic(dir, `${suite.name}.svg`, chart.svg));
  }
  return written;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, SUITES);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${usage(SUITES)}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage(SUITES)}\n`);
    return 0;
  }

  // With --json stdout carries the JSON only: while the suites run, anything else written to
  // it (a stray console.log in a suite or a worker) goes to stderr.
  const stdoutWrite = process.stdout.write;
  if (args.json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  let outcomes: Outcome[];
  try {
    outcomes = await runSuites(args, argv);
  } finally {
    process.stdout.write = stdoutWrite;
  }

  const report = args.json ? process.stderr : process.stdout;
  const say = (text: string): void => {
    report.write(`${text}\n`);
  };
  const warn = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };
  for (const o of outcomes) {
    if (o.run === null) warn(`suite ${o.suite.name} failed: ${o.error instanceof Error ? (o.error.stack ?? o.error.message) : String(o.error)}`);
  }

  const outDir = resolve(args.out ?? defaultOutDir(args.quick));
  const written = writeOutputs(outDir, outcomes, warn);

  const rows = outcomes.flatMap((o) => o.rows);
  const runs = outcomes.flatMap((o) => (o.run === null ? [] : [o.run]));
  say('');
  say(`Machine: ${machineLine(machineInfo())}.`);
  say(`Commit ${commitText(gitState(ROOT))}; flags: ${argv.length > 0 ? argv.join(' ') : 'none'}.`);
  for (const r of runs) say(`  ${runLine(r)}`);
  say('Values are medians over alternating reps; ratio = median of the per-rep ratios (> 1: the subject is better).\n');
  say(renderTable(rows));
  const shown = (p: string): string => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
  if (written.length > 0) say(`\nwrote ${written.map(shown).join(', ')}`);

  if (args.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  return outcomes.some((o) => o.run === null) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
