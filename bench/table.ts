/** Plain-text rendering of suite rows (stdout); JSON and charts come later from the same rows. */
import type { BenchRow } from './types.js';

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

function ratioText(x: number): string {
  return x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`;
}

function verdict(row: BenchRow): string {
  if (!row.details.reliable) return 'UNRELIABLE';
  if (row.goal === null) return 'info';
  return row.ratio >= row.goal ? 'MET' : 'MISSED';
}

export function renderTable(rows: readonly BenchRow[]): string {
  const head = ['id', 'subject', 'value', 'baseline', 'value', 'unit', 'ratio', 'range', 'goal', ''];
  const body = rows.map((r) => [
    r.id,
    r.details.subject,
    fmt(r.details.value),
    r.baseline,
    fmt(r.details.baselineValue),
    r.unit,
    ratioText(r.ratio),
    `${ratioText(r.details.ratioMin)}–${ratioText(r.details.ratioMax)}`,
    r.goal === null ? '-' : `>= ${r.goal}x`,
    verdict(r),
  ]);
  const numeric = new Set([2, 4, 6, 7]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((line) => line[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const cells of body) out.push(line(cells));
  const notes = rows.flatMap((r) => r.details.notes.map((n) => `  ${r.id}: ${n}`));
  if (notes.length > 0) out.push('', 'notes:', ...notes);
  return out.join('\n');
}
