/**
 * SVG line charts of bench results (bench/results/<suite>.svg), with no dependency.
 *
 * `renderChart(spec, points)` draws one polyline per series (and a dot per point) on linear
 * or log10 axes, with ticks, grid lines, axis labels, a title and a legend on the right, and
 * returns one self-contained SVG document: no script, no stylesheet, no external font, so it
 * renders the same on GitHub, in a browser and in an image viewer.
 *
 * Points that cannot be drawn are left out and counted in a footnote under the plot (and in
 * `omitted`): non-finite coordinates, and on a log axis a coordinate <= 0. A bench run never
 * fails for the sake of its chart.
 */
import type { ChartPoint, Suite } from './types.js';

/** How a suite wants its chart drawn (the `chart` field of a Suite). */
export type ChartSpec = NonNullable<Suite['chart']>;

export interface RenderedChart {
  readonly svg: string;
  /** Names of the series drawn, in legend order. */
  readonly series: readonly string[];
  /** Points left out (non-finite, or <= 0 on a log axis). */
  readonly omitted: number;
}

/** Plot area and margins, in px. The legend widens the picture to fit the longest name. */
const PLOT_W = 560;
const PLOT_H = 320;
const M_LEFT = 76;
const M_TOP = 44;
const M_BOTTOM = 64;
/** Inner gap between the plot frame and the extreme data, so end dots are not cut in half. */
const INSET = 10;
/** Rough width of one character of the 12 px sans-serif used for labels. */
const CHAR_W = 7;

/** Tableau 10 colours; past ten series the dash pattern changes too. */
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const DASHES = ['', '6 3', '2 3'];

/** An axis: data value -> px along the axis (0 at its start), and where to put ticks. */
interface Axis {
  readonly toPx: (v: number) => number;
  readonly ticks: readonly number[];
}

export function renderChart(spec: ChartSpec, points: readonly ChartPoint[]): RenderedChart {
  const logX = spec.logX === true;
  const logY = spec.logY === true;
  const drawable = (p: ChartPoint): boolean =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0) && (!logY || p.y > 0);
  const kept = points.filter(drawable);
  const omitted = points.length - kept.length;

  // Series in order of first appearance, each sorted by x.
  const bySeries = new Map<string, ChartPoint[]>();
  for (const p of kept) {
    const list = bySeries.get(p.series);
    if (list === undefined) bySeries.set(p.series, [p]);
    else list.push(p);
  }
  for (const list of bySeries.values()) list.sort((a, b) => a.x - b.x);
  const names = [...bySeries.keys()];

  const legendW = names.length === 0 ? 0 : 44 + CHAR_W * Math.max(...names.map((n) => n.length));
  const width = M_LEFT + PLOT_W + 24 + legendW;
  const height = M_TOP + PLOT_H + M_BOTTOM + (omitted > 0 ? 18 : 0);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${M_LEFT + PLOT_W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];

  if (kept.length === 0) {
    out.push(frame(), `<text x="${M_LEFT + PLOT_W / 2}" y="${M_TOP + PLOT_H / 2}" text-anchor="middle" fill="#666666">no data</text>`);
  } else {
    const xValues = kept.map((p) => p.x);
    const yValues = kept.map((p) => p.y);
    const xAxis = makeAxis(xValues, logX, false, PLOT_W, true);
    const yAxis = makeAxis(yValues, logY, true, PLOT_H, false);
    const px = (v: number): number => round(M_LEFT + xAxis.toPx(v));
    const py = (v: number): number => round(M_TOP + PLOT_H - yAxis.toPx(v));

    // Grid, ticks and tick labels.
    for (const t of xAxis.ticks) {
      const x = px(t);
      out.push(
        `<line x1="${x}" y1="${M_TOP}" x2="${x}" y2="${M_TOP + PLOT_H}" stroke="#e6e6e6"/>`,
        `<line x1="${x}" y1="${M_TOP + PLOT_H}" x2="${x}" y2="${M_TOP + PLOT_H + 5}" stroke="#333333"/>`,
        `<text x="${x}" y="${M_TOP + PLOT_H + 19}" text-anchor="middle">${esc(formatTick(t))}</text>`,
      );
    }
    for (const t of yAxis.ticks) {
      const y = py(t);
      out.push(
        `<line x1="${M_LEFT}" y1="${y}" x2="${M_LEFT + PLOT_W}" y2="${y}" stroke="#e6e6e6"/>`,
        `<line x1="${M_LEFT - 5}" y1="${y}" x2="${M_LEFT}" y2="${y}" stroke="#333333"/>`,
        `<text x="${M_LEFT - 8}" y="${y + 4}" text-anchor="end">${esc(formatTick(t))}</text>`,
      );
    }
    out.push(frame());

    // One group per series: its polyline, its dots, a tooltip; then its legend entry.
    names.forEach((name, i) => {
      const colour = COLOURS[i % COLOURS.length]!;
      const dash = DASHES[Math.floor(i / COLOURS.length) % DASHES.length]!;
      const dashAttr = dash === '' ? '' : ` stroke-dasharray="${dash}"`;
      const pts = bySeries.get(name)!;
      out.push(
        `<g><title>${esc(name)}</title>`,
        `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashAttr} points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')}"/>`,
        ...pts.map((p) => `<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3" fill="${colour}"/>`),
        '</g>',
      );
      const lx = M_LEFT + PLOT_W + 24;
      const ly = M_TOP + 8 + i * 20;
      out.push(
        `<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${colour}" stroke-width="2"${dashAttr}/>`,
        `<circle cx="${lx + 14}" cy="${ly}" r="3" fill="${colour}"/>`,
        `<text x="${lx + 36}" y="${ly + 4}">${esc(name)}</text>`,
      );
    });
  }

  // Axis labels, and the footnote about points left out.
  const xLabel = spec.x + (logX ? ' (log scale)' : '');
  const yLabel = spec.y + (logY ? ' (log scale)' : '');
  const yMid = M_TOP + PLOT_H / 2;
  out.push(
    `<text x="${M_LEFT + PLOT_W / 2}" y="${M_TOP + PLOT_H + 44}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="18" y="${yMid}" text-anchor="middle" transform="rotate(-90 18 ${yMid})">${esc(yLabel)}</text>`,
  );
  if (omitted > 0) {
    const why = logX || logY ? 'not finite, or <= 0 on a log axis' : 'not finite';
    out.push(
      `<text x="${M_LEFT}" y="${height - 10}" fill="#a33">${esc(`${omitted} point${omitted === 1 ? '' : 's'} left out (${why})`)}</text>`,
    );
  }
  out.push('</svg>');
  return { svg: out.join('\n') + '\n', series: names, omitted };
}

