/**
 * The files a bench run leaves in its out dir (bench/results/ by default):
 *
 * - `latest.json`: the rows, exactly the BenchRow objects, in registry order;
 * - `latest.meta.json`: per suite, when and where its rows were measured (machine, node,
 *   load average before and after, git commit, flags, seconds);
 * - `latest.md`: the rows as a Markdown table, under a machine line and a line per suite;
 * - `<suite>.svg`: the chart of each suite that declares one (written by run.ts).
 *
 * A run of some suites replaces those suites' rows and keeps the rows of the other
 * registered suites (`mergeResults`), so `npm run bench -- --suite wake` does not throw away
 * a full run's other results. Rows of suites no longer registered are dropped. Files are
 * written to a temporary name and renamed, so a reader never sees half a file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { renderMarkdown } from './table.js';
import type { BenchRow } from './types.js';

export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly availableParallelism: number;
  readonly totalMemoryBytes: number;
}

/** When and how one suite's rows were measured. */
export interface SuiteRun {
  readonly suite: string;
  /** ISO date of the suite's start. */
  readonly date: string;
  readonly seconds: number;
  readonly rows: number;
  readonly quick: boolean;
  /** 1, 5 and 15 minute load averages just before and just after the suite. */
  readonly loadAvgBefore: readonly number[];
  readonly loadAvgAfter: readonly number[];
  /** HEAD when measured, and whether tracked files differed from it; null without git. */
  readonly commit: string | null;
  readonly dirty: boolean | null;
  /** The dispatcher's command-line arguments. */
  readonly argv: readonly string[];
  readonly machine: MachineInfo;
}

export interface ResultsMeta {
  /** ISO date of the last write. */
  readonly updated: string;
  /** One entry per suite with rows in latest.json, in registry order. */
  readonly suites: readonly SuiteRun[];
}

export interface Results {
  readonly rows: readonly BenchRow[];
  readonly meta: ResultsMeta;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    availableParallelism: availableParallelism(),
    totalMemoryBytes: totalmem(),
  };
}

