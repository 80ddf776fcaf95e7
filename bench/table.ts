/**
 * Renderings of bench rows: a plain-text table for the terminal (`renderTable`) and a
 * Markdown table for bench/results/latest.md (`renderMarkdown`), both from the same cells.
 *
 * The verdict of a row: `UNRELIABLE` when its suite knows the reps were disturbed, `info`
 * when it has no goal, else `met` (ratio >= goal) or `missed`.
 */
import type { BenchRow } from './types.js';

export type Verdict = 'met' | 'missed' | 'info' | 'UNRELIABLE';

export function verdict(row: BenchRow): Verdict {
  if (!row.details.reliable) return 'UNRELIABLE';
  if (row.goal === null) return 'info';
  return row.ratio >= row.goal ? 'met' : 'missed';
}

/** A measured value with about four significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

function ratioText(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`;
}

/** `>= 1.8x`, `>= 100x`, `>= 0.87x` (three significant digits at most). */
function goalText(goal: number | null): string {
  return goal === null ? '-' : `>= ${Number(goal.toPrecision(3))}x`;
}

function rangeText(r: BenchRow): string {
  return `${ratioText(r.details.ratioMin)}–${ratioText(r.details.ratioMax)}`;
}

/** Every row's notes, `id: note`, in row order. */
function notesOf(rows: readonly BenchRow[]): string[] {
  return rows.flatMap((r) => r.details.notes.map((n) => `${r.id}: ${n}`));
}

/** Aligned columns for a terminal: numbers right-aligned, notes listed under the table. */
export function renderTable(rows: readonly BenchRow[]): string {
  const head = ['id', 'subject', 'value', 'baseline', 'value', 'unit', 'ratio', 'range', 'reps', 'goal', 'verdict'];
  const body = rows.map((r) => [
    r.id,
    r.details.subject,
    fmt(r.details.value),
    r.baseline,
    fmt(r.details.baselineValue),
    r.unit,
    ratioText(r.ratio),
    rangeText(r),
    String(r.details.reps),
    goalText(r.goal),
    verdict(r),
  ]);
  const numeric = new Set([2, 4, 6, 7, 8]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((line) => line[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const cells of body) out.push(line(cells));
  const notes = notesOf(rows);
  if (notes.length > 0) out.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  return out.join('\n');
}

/** `|` and line breaks would break a Markdown table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * A GitHub-flavoured Markdown table (value and unit inside the subject and baseline cells,
 * as in the README), then the notes as a list. `preamble` lines come first, as paragraphs.
 */
export function renderMarkdown(rows: readonly BenchRow[], preamble: readonly string[] = []): string {
  const out: string[] = [];
  for (const p of preamble) out.push(p, '');
  out.push('| id | subject | baseline | ratio | range | reps | goal | verdict |', '|---|---|---|--:|--:|--:|--:|---|');
  for (const r of rows) {
    const cells = [
      r.id,
      `${r.details.subject}: ${fmt(r.details.value)} ${r.unit}`,
      `${r.baseline}: ${fmt(r.details.baselineValue)} ${r.unit}`,
      ratioText(r.ratio),
      rangeText(r),
      String(r.details.reps),
      goalText(r.goal),
      verdict(r),
    ];
    out.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  const notes = notesOf(rows);
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes.map((n) => `- ${cell(n)}`));
  return out.join('\n') + '\n';
}