function frame(): string {
  return `<rect x="${M_LEFT}" y="${M_TOP}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333333"/>`;
}

/**
 * An axis over `values` (all drawable on it). `fromZero`: a linear axis includes 0, so the
 * heights of two lines compare honestly (used for y). `preferData`: the axis spans the data
 * exactly and ticks at the data values themselves when there are few and they do not crowd
 * (thread counts and sizes in MiB read better than 1-2-5 ticks); used for x.
 */
function makeAxis(values: readonly number[], log: boolean, fromZero: boolean, lengthPx: number, preferData: boolean): Axis {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const f = log ? Math.log10 : (v: number): number => v;
  let ticks: number[];
  if (log) {
    if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
    ticks = logTicks(lo, hi);
  } else {
    if (fromZero) [lo, hi] = [Math.min(lo, 0), Math.max(hi, 0)];
    if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1), hi + (Math.abs(hi) || 1)];
    ticks = linearTicks(lo, hi);
    if (!preferData) [lo, hi] = [ticks[0]!, ticks[ticks.length - 1]!];
  }
  const span = f(hi) - f(lo);
  const toPx = (v: number): number => INSET + ((f(v) - f(lo)) / span) * (lengthPx - 2 * INSET);
  if (preferData) {
    const distinct = [...new Set(values)].sort((a, b) => a - b);
    const gaps = distinct.slice(1).map((v, i) => toPx(v) - toPx(distinct[i]!));
    if (distinct.length >= 2 && distinct.length <= 12 && Math.min(...gaps) >= 36) ticks = distinct;
  }
  const eps = span * 1e-9;
  return { toPx, ticks: ticks.filter((t) => f(t) >= f(lo) - eps && f(t) <= f(hi) + eps) };
}

/** About six ticks at 1, 2 or 5 times a power of ten, covering [lo, hi]. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Powers of ten inside [lo, hi]; with fewer than three, also 2x and 5x each power. */
function logTicks(lo: number, hi: number): number[] {
  const inside = (v: number): boolean => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) decades.push(10 ** e);
  const major = decades.filter(inside);
  if (major.length >= 3) return major;
  const all = decades.flatMap((d) => [d, 2 * d, 5 * d]).filter(inside).map((v) => Number(v.toPrecision(12)));
  return all.length >= 2 ? all : [lo, hi].map((v) => Number(v.toPrecision(3)));
}

/** Short tick label, at most four significant digits: 0.25, 12, 1024, 45k, 25.6M, 2e-7. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  const short = (x: number): string => String(Number(x.toPrecision(4)));
  if (a >= 1e9) return `${short(v / 1e9)}G`;
  if (a >= 1e6) return `${short(v / 1e6)}M`;
  if (a >= 1e4) return `${short(v / 1e3)}k`;
  return short(v);
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