export function loadAverage(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * HEAD and whether tracked files differ from it, read without taking git's index lock. The
 * results directory itself does not count: a run rewrites the committed results it replaces.
 */
export function gitState(cwd: string): { commit: string | null; dirty: boolean | null } {
  const git = (...args: string[]): string =>
    execFileSync('git', ['--no-optional-locks', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD');
    let dirty: boolean | null = null;
    try {
      dirty = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results') !== '';
    } catch {
      dirty = null;
    }
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** The suite a row belongs to: its id up to the first `/`. */
export function suiteOf(row: BenchRow): string {
  const slash = row.id.indexOf('/');
  return slash < 0 ? row.id : row.id.slice(0, slash);
}

/**
 * The previous results with the suites of this run replaced. `registry` is every suite name
 * in run order: it orders the result and filters out suites that no longer exist.
 */
export function mergeResults(previous: Results | null, run: Results, registry: readonly string[]): Results {
  const fresh = new Set(run.meta.suites.map((s) => s.suite));
  const keep = (name: string): boolean => registry.includes(name) && !fresh.has(name);
  const order = (name: string): number => registry.indexOf(name);
  const rows = [...(previous?.rows ?? []).filter((r) => keep(suiteOf(r))), ...run.rows];
  const suites = [...(previous?.meta.suites ?? []).filter((s) => keep(s.suite)), ...run.meta.suites];
  return {
    // Array.prototype.sort is stable: rows keep their order within a suite.
    rows: rows.sort((a, b) => order(suiteOf(a)) - order(suiteOf(b))),
    meta: { updated: run.meta.updated, suites: suites.sort((a, b) => order(a.suite) - order(b.suite)) },
  };
}

/** The results in `dir`, or null if there are none (or they cannot be read: a warning). */
export function readResults(dir: string, warn: (line: string) => void): Results | null {
  const rowsFile = join(dir, 'latest.json');
  const metaFile = join(dir, 'latest.meta.json');
  if (!existsSync(rowsFile)) return null;
  try {
    const rows = JSON.parse(readFileSync(rowsFile, 'utf8')) as unknown;
    const meta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as unknown) : null;
    if (!Array.isArray(rows)) throw new Error('latest.json is not an array');
    const suites = isMeta(meta) ? meta.suites : [];
    return { rows: rows as BenchRow[], meta: { updated: isMeta(meta) ? meta.updated : '', suites } };
  } catch (e) {
    warn(`previous results in ${dir} are unreadable and will be replaced: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

function isMeta(x: unknown): x is ResultsMeta {
  return typeof x === 'object' && x !== null && Array.isArray((x as { suites?: unknown }).suites);
}

/** One line about a machine: `node v20.20.2, linux x64, 2 x Intel Xeon …, 7.8 GiB`. */
export function machineLine(m: MachineInfo): string {
  const gib = (m.totalMemoryBytes / 2 ** 30).toFixed(1);
  return `node ${m.node}, ${m.platform}, ${m.cpuCount} x ${m.cpuModel} (available parallelism ${m.availableParallelism}), ${gib} GiB RAM`;
}

/** `74455abbe407 (uncommitted changes)`, or `-` without git. */
export function commitText(s: Pick<SuiteRun, 'commit' | 'dirty'>): string {
  return s.commit === null ? '-' : `${s.commit}${s.dirty === true ? ' (uncommitted changes)' : ''}`;
}

/** One line about a suite's run: `alloc: 2026-11-21 07:35 UTC, 3 s, 7 rows, load avg 0.5 -> 1.2`. */
export function runLine(s: SuiteRun): string {
  return `${s.suite}: ${s.date.slice(0, 16).replace('T', ' ')} UTC, ${s.seconds} s, ${s.rows} rows${s.quick ? ' (--quick)' : ''}, ` +
    `load avg ${s.loadAvgBefore[0] ?? '?'} -> ${s.loadAvgAfter[0] ?? '?'}`;
}

/** latest.md: a title, the machine line(s), a table of the suites' runs, the rows. */
export function resultsMarkdown(results: Results): string {
  const machines = [...new Set(results.meta.suites.map((s) => machineLine(s.machine)))];
  const runs = [
    '| suite | measured (UTC) | seconds | load avg before -> after | commit | flags |',
    '|---|---|--:|---|---|---|',
    ...results.meta.suites.map((s) => {
      const commit = commitText(s);
      const flags = s.argv.length > 0 ? `\`${s.argv.join(' ')}\`` : '-';
      return `| ${s.suite} | ${s.date.slice(0, 16).replace('T', ' ')} | ${s.seconds.toFixed(0)} | ${s.loadAvgBefore[0] ?? '?'} -> ${s.loadAvgAfter[0] ?? '?'} | ${commit} | ${flags} |`;
    }),
  ];
  const preamble = [
    '# Bench results',
    'Written by `npm run bench` (bench/run.ts); the rows are in latest.json, how they were measured in latest.meta.json. ' +
      'Each ratio compares subject and baseline measured alternately in the same run; > 1 favours the subject.',
    machines.length === 1 ? `Machine: ${machines[0]}.` : `Machines:\n${machines.map((m) => `- ${m}`).join('\n')}`,
    runs.join('\n'),
  ];
  return renderMarkdown(results.rows, preamble);
}

/** Writes `text` to `dir/name` through a temporary file and a rename. */
export function writeAtomic(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return path;
}

/** Writes latest.json, latest.meta.json and latest.md; returns the paths written. */
export function writeResults(dir: string, results: Results): string[] {
  return [
    writeAtomic(dir, 'latest.json', `${JSON.stringify(results.rows, null, 2)}\n`),
    writeAtomic(dir, 'latest.meta.json', `${JSON.stringify(results.meta, null, 2)}\n`),
    writeAtomic(dir, 'latest.md', resultsMarkdown(results)),
  ];
}
