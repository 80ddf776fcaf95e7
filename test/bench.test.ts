/**
 * The bench dispatcher (`npm run bench`, bench/run.ts) and its outputs.
 *
 * One `--quick --json --out <tmp>` run of every registered suite, as a child process under
 * tsx (the workers load dist/: `npm test` builds first), started once and checked for its
 * exit code, the shape of its JSON rows, a row from every suite, the files it writes (rows,
 * meta, Markdown, a well-formed SVG per charted suite). Also: command-line errors (exit 2 and
 * the usage), and the pure modules — charts, tables, argument parsing, result merging — on
 * made-up rows. No timing is asserted: the quick run's numbers are whatever the machine gave.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, parseBenchArgs } from '../bench/args.js';
import { formatTick, renderChart, type ChartSpec } from '../bench/charts.js';
import { mergeResults, type Results, type SuiteRun } from '../bench/results-io.js';
import { SUITES } from '../bench/suites/index.js';
import { renderMarkdown, renderTable, verdict } from '../bench/table.js';
import type { BenchRow, ChartPoint, Suite } from '../bench/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Generous: a quick run of every suite takes up to ~90 s on a quiet 2-core machine. */
const RUN_TIMEOUT = 240_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bench/run.ts with `args`; `kill` ends it early (the result then has code null). */
function benchChild(args: readonly string[], killAfterMs = RUN_TIMEOUT - 10_000): { result: Promise<Result>; kill: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const result = new Promise<Result>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
  return { result, kill: () => child.kill('SIGKILL') };
}

function bench(args: readonly string[], killAfterMs?: number): Promise<Result> {
  return benchChild(args, killAfterMs).result;
}

/**
 * Throws unless `svg` is one <svg> element whose tags nest properly and whose text has no
 * raw `<` or stray `&` (what an XML parser would reject in what charts.ts writes).
 */
function assertWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of svg.matchAll(tag)) {
    const text = svg.slice(last, m.index);
    expect(text, `text before ${m[0]}`).not.toMatch(/[<>]|&(?!#\d+;|amp;|lt;|gt;|quot;)/);
    last = m.index + m[0].length;
    const [, close, name, , selfClosing] = m;
    if (selfClosing === '/') continue;
    if (close === '/') expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function xmlEscaped(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The series a chart of `points` should draw (points it can place on its axes). */
function drawableSeries(chart: ChartSpec, points: readonly ChartPoint[]): Set<string> {
  return new Set(
    points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (chart.logX !== true || p.x > 0) && (chart.logY !== true || p.y > 0))
      .map((p) => p.series),
  );
}

function row(id: string, ratio: number, goal: number | null, reliable = true, extra: Partial<BenchRow['details']> = {}): BenchRow {
  return {
    id,
    baseline: 'the baseline',
    ratio,
    goal,
    unit: 'ns/op',
    details: { subject: 'the subject', value: 10, baselineValue: 10 * ratio, reps: 3, ratioMin: ratio, ratioMax: ratio, ratios: [ratio, ratio, ratio], reliable, notes: [], ...extra },
  };
}

// ---------------------------------------------------------------------------------------
// The quick run, started before the fast tests below so they overlap with it.

let outDir = '';
let quickRun: ReturnType<typeof benchChild> | undefined;
beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  quickRun = benchChild(['--quick', '--json', '--out', outDir]);
});
afterAll(async () => {
  // Still running if its tests were filtered out: stop it rather than wait.
  quickRun?.kill();
  await quickRun?.result;
  if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
});

describe('charts (bench/charts.ts)', () => {
  const spec: ChartSpec = { title: 'Throughput <by> threads & size', x: 'threads', y: 'Mops/s' };

  it('draws a polyline per series, names every series in the legend, and escapes text', () => {
    const points: ChartPoint[] = [1, 2, 4].flatMap((x) => [
      { series: 'arena', x, y: 10 * x },
      { series: 'shared "Treiber" <head>', x, y: 30 + x },
    ]);
    const c = renderChart(spec, points);
    assertWellFormedSvg(c.svg);
    expect(c.series).toEqual(['arena', 'shared "Treiber" <head>']);
    expect(c.omitted).toBe(0);
    expect(count(c.svg, '<polyline')).toBe(2);
    expect(c.svg).toContain('>arena</text>');
    expect(c.svg).toContain(xmlEscaped('shared "Treiber" <head>'));
    expect(c.svg).toContain(xmlEscaped(spec.title));
    expect(c.svg).not.toContain('<head>');
    // A dot per point, and the axis labels.
    expect(count(c.svg, '<circle')).toBeGreaterThanOrEqual(points.length);
    expect(c.svg).toContain('>threads</text>');
    expect(c.svg).toContain('>Mops/s</text>');
  });

  it('on log axes leaves out non-positive and non-finite points, says so, and drops a series left empty', () => {
    const points: ChartPoint[] = [
      { series: 'by handle', x: 1, y: 0.1 },
      { series: 'by handle', x: 64, y: 5 },
      { series: 'by handle', x: 0, y: 1 },
      { series: 'clone', x: 1, y: 1.3 },
      { series: 'clone', x: 64, y: 0 },
      { series: 'clone', x: 16, y: 20 },
      { series: 'broken', x: 4, y: -1 },
      { series: 'broken', x: 8, y: Number.NaN },
    ];
    const c = renderChart({ ...spec, logX: true, logY: true }, points);
    assertWellFormedSvg(c.svg);
    expect(c.omitted).toBe(4);
    expect(c.series).toEqual(['by handle', 'clone']);
    expect(count(c.svg, '<polyline')).toBe(2);
    expect(c.svg).toContain('4 points left out');
    expect(c.svg).toContain('(log scale)');
    expect(c.svg).not.toContain('NaN');
    expect(c.svg).not.toContain('Infinity');
  });

  it('a linear axis takes zero and negative values; no points at all is an empty, well-formed chart', () => {
    const c = renderChart(spec, [{ series: 's', x: 0, y: -2 }, { series: 's', x: 1, y: 0 }, { series: 's', x: 2, y: 3 }]);
    assertWellFormedSvg(c.svg);
    expect(c.omitted).toBe(0);
    expect(count(c.svg, '<polyline')).toBe(1);
    const empty = renderChart(spec, []);
    assertWellFormedSvg(empty.svg);
    expect(count(empty.svg, '<polyline')).toBe(0);
    expect(empty.svg).toContain('no data');
    // One point, or all on one value: still a finite picture.
    const flat = renderChart({ ...spec, logY: true }, [{ series: 'one', x: 3, y: 7 }]);
    assertWellFormedSvg(flat.svg);
    expect(flat.svg).not.toMatch(/NaN|Infinity/);
  });

  it('tick labels are short', () => {
    expect([0, 0.25, 12, 1500, 25_600_000, 3e9, 2e-7].map(formatTick)).toEqual(['0', '0.25', '12', '1500', '25.6M', '3G', '2e-7']);
    expect([45_000, 1024, 1.23456].map(formatTick)).toEqual(['45k', '1024', '1.235']);
  });
});

describe('tables (bench/table.ts)', () => {
  it('verdicts: met, missed, info, UNRELIABLE (whatever the ratio)', () => {
    expect(verdict(row('a/x', 2, 1.8))).toBe('met');
    expect(verdict(row('a/x', 1.8, 1.8))).toBe('met');
    expect(verdict(row('a/x', 1.2, 1.8))).toBe('missed');
    expect(verdict(row('a/x', 0.5, null))).toBe('info');
    expect(verdict(row('a/x', 9, 1.8, false))).toBe('UNRELIABLE');
  });

  it('the text and Markdown tables have a line per row, the goal, the verdict and the notes', () => {
    const rows = [row('a/one', 2, 1.8, true, { notes: ['a | note'] }), row('a/two', 0.9, null), row('a/three', 0.9, 1 / 1.15)];
    const text = renderTable(rows);
    expect(text).toMatch(/a\/one .*>= 1\.8x\s+met/);
    expect(text).toMatch(/a\/two .*-\s+info/);
    expect(text).toMatch(/a\/three .*>= 0\.87x\s+met/);
    expect(text).toContain('a/one: a | note');
    const md = renderMarkdown(rows, ['Machine: test.']);
    const lines = md.split('\n');
    expect(lines[0]).toBe('Machine: test.');
    const table = lines.filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(2 + rows.length);
    expect(table[0]).toBe('| id | subject | baseline | ratio | range | reps | goal | verdict |');
    for (const l of table) expect(count(l.replace(/\\\|/g, ''), '|')).toBe(9);
    expect(table[2]).toContain('| the subject: 10.00 ns/op | the baseline: 20.00 ns/op | 2.00x |');
    expect(table[2]!.endsWith('| >= 1.8x | met |')).toBe(true);
    expect(md).toContain('- a/one: a \\| note');
  });
});

describe('command line (bench/args.ts, bench/run.ts)', () => {
  const registry: Suite[] = ['alpha', 'beta', 'gamma'].map((name) => ({ name, description: name, run: () => Promise.resolve([]) }));
  const names = (argv: string[]): string[] => parseBenchArgs(argv, registry).suites.map((s) => s.name);

  it('suites by --suite (repeated, comma-separated) or bare names, run in registry order; none named: all', () => {
    expect(names([])).toEqual(['alpha', 'beta', 'gamma']);
    expect(names(['--suite', 'gamma', '--suite', 'alpha'])).toEqual(['alpha', 'gamma']);
    expect(names(['--suite', 'gamma,beta'])).toEqual(['beta', 'gamma']);
    expect(names(['beta', '--quick', 'alpha,beta'])).toEqual(['alpha', 'beta']);
    const a = parseBenchArgs(['--quick', '--json', '--out', 'x'], registry);
    expect([a.quick, a.json, a.out, a.help]).toEqual([true, true, 'x', false]);
    expect(parseBenchArgs([], registry).out).toBeUndefined();
    expect(parseBenchArgs(['-h'], registry).help).toBe(true);
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--suite', 'delta'], "unknown suite 'delta'"],
    [['alpha', 'zeta,eta'], "unknown suites 'zeta', 'eta'"],
    [['--out'], "'--out <value>' argument missing"],
    [['--quick=yes'], '--quick'],
  ])('bad arguments %j: a UsageError naming the culprit', (argv, message) => {
    expect(() => parseBenchArgs(argv, registry)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv, registry)).toThrow(message);
  });

  it.each([
    [['--bogus', '--quick'], "bench: Unknown option '--bogus'"],
    [['--quick', '--suite', 'no-such-suite'], "bench: unknown suite 'no-such-suite'"],
    [['no-such-suite'], "bench: unknown suite 'no-such-suite'"],
  ])('bench/run.ts %j: exit code 2, the message and the usage on stderr, nothing on stdout', async (argv, message) => {
    const r = await bench(argv, 60_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: npm run bench --');
  }, 90_000);

  it('--help: the usage on stdout, listing every flag and every registered suite; exit code 0', async () => {
    const r = await bench(['--help'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    for (const flag of ['--quick', '--suite', '--json', '--out', '--help']) expect(r.stdout).toContain(flag);
    for (const s of SUITES) expect(r.stdout).toContain(`  ${s.name} `);
  }, 90_000);
});

describe('results (bench/results-io.ts)', () => {
  const machine = { node: 'v20', platform: 'linux x64', cpuModel: 'cpu', cpuCount: 2, availableParallelism: 2, totalMemoryBytes: 2 ** 30 };
  const runOf = (suite: string, date: string): SuiteRun => ({
    suite, date, seconds: 1, rows: 1, quick: false, loadAvgBefore: [0, 0, 0], loadAvgAfter: [0, 0, 0], commit: null, dirty: null, argv: [], machine,
  });
  const results = (rows: BenchRow[], suites: SuiteRun[]): Results => ({ rows, meta: { updated: 'now', suites } });

  it('a run of some suites replaces their rows, keeps the other registered suites, drops unregistered ones, in registry order', () => {
    const before = results(
      [row('b/1', 1, null), row('a/1', 1, null), row('a/2', 1, null), row('old/1', 1, null)],
      [runOf('b', 'then'), runOf('a', 'then'), runOf('old', 'then')],
    );
    const now = results([row('a/3', 2, null)], [runOf('a', 'now')]);
    const merged = mergeResults(before, now, ['a', 'b', 'c']);
    expect(merged.rows.map((r) => r.id)).toEqual(['a/3', 'b/1']);
    expect(merged.meta.suites.map((s) => `${s.suite}@${s.date}`)).toEqual(['a@now', 'b@then']);
    expect(mergeResults(null, now, ['a'])).toEqual(now);
  });
});

// ---------------------------------------------------------------------------------------

describe('npm run bench -- --quick --json --out <dir>: every registered suite', () => {
  let r: Result;
  let rows: BenchRow[];

  it('exits 0 and prints only a JSON array of well-shaped rows on stdout', async () => {
    r = await quickRun!.result;
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    rows = JSON.parse(r.stdout) as BenchRow[];
    expect(Array.isArray(rows)).toBe(true);
    expect(rows.length).toBeGreaterThan(0);
    const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
    for (const b of rows) {
      const where = `row ${JSON.stringify(b.id)}`;
      expect(Object.keys(b).sort(), where).toEqual(['baseline', 'details', 'goal', 'id', 'ratio', 'unit']);
      expect(b.id, where).toMatch(/^[^/\s]+\/\S/);
      expect(typeof b.baseline === 'string' && b.baseline !== '', where).toBe(true);
      expect(finite(b.ratio), `${where}: ratio ${b.ratio}`).toBe(true);
      expect(b.goal === null || finite(b.goal), where).toBe(true);
      expect(typeof b.unit === 'string' && b.unit !== '', where).toBe(true);
      const d = b.details;
      expect(typeof d.subject === 'string' && d.subject !== '', where).toBe(true);
      expect(finite(d.value) && finite(d.baselineValue), `${where}: values ${d.value}, ${d.baselineValue}`).toBe(true);
      expect(Number.isInteger(d.reps) && d.reps > 0, `${where}: reps ${d.reps}`).toBe(true);
      expect(finite(d.ratioMin) && finite(d.ratioMax), where).toBe(true);
      expect(Array.isArray(d.ratios) && d.ratios.length > 0 && d.ratios.every(finite), `${where}: ratios`).toBe(true);
      expect(typeof d.reliable, where).toBe('boolean');
      expect(Array.isArray(d.notes) && d.notes.every((n) => typeof n === 'string'), where).toBe(true);
      if (d.points !== undefined) {
        for (const p of d.points) expect(typeof p.series === 'string' && typeof p.x === 'number' && typeof p.y === 'number', `${where}: point`).toBe(true);
      }
    }
  }, RUN_TIMEOUT);

  it('every registered suite contributed a row `<suite>/…`; the table and progress went to stderr', () => {
    expect(rows, 'the run failed').toBeDefined();
    for (const s of SUITES) expect(rows.some((b) => b.id.startsWith(`${s.name}/`)), `suite ${s.name}`).toBe(true);
    expect(r.stderr).toContain('verdict');
    expect(r.stderr).toContain(rows[0]!.id);
    for (const [i, s] of SUITES.entries()) expect(r.stderr).toContain(`bench [${i + 1}/${SUITES.length}] ${s.name}`);
  });

  it('writes latest.json (= stdout), latest.meta.json and latest.md to the out dir', () => {
    expect(rows, 'the run failed').toBeDefined();
    expect(JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8'))).toEqual(rows);
    const meta = JSON.parse(readFileSync(join(outDir, 'latest.meta.json'), 'utf8')) as { suites: SuiteRun[] };
    expect(meta.suites.map((s) => s.suite)).toEqual(SUITES.map((s) => s.name));
    for (const s of meta.suites) {
      expect(s.quick).toBe(true);
      expect(s.machine.node).toBe(process.version);
      expect(s.machine.cpuCount).toBeGreaterThan(0);
      expect(s.loadAvgBefore).toHaveLength(3);
      expect(s.loadAvgAfter).toHaveLength(3);
    }
    const md = readFileSync(join(outDir, 'latest.md'), 'utf8');
    expect(md).toContain('Machine: node ');
    expect(md).toContain('| id | subject | baseline | ratio | range | reps | goal | verdict |');
    for (const b of rows) expect(md).toContain(`| ${b.id} |`);
  });

  it('writes a well-formed SVG chart with a line per series for every suite that declares one', () => {
    expect(rows, 'the run failed').toBeDefined();
    for (const s of SUITES) {
      const file = join(outDir, `${s.name}.svg`);
      if (s.chart === undefined) {
        expect(existsSync(file), file).toBe(false);
        continue;
      }
      const points = rows.filter((b) => b.id.startsWith(`${s.name}/`)).flatMap((b) => b.details.points ?? []);
      const series = drawableSeries(s.chart, points);
      expect(series.size, `${s.name}: series with drawable points`).toBeGreaterThan(0);
      const svg = readFileSync(file, 'utf8');
      assertWellFormedSvg(svg);
      expect(count(svg, '<polyline'), `${s.name}: polylines`).toBe(series.size);
      for (const name of series) expect(svg, `${s.name}: series ${name}`).toContain(xmlEscaped(name));
    }
  });
});
